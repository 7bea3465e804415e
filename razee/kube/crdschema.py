"""Checking a custom resource against the schema of a CRD that the same pass creates or changes.

The server cannot dry-run such an object (its kind is not served until the CRD is Established), so without this a
bad custom resource would be found only after the CRD and everything before it were applied. A CRD's
`openAPIV3Schema` is a structural subset of JSON Schema, checked here with `jsonschema`; the Kubernetes extensions
(`nullable`, `x-kubernetes-int-or-string`) are translated first, and CEL rules are checked by razee.kube.crdcel.
"""

from __future__ import annotations

from typing import Any

MAX_ERRORS = 5


def _translate(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_translate(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _translate(v) for k, v in schema.items() if not k.startswith("x-kubernetes-") and k != "nullable"}
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if schema.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def _version_schema(crd: dict[str, Any], version: str) -> tuple[dict[str, Any] | None, str]:
    spec = crd.get("spec") or {}
    for v in spec.get("versions") or []:
        if isinstance(v, dict) and v.get("name") == version:
            if not v.get("served", True):
                return None, f"version {version} of CRD {crd['metadata']['name']} is not served"
            schema = (v.get("schema") or {}).get("openAPIV3Schema")
            return (schema if isinstance(schema, dict) else None), ""
    return None, f"CRD {crd['metadata']['name']} has no version {version}"


def check_custom_resource(obj: dict[str, Any], crd: dict[str, Any]) -> list[str]:
    """Problems with `obj` under the schema `crd` declares for its version (empty when it conforms)."""
    version = str(obj.get("apiVersion", "")).rpartition("/")[2]
    schema, problem = _version_schema(crd, version)
    if problem:
        return [problem]
    if schema is None:
        return []
    # imported here: jsonschema costs ~0.1 s to import, and only a pass that creates CRDs needs it
    from jsonschema import Draft7Validator
    from jsonschema.exceptions import SchemaError

    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    try:
        validator = Draft7Validator(
            _translate(
                {
                    **schema,
                    "properties": {
                        k: v
                        for k, v in (schema.get("properties") or {}).items()
                        if k not in ("apiVersion", "kind", "metadata")
                    },
                }
            )
        )
        errors = sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
    except SchemaError as bad:
        return [f"the CRD's schema is not valid: {bad.message}"]
    out = []
    for error in errors[:MAX_ERRORS]:
        path = ".".join(str(p) for p in error.absolute_path) or "(object)"
        out.append(f"{path}: {error.message[:200]}")
    if len(errors) > MAX_ERRORS:
        out.append(f"and {len(errors) - MAX_ERRORS} more")
    if not errors and has_rules(schema):  # CEL rules assume a structurally valid object, as the server does
        from razee.kube.crdcel import cel_problems

        rules = cel_problems(obj, schema)
        out += rules[:MAX_ERRORS] + ([f"and {len(rules) - MAX_ERRORS} more"] if len(rules) > MAX_ERRORS else [])
    return out


def has_rules(schema: Any) -> bool:
    """Whether a schema carries CEL rules anywhere (most have none, and need no CEL at all)."""
    if isinstance(schema, dict):
        return "x-kubernetes-validations" in schema or any(has_rules(v) for v in schema.values())
    if isinstance(schema, list):
        return any(has_rules(v) for v in schema)
    return False
