"""Fleet-defined rules in CEL (`policies.custom`), evaluated on every matching rendered object.

A rule passes an object only when its expression returns true. False is a violation with the rule's message; an
expression that fails, returns something other than a bool, or runs too long is an error naming the rule and
the object. Either way the revision is refused: a rule never passes silently.
"""

from __future__ import annotations

import fnmatch
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the cel package imports its interactive CLI (0.2 s); only fleets with custom rules pay
    import cel

from razee.fleet.model import CustomRule
from razee.objects import Manifest

CPU_LIMIT_S = 0.25
"""CPU one evaluation may use; typical rules take 20-100 microseconds, so this only stops runaway expressions."""
MAX_ERRORS_PER_RULE = 10
"""After this many errors a rule is not evaluated further in the same render (the rest would say the same)."""

_FIELDS = r"((?:\s*\.\s*\??\s*[A-Za-z_][A-Za-z0-9_]*)*)(\s*\()?"
_SEGMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MACRO_VARIABLE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*,")
MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
EACH = "[]"
"""In a path tree: what is read of each element of a list (a macro's variable)."""

Paths = dict[str, "Paths"]
"""The parts of `object` an expression reads, as a tree of field names; an empty tree is the whole value."""


_MACRO_CALL = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(")
LINEAR_FUNCTIONS = frozenset(
    {
        "_&&_",
        "_||_",
        "!_",
        "_?_:_",
        "_==_",
        "_!=_",
        "_<_",
        "_<=_",
        "_>_",
        "_>=_",
        "_+_",
        "_-_",
        "_*_",
        "_/_",
        "_%_",
        "-_",
        "@in",
        "@not_strictly_false",
        "_[_]",
        "size",
        "has",
        "contains",
        "startsWith",
        "endsWith",
        "matches",
        "int",
        "uint",
        "double",
        "string",
        "bool",
        "bytes",
        "type",
        "dyn",
        "duration",
        "timestamp",
    }
)
"""Operators and functions whose cost grows at most linearly with their arguments (the regex engine is linear)."""


def bounded(expression: str, program: cel.Program) -> bool:
    """True when the cost is bounded by the expression's and the object's sizes, so it may run in-process.

    One macro iterates once over one list; two can nest (n^2, n^3...) or chain (`.map(x, [x, x])` doubling at each
    step), which is how a CEL expression runs away. Those, and unknown functions, go to the watched child.
    """
    return len(_MACRO_CALL.findall(expression)) <= 1 and set(program.functions()) <= LINEAR_FUNCTIONS


@dataclass(frozen=True)
class CompiledRule:
    rule: CustomRule
    program: cel.Program
    paths: Paths | None
    """The parts of `object` the expression can read (see object_paths), or None for the whole object."""
    bounded: bool = False
    """Whether it may be evaluated in-process (see `bounded`); otherwise in a child that can be stopped."""

    def matches(self, m: Manifest) -> bool:
        match = self.rule.match
        if match.kinds and m.kind not in match.kinds:
            return False
        if match.namespaces:
            return bool(m.namespace) and any(fnmatch.fnmatchcase(m.namespace, p) for p in match.namespaces)
        return True


def object_paths(expression: str) -> Paths | None:
    """The field paths read as `object.a.b...`; None if `object` itself is used as a whole.

    Converting an object to CEL values costs more than most evaluations, so only what is read is passed. A chain
    is kept whole from where it ends (`object.spec.containers[0]` passes every container); a trailing call is a
    method, not a field (`object.metadata.labels.size()` passes all labels), and for a macro (`.all(c, ...)`) what
    is read of `c` is what is kept of each element. Names in string literals can only add fields, which is safe.
    """
    return _paths_of(expression, "object", 0)


def _paths_of(expression: str, variable: str, depth: int) -> Paths | None:
    tree: Paths = {}
    for m in re.finditer(r"(?<![.\w])" + re.escape(variable) + _FIELDS, expression):
        parts: list[str] = _SEGMENT.findall(m.group(1))
        leaf: Paths = {}
        if m.group(2) and parts:
            method = parts.pop()
            element = _MACRO_VARIABLE.match(expression, m.end())
            if method in MACROS and element and depth < 8:
                each = _paths_of(expression[element.end() :], element.group(1), depth + 1)
                leaf = {EACH: each} if each else {}
        if not parts:
            return None
        path: Paths = leaf
        for part in reversed(parts):
            path = {part: path}
        tree = merge_paths(tree, path)
    return tree


def prune(value: Any, paths: Paths) -> Any:
    """`value` with only `paths` in it (all of it where the tree ends or the shape is not the expected one)."""
    if not paths:
        return value
    if isinstance(value, list):
        return [prune(e, paths[EACH]) for e in value] if paths.keys() == {EACH} else value
    if not isinstance(value, dict) or EACH in paths:  # a macro over a map iterates its keys: keep it whole
        return value
    return {k: prune(value[k], sub) for k, sub in paths.items() if k in value}


def merge_paths(a: Paths, b: Paths) -> Paths:
    """Both trees' fields; where either reads a field whole, it is whole."""
    out: Paths = {}
    for key in a.keys() | b.keys():
        if key in a and key in b:
            out[key] = {} if not a[key] or not b[key] else merge_paths(a[key], b[key])
        else:
            out[key] = a[key] if key in a else b[key]
    return out


def compile_rule(rule: CustomRule) -> CompiledRule:
    """Raises ValueError with the compiler's message (the fleet model has checked this already)."""
    import cel

    program = cel.compile(rule.expression)
    return CompiledRule(rule, program, object_paths(rule.expression), bounded(rule.expression, program))


@dataclass(frozen=True)
class Outcome:
    """A rule that did not pass one object: `error` is None for a plain violation (the expression was false)."""

    rule: int
    manifest: int
    error: str | None = None


def _one_line(e: BaseException) -> str:
    text = " ".join(part.strip() for part in str(e).splitlines() if part.strip()) or type(e).__name__
    return f"{type(e).__name__}: {text}" if isinstance(e, KeyError) else text


def evaluate(
    rules: Sequence[CompiledRule], manifests: Sequence[Manifest], spoke: dict[str, str], progress: Any = None
) -> list[Outcome]:
    """Every (rule, object) pair that does not pass. `progress(rule, manifest)` is called before each evaluation
    (and `progress(-1, -1)` at the end), so a watchdog can tell which evaluation is running."""
    out: list[Outcome] = []
    errors = [0] * len(rules)
    merged: dict[tuple[int, ...], Paths | None] = {}
    # one context for the whole render: making one costs more than most evaluations
    import cel

    variables = cel.Context({"spoke": spoke})
    for mi, m in enumerate(manifests):
        matched = [ri for ri, r in enumerate(rules) if errors[ri] < MAX_ERRORS_PER_RULE and r.matches(m)]
        if not matched:
            continue
        key = tuple(matched)
        if key not in merged:
            paths: Paths | None = rules[matched[0]].paths
            for ri in matched[1:]:
                more = rules[ri].paths
                paths = None if paths is None or more is None else merge_paths(paths, more)
            merged[key] = paths
        paths = merged[key]
        obj = m.obj if paths is None else prune(m.obj, paths) if paths else {}
        variables.add_variable("object", obj)  # converted once for all the rules that match
        for ri in matched:
            if progress is not None:
                progress(ri, mi)
            started = time.thread_time()
            try:
                result = rules[ri].program.execute(variables)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as e:  # assorted Python exceptions, and a Rust panic (a BaseException in PyO3)
                out.append(Outcome(ri, mi, f"the expression failed: {_one_line(e)}"))
                errors[ri] += 1
                continue
            spent = time.thread_time() - started
            if spent > CPU_LIMIT_S:
                out.append(
                    Outcome(
                        ri,
                        mi,
                        f"the expression took {spent:.2f} s of CPU, over the limit of {CPU_LIMIT_S} s per object",
                    )
                )
                errors[ri] += 1
            elif result is False:
                out.append(Outcome(ri, mi))
            elif result is not True:
                out.append(
                    Outcome(ri, mi, f"the expression returned {type(result).__name__} {result!r:.60}, not a bool")
                )
                errors[ri] += 1
    if progress is not None:
        progress(-1, -1)
    return out
