"""Safe YAML loading that remembers where every value came from.

Errors in a fleet repo must name the file and line, so loading keeps a map from each value's path to its line.
It also refuses what PyYAML silently accepts: duplicate keys (the last one would win unnoticed) and alias
expansion beyond a node budget (a "billion laughs" YAML bomb).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from razee.errors import Finding, InputError, Location

try:
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment,unused-ignore]
except AttributeError:  # pragma: no cover - libyaml missing
    _Loader = yaml.SafeLoader

Path = tuple[str | int, ...]

MAX_NODES = 2_000_000
MAX_DEPTH = 200
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass
class Located:
    """A parsed YAML document and the line (1-based) of each value's path within its file."""

    data: Any
    file: str
    line: int
    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path) -> int:
        """The line of the deepest known prefix of `path`, so an error in a missing field points at its parent."""
        for n in range(len(path), -1, -1):
            hit = self.lines.get(tuple(path[:n]))
            if hit is not None:
                return hit
        return self.line


class _Builder:
    def __init__(self, file: str, loader: yaml.SafeLoader) -> None:
        self.file = file
        self.loader = loader
        self.budget = MAX_NODES
        self.lines: dict[Path, int] = {}

    def fail(self, node: yaml.Node, message: str) -> InputError:
        return InputError([Finding(Location(self.file, node.start_mark.line + 1), message)])

    def build(self, node: yaml.Node, path: Path, depth: int) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise self.fail(node, f"document expands to more than {MAX_NODES} values (YAML alias bomb?)")
        if depth > MAX_DEPTH:
            raise self.fail(node, f"document nests deeper than {MAX_DEPTH} levels")
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            return self.build_mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as e:
            raise self.fail(node, f"invalid value: {e}") from e

    def build_mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        explicit: set[Any] = set()
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged = self.build(value_node, path, depth + 1)
                sources = merged if isinstance(merged, list) else [merged]
                for src in sources:
                    if not isinstance(src, dict):
                        raise self.fail(value_node, "merge key '<<' needs a mapping or a list of mappings")
                    for k, v in src.items():
                        out.setdefault(k, v)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, "mapping keys must be plain scalars")
            key = self.loader.construct_object(key_node)
            if not isinstance(key, str | int | float | bool) and key is not None:
                raise self.fail(key_node, f"unsupported mapping key {key!r}")
            if key in explicit:
                raise self.fail(key_node, f"duplicate key {key!r}")
            explicit.add(key)
            child = (*path, key if isinstance(key, str | int) else str(key))
            self.lines[child] = key_node.start_mark.line + 1
            out[key] = self.build(value_node, child, depth + 1)
        return out


def _mark_error(file: str, e: yaml.YAMLError) -> InputError:
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(e, "problem", None) or str(e)
    context = getattr(e, "context", None)
    message = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
    return InputError([Finding(Location(file, line), message)])


def load_documents(text: str, file: str, first_line: int = 1) -> Iterator[Located]:
    """Parse every document in `text`; `first_line` offsets lines when `text` is part of a larger file."""
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            builder = _Builder(file, loader)
            data = builder.build(node, (), 0)
            offset = first_line - 1
            lines = {p: ln + offset for p, ln in builder.lines.items()} if offset else builder.lines
            yield Located(data, file, node.start_mark.line + 1 + offset, lines)
    except yaml.YAMLError as e:
        err = _mark_error(file, e)
        if first_line != 1:
            f = err.findings[0]
            line = None if f.location.line is None else f.location.line + first_line - 1
            err = InputError([Finding(Location(file, line), f.message)])
        raise err from e
    finally:
        loader.dispose()


def load_one(text: str, file: str) -> Located:
    """Exactly one document that must be a mapping."""
    docs = list(load_documents(text, file))
    if len(docs) != 1:
        raise InputError([Finding(Location(file, 1), f"expected one YAML document, found {len(docs)}")])
    doc = docs[0]
    if not isinstance(doc.data, dict):
        raise InputError([Finding(Location(file, doc.line), f"expected a mapping, found {type(doc.data).__name__}")])
    return doc


class _ManifestLoader(_Loader):  # type: ignore[misc,valid-type]
    """Fast loader for rendered manifests: libyaml parsing, duplicate keys refused, no anchors or aliases.

    Rendered output is produced by templates, which have macros for reuse, so anchors only ever appear there by
    accident or malice (an alias bomb); refusing them keeps every later deep copy and JSON encoding bounded.
    """

    def __init__(self, stream: str, check_aliases: bool) -> None:
        super().__init__(stream)
        self.document_lines: list[int] = []
        self._seen: set[int] = set()
        if not check_aliases:
            self.construct_object = super().construct_object  # type: ignore[method-assign]

    def construct_document(self, node: yaml.Node) -> Any:
        self.document_lines.append(node.start_mark.line + 1)
        self._seen = set()
        return super().construct_document(node)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if id(node) in self._seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                "YAML anchors and aliases are not allowed in rendered manifests (use a macro)",
                node.start_mark,
            )
        self._seen.add(id(node))
        return super().construct_object(node, deep)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys: set[Any] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = key_node.value
                if key in keys:
                    raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
                keys.add(key)
        return super().construct_mapping(node, deep)  # type: ignore[no-any-return]


