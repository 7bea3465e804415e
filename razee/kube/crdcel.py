"""Checking a custom resource against its CRD's CEL rules (`x-kubernetes-validations`) before the CRD is applied.

The server evaluates these rules on every write of a custom resource, but it cannot dry-run one whose CRD this pass
creates or changes: without this, a rule the object breaks would be found after the CRD was written, a half-apply.
Rules are evaluated with the `cel` package, `self` bound to the value at the rule's place in the schema.

What is not checked here (the server still checks it, when the custom resource is applied):
- transition rules, which use `oldSelf`: they compare with the previous object, and apply only to updates;
- rules that use CEL functions the `cel` package lacks: Kubernetes' extension libraries (strings: `lowerAscii`,
  `upperAscii`, `replace`, `split`, `join`, `trim`, `indexOf`, `lastIndexOf`, `substring`, `charAt`, `format`,
  `reverse`; lists: `isSorted`, `sum`, `min`, `max`, `indexOf`, `slice`, `flatten`, `sort`; regex `find`,
  `findAll`; `quantity`, `url`, `ip`, `cidr`, `semver`, `sets.*`, `base64.*`, `math.*`, `strings.*`), optional
  fields (`self.?x`) and `bool()`. Each such rule is named in a warning of the plan (unsupported_rules).
"""

from __future__ import annotations

import functools
from typing import Any

from razee.policy.custom import LINEAR_FUNCTIONS

RULES = "x-kubernetes-validations"
SUPPORTED_FUNCTIONS = LINEAR_FUNCTIONS - {"bool"}
"""Standard CEL, as far as the `cel` package evaluates it (it has no `bool()`); macros compile to these too."""
_UNSUPPORTED = ("Undefined variable or function", "Failed to parse")


@functools.lru_cache(maxsize=512)
def _compiled(rule: str) -> Any:
    """The compiled program, or the error text when the `cel` package cannot compile it."""
    import cel  # imported here: it costs ~0.2 s, and only a pass that changes a CRD with rules needs it

    try:
        return cel.compile(rule)
    except BaseException as e:  # a parse error is a ValueError or a Rust panic
        if isinstance(e, KeyboardInterrupt | SystemExit):
            raise
        return f"{type(e).__name__}: {e}"


def _unsupported(error: str) -> bool:
    return any(marker in error for marker in _UNSUPPORTED)


def _missing_functions(program: Any) -> list[str]:
    return sorted(set(program.functions()) - SUPPORTED_FUNCTIONS)


def _evaluate(rule: dict[str, Any], value: Any) -> str | None:
    """Why `value` breaks `rule` (its message), or None when it passes or cannot be checked here."""
    import cel

    text = str(rule.get("rule") or "")
    if not text or "oldSelf" in text:
        return None
    program = _compiled(text)
    if isinstance(program, str) or _missing_functions(program):
        return None
    try:
        result = program.execute(cel.Context({"self": value}))
    except BaseException as e:  # assorted Python exceptions, and a Rust panic
        if isinstance(e, KeyboardInterrupt | SystemExit):
            raise
        return None if _unsupported(str(e)) else f"rule {text!r} failed: {str(e).splitlines()[0][:200]}"
    if result is False:
        return str(rule.get("message") or f"failed rule: {text}")
    return None


def _children(schema: dict[str, Any], value: Any) -> list[tuple[str, dict[str, Any], Any]]:
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        out = []
        for key, child in value.items():
            sub = props.get(key) if key in props else extra if isinstance(extra, dict) else None
            if isinstance(sub, dict):
                out.append((f".{key}", sub, child))
        return out
    items = schema.get("items")
    if isinstance(value, list) and isinstance(items, dict):
        return [(f"[{i}]", items, child) for i, child in enumerate(value)]
    return []


def cel_problems(value: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """`path: message` for every rule `value` breaks, walking the schema where the value has data."""
    out: list[str] = []
    for rule in schema.get(RULES) or []:
        if isinstance(rule, dict):
            problem = _evaluate(rule, value)
            if problem:
                where = path + str(rule.get("fieldPath") or "")
                out.append(f"{where.lstrip('.') or '(object)'}: {problem}")
    for step, sub, child in _children(schema, value):
        out.extend(cel_problems(child, sub, path + step))
    return out


def unsupported_rules(schema: Any, path: str = "") -> list[str]:
    """The rules of a schema that razee cannot evaluate before the pass, each with why."""
    if not isinstance(schema, dict):
        return []
    out = []
    for rule in schema.get(RULES) or []:
        text = str(rule.get("rule") or "") if isinstance(rule, dict) else ""
        if "oldSelf" in text:
            out.append(f"{path or '(object)'}: {text!r} is a transition rule (oldSelf)")
            continue
        compiled = _compiled(text) if text else None
        if isinstance(compiled, str):
            out.append(f"{path or '(object)'}: {text!r} does not compile here ({compiled[:120]})")
        elif compiled is not None and _missing_functions(compiled):
            out.append(
                f"{path or '(object)'}: {text!r} uses {', '.join(_missing_functions(compiled))}, which "
                "razee's CEL evaluator lacks"
            )
    for name, sub in (schema.get("properties") or {}).items():
        out.extend(unsupported_rules(sub, f"{path}.{name}"))
    for key in ("items", "additionalProperties"):
        out.extend(unsupported_rules(schema.get(key), f"{path}[]" if key == "items" else f"{path}.*"))
    return out
