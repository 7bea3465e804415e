"""Writing manifests as YAML, byte for byte what `yaml.dump` writes, at a third of its cost.

PyYAML's representer dispatches on each value's type through the class hierarchy and its libyaml emitter asks a
Python resolver about every scalar; on a 2,000-object spoke that was most of `razee render`. Here plain data
(dict, list, str, int, float, bool, None) becomes nodes directly, the resolver is memoised, and the same libyaml
emitter writes them. Anything else (dates, shared sub-objects that PyYAML would anchor) goes to `yaml.dump`.
"""

from __future__ import annotations

from typing import Any

import yaml

from razee.yamlsrc import MAP_TAG, SEQ_TAG, STR_TAG, MemoResolver

_Base: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_INT, _BOOL, _NULL, _FLOAT = (
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:float",
)


class _Dumper(MemoResolver, _Base):  # type: ignore[misc,valid-type]
    pass


class _Unusual(Exception):
    pass


def _float(value: float) -> str:
    """SafeRepresenter.represent_float's text."""
    if value != value:
        return ".nan"
    if value == float("inf"):
        return ".inf"
    if value == float("-inf"):
        return "-.inf"
    text = repr(value).lower()
    return text.replace("e", ".0e", 1) if "." not in text and "e" in text else text


def _nodes(value: Any, sort_keys: bool) -> yaml.Node:
    seen: set[int] = set()
    scalar, mapping, sequence = yaml.ScalarNode, yaml.MappingNode, yaml.SequenceNode

    def node(v: Any) -> yaml.Node:
        kind = type(v)
        if kind is str:
            return scalar(STR_TAG, v)
        if kind is dict or kind is list:
            if id(v) in seen:
                raise _Unusual("shared")  # PyYAML writes an anchor and an alias
            seen.add(id(v))
            if kind is dict:
                items = list(v.items())
                if sort_keys:
                    try:
                        items.sort()
                    except TypeError:  # keys of several types: PyYAML keeps their order too
                        items = list(v.items())
                return mapping(MAP_TAG, [(node(k), node(x)) for k, x in items], flow_style=False)
            return sequence(SEQ_TAG, [node(x) for x in v], flow_style=False)
        if kind is bool:
            return scalar(_BOOL, "true" if v else "false")
        if kind is int:
            return scalar(_INT, str(v))
        if v is None:
            return scalar(_NULL, "null")
        if kind is float:
            return scalar(_FLOAT, _float(v))
        raise _Unusual(kind.__name__)

    return node(value)


def dump_block(value: Any, sort_keys: bool = False) -> str:
    """`yaml.dump(value, sort_keys=…, default_flow_style=False, allow_unicode=True)` with libyaml."""
    try:
        root = _nodes(value, sort_keys)
    except _Unusual:
        return yaml.dump(value, Dumper=_Base, sort_keys=sort_keys, default_flow_style=False, allow_unicode=True)
    return yaml.serialize(root, Dumper=_Dumper, allow_unicode=True)