# An anchor or alias starts with & or * after a space, a flow indicator or a block indicator; text without such
# a token cannot contain one, and skipping the per-node check then saves a sixth of the load time.
_ALIAS_TOKEN = re.compile(r"(?:^|[\s\[{,:-])[&*][^\s,\]}]")


def _maybe_alias(text: str) -> bool:
    """Whether `text` may hold an anchor or alias; `in` is ten times faster than the pattern and usually enough."""
    return ("&" in text or "*" in text) and _ALIAS_TOKEN.search(text) is not None


def load_manifests(text: str, file: str) -> list[tuple[Any, int]]:
    """Documents of rendered output with their first lines; errors name the file and line.

    Nearly all rendered output takes `_fast_manifests`; anything it does not handle itself (anchors, tags, merge
    keys, errors) is loaded again by the full loader, which gives the same values and the same refusals.
    """
    try:
        return _fast_manifests(text)
    except (_Unusual, yaml.YAMLError):
        pass
    loader = _ManifestLoader(text, check_aliases=_maybe_alias(text))
    out: list[tuple[Any, int]] = []
    try:
        while loader.check_data():
            data = loader.get_data()
            out.append((data, loader.document_lines[-1] if loader.document_lines else 1))
    except yaml.YAMLError as e:
        raise _mark_error(file, e) from e
    finally:
        loader.dispose()
    return out


class _Unusual(Exception):
    """Something the fast path leaves to the full loader: a tag, merge key, complex or duplicate key, an error."""


STR_TAG = "tag:yaml.org,2002:str"
MAP_TAG = "tag:yaml.org,2002:map"
SEQ_TAG = "tag:yaml.org,2002:seq"
_PLAIN_TAGS: dict[str, str] = {}  # plain scalar -> its implicit tag: a pure function of the text, so cached
_PLAIN_CACHE_MAX = 100_000


class MemoResolver:
    """Implicit tags of plain scalars, memoised: a pure function of the text as SafeLoader has no path resolvers.

    Mixed into the fast loader and the fast dumper, whose C code asks for a tag once or twice per scalar.
    """

    def resolve(self, kind: type[yaml.Node], value: str, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            if not implicit[0]:
                return STR_TAG  # quoted: always a string (no path resolvers)
            tag = _PLAIN_TAGS.get(value)
            if tag is None:
                tag = yaml.resolver.Resolver.resolve(self, kind, value, implicit)  # type: ignore[arg-type,no-untyped-call,unused-ignore]
                if len(_PLAIN_TAGS) < _PLAIN_CACHE_MAX:
                    _PLAIN_TAGS[value] = tag
            return tag
        return MAP_TAG if kind is yaml.MappingNode else SEQ_TAG

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


class _FastLoader(MemoResolver, _Loader):  # type: ignore[misc,valid-type]
    """libyaml composition with the memoised resolver."""


assert not _FastLoader.yaml_path_resolvers, "the fast loader assumes no path resolvers"


def _fast_manifests(text: str) -> list[tuple[Any, int]]:
    if _maybe_alias(text):
        raise _Unusual("anchor or alias")  # the node graph would share nodes; the full loader refuses it
    loader = _FastLoader(text)
    constructors = loader.yaml_constructors
    out: list[tuple[Any, int]] = []

    def build(node: yaml.Node) -> Any:
        kind = type(node)
        if kind is yaml.ScalarNode:
            if node.tag == STR_TAG:
                return node.value
            if node.tag not in constructors or node.tag in (MAP_TAG, SEQ_TAG):
                raise _Unusual(node.tag)
            return constructors[node.tag](loader, node)
        if kind is yaml.MappingNode:
            if node.tag != MAP_TAG:
                raise _Unusual(node.tag)
            mapping: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if type(key_node) is not yaml.ScalarNode or key_node.tag != STR_TAG:
                    raise _Unusual("key")
                key = key_node.value
                if key in mapping:
                    raise _Unusual("duplicate key")
                mapping[key] = build(value_node)
            return mapping
        if kind is yaml.SequenceNode:
            if node.tag != SEQ_TAG:
                raise _Unusual(node.tag)
            return [build(item) for item in node.value]
        raise _Unusual(str(kind))

    try:
        while loader.check_node():
            node = loader.get_node()
            out.append((build(node), node.start_mark.line + 1))
    finally:
        loader.dispose()
    return out


def load_one_fast(text: str, file: str) -> Located:
    """Like `load_one`, without per-value lines, for the common case where the file is valid.

    Texts that may hold anchors or aliases take the budgeted path, so bombs stay refused.
    """
    if _maybe_alias(text):
        return load_one(text, file)
    docs = [(d, line) for d, line in load_manifests(text, file)]
    if len(docs) != 1:
        raise InputError([Finding(Location(file, 1), f"expected one YAML document, found {len(docs)}")])
    data, line = docs[0]
    if not isinstance(data, dict):
        raise InputError([Finding(Location(file, line), f"expected a mapping, found {type(data).__name__}")])
    return Located(data, file, line)
