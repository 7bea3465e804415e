"""Reading an expansion object's `spec` into its kind's pydantic model, with errors people can act on.

Every source kind refuses unknown fields and bad values the same way: one Finding per problem, at the declaring
template's file and line, naming the field as `spec.a.b` and the source (`HelmChart metrics: ...`). Written once
here so the three kinds cannot drift apart in how they say it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from razee.errors import Finding, InputError
from razee.objects import Manifest

Spec = TypeVar("Spec", bound=BaseModel)
Locate = Callable[[ErrorDetails], tuple[int | str, ...]]
"""Where a model-level error (one pydantic gives no field for) belongs, e.g. a missing pin at `sha256`."""


def read_spec(decl: Manifest, model: type[Spec], locate: Locate | None = None) -> Spec:
    """`decl.obj["spec"]` as `model`, or an InputError naming the template's file, line and each bad field."""
    spec = decl.obj.get("spec")
    if not isinstance(spec, dict):
        raise InputError([Finding(decl.source.location("spec"), f"{decl.kind} needs a spec mapping")])
    try:
        return model.model_validate(spec)
    except ValidationError as e:
        findings = []
        for err in e.errors():
            loc = err["loc"] or (locate(err) if locate is not None else ())
            path = ".".join(str(p) for p in ("spec", *loc))
            msg = str(err["msg"]).removeprefix("Value error, ")
            findings.append(Finding(decl.source.location(path), f"{decl.kind} {decl.name}: {msg}"))
        raise InputError(findings) from None
