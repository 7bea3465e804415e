"""Semantic comparison of a desired object with the live one.

An object is in sync when every field the fleet declares equals the live value after normalisation. Fields the
fleet does not declare (server defaults, other managers' fields, status) are ignored, so a no-op pass needs no
dry run and no write. Normalisation covers quantities (`1000m` == `1`), int/string forms of ports and numbers,
empty values versus absent ones, and lists of named items in any order.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

_QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[KMGTPE]i?|[numkMGTPE])?$")
_SUFFIX = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}
_MERGE_KEYS = ("name", "containerPort", "port", "mountPath", "devicePath", "ip", "topologyKey")


def parse_quantity(value: str | int | float) -> Decimal | None:
    text = str(value).strip()
    if not _QUANTITY.match(text):
        return None
    try:
        m = re.match(r"^(.*?)([KMGTPE]i|[numkMGTPE])?$", text)
        assert m is not None
        number, suffix = m.group(1), m.group(2) or ""
        return Decimal(number) * _SUFFIX[suffix]
    except (InvalidOperation, KeyError):
        return None


def _empty(value: Any) -> bool:
    return value is None or value == {} or value == [] or value == ""


def scalars_equal(desired: Any, live: Any) -> bool:
    if desired == live and type(desired) is type(live):
        return True
    if isinstance(desired, bool) or isinstance(live, bool):
        return False
    if isinstance(desired, int | float | str) and isinstance(live, int | float | str):
        if str(desired) == str(live):
            return True
        a, b = parse_quantity(desired), parse_quantity(live)
        return a is not None and a == b
    return False


def _merge_key(items: list[Any]) -> str | None:
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in _MERGE_KEYS:
        values = [i.get(key) for i in items]
        if all(v is not None for v in values) and len(set(map(str, values))) == len(values):
            return key
    return None


def mismatches(desired: Any, live: Any, path: str = "") -> list[str]:
    """JSON-pointer paths of declared fields whose live value differs (empty when in sync)."""
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return [] if _empty(desired) and _empty(live) else [path or "/"]
        out: list[str] = []
        for key, value in desired.items():
            child = f"{path}/{_escape(str(key))}"
            if key not in live:
                if not _empty(value):
                    out.append(child)
                continue
            out.extend(mismatches(value, live[key], child))
        return out
    if isinstance(desired, list):
        if not isinstance(live, list):
            return [] if _empty(desired) and _empty(live) else [path]
        key = _merge_key(desired)
        if key is not None and _merge_key(live) == key:
            by_key = {str(item[key]): item for item in live}
            out = []
            for i, item in enumerate(desired):
                other = by_key.get(str(item[key]))
                if other is None:
                    out.append(f"{path}/{i}")
                else:
                    out.extend(mismatches(item, other, f"{path}/{i}"))
            return out
        if len(desired) != len(live):
            return [path]
        out = []
        for i, (a, b) in enumerate(zip(desired, live, strict=True)):
            out.extend(mismatches(a, b, f"{path}/{i}"))
        return out
    return [] if scalars_equal(desired, live) else [path]


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")
