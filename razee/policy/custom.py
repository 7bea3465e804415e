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
from typing import Any

import cel

from razee.fleet.model import CustomRule
from razee.render.manifest import Manifest

CPU_LIMIT_S = 0.25
"""CPU one evaluation may use; typical rules take 20-100 microseconds, so this only stops runaway expressions."""
MAX_ERRORS_PER_RULE = 10
"""After this many errors a rule is not evaluated further in the same render (the rest would say the same)."""

_OBJECT = re.compile(r"\bobject\b")
_OBJECT_FIELD = re.compile(r"\s*\.\s*\??\s*([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class CompiledRule:
    rule: CustomRule
    program: cel.Program
    keys: frozenset[str] | None
    """The top-level fields of `object` the expression can read, or None for the whole object."""

    def matches(self, m: Manifest) -> bool:
        match = self.rule.match
        if match.kinds and m.kind not in match.kinds:
            return False
        if match.namespaces:
            return bool(m.namespace) and any(fnmatch.fnmatchcase(m.namespace, p) for p in match.namespaces)
        return True


def object_keys(expression: str) -> frozenset[str] | None:
    """The fields read as `object.<field>`; None if `object` is used any other way (then it is passed whole).

    Converting an object to CEL values costs more than most evaluations, so only what is read is converted.
    A name inside a string literal only adds a field, which is safe.
    """
    keys: set[str] = set()
    for m in _OBJECT.finditer(expression):
        field = _OBJECT_FIELD.match(expression, m.end())
        if field is None:
            return None
        keys.add(field.group(1))
    return frozenset(keys)


def compile_rule(rule: CustomRule) -> CompiledRule:
    """Raises ValueError with the compiler's message (the fleet model has checked this already)."""
    return CompiledRule(rule, cel.compile(rule.expression), object_keys(rule.expression))


@dataclass(frozen=True)
class Outcome:
    """A rule that did not pass one object: `error` is None for a plain violation (the expression was false)."""

    rule: int
    manifest: int
    error: str | None = None


def _one_line(e: BaseException) -> str:
    text = " ".join(part.strip() for part in str(e).splitlines() if part.strip()) or type(e).__name__
    return f"{type(e).__name__}: {text}" if isinstance(e, KeyError) else text


def evaluate(rules: Sequence[CompiledRule], manifests: Sequence[Manifest], spoke: dict[str, str],
             progress: Any = None) -> list[Outcome]:
    """Every (rule, object) pair that does not pass. `progress(rule, manifest)` is called before each evaluation
    (and `progress(-1, -1)` at the end), so a watchdog can tell which evaluation is running."""
    out: list[Outcome] = []
    errors = [0] * len(rules)
    for mi, m in enumerate(manifests):
        matched = [ri for ri, r in enumerate(rules) if errors[ri] < MAX_ERRORS_PER_RULE and r.matches(m)]
        if not matched:
            continue
        keys: set[str] | None = set()
        for ri in matched:
            k = rules[ri].keys
            keys = None if k is None or keys is None else keys | k
        obj = m.obj if keys is None else {k: m.obj[k] for k in keys if k in m.obj}
        plain: dict[str, Any] = {"object": obj, "spoke": spoke}
        # several rules share one conversion of the object; one rule converts it anyway
        variables: dict[str, Any] | cel.Context = cel.Context(plain) if len(matched) > 1 else plain
        for ri in matched:
            if progress is not None:
                progress(ri, mi)
            started = time.thread_time()
            try:
                result = rules[ri].program.execute(variables)
            except Exception as e:  # the CEL library maps its runtime errors to assorted Python exceptions
                out.append(Outcome(ri, mi, f"the expression failed: {_one_line(e)}"))
                errors[ri] += 1
                continue
            spent = time.thread_time() - started
            if spent > CPU_LIMIT_S:
                out.append(Outcome(ri, mi, f"the expression took {spent:.2f} s of CPU, over the limit of "
                                           f"{CPU_LIMIT_S} s per object"))
                errors[ri] += 1
            elif result is False:
                out.append(Outcome(ri, mi))
            elif result is not True:
                out.append(Outcome(ri, mi, f"the expression returned {type(result).__name__} {result!r:.60}, "
                                           "not a bool"))
                errors[ri] += 1
    if progress is not None:
        progress(-1, -1)
    return out
