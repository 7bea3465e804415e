"""`dependsOn` between sources: checked when a render expands them, carried to the engine in `Origin.depends_on`.

A source may name other sources of the same scope (the spoke's own sources, or those declared for the same
customer cluster): the engine applies it once those are applied and healthy. A name no source of that scope has,
or a cycle, could never be ordered, so each is an error at the declaring template's file and line (`validate`
reports it before anything reaches a cluster).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from razee.errors import Finding
from razee.objects import Manifest

Scope = tuple[str | None, str]
"""(the customer cluster a cluster template declared it for, or None for the spoke; the source's name)."""


def depends_on(decl: Manifest) -> tuple[str, ...]:
    spec = decl.obj.get("spec")
    names: Any = spec.get("dependsOn") if isinstance(spec, dict) else None
    if not isinstance(names, list):
        return ()
    return tuple(str(n) for n in names)


def check_depends_on(decls: Sequence[Manifest]) -> list[Finding]:
    """Unknown names and cycles among `decls` (one spoke's expansion objects), each at its declaration."""
    by_scope: dict[Scope, Manifest] = {(d.source.cluster, d.name): d for d in decls}
    edges: dict[Scope, list[Scope]] = {}
    findings: list[Finding] = []
    for d in decls:
        me = (d.source.cluster, d.name)
        edges[me] = []
        for i, name in enumerate(depends_on(d)):
            other = (d.source.cluster, name)
            if other not in by_scope:
                scope = f"for cluster {d.source.cluster}" if d.source.cluster else "in the spoke's templates"
                known = ", ".join(sorted(n for c, n in by_scope if c == d.source.cluster))
                findings.append(
                    Finding(
                        d.source.location(f"spec.dependsOn.{i}"),
                        (
                            f"{d.kind} {d.name}: dependsOn names {name!r}, which no source {scope} is called "
                            f"(sources there: {known})"
                        ),
                    )
                )
            elif other == me:
                findings.append(
                    Finding(d.source.location(f"spec.dependsOn.{i}"), f"{d.kind} {d.name}: depends on itself")
                )
            else:
                edges[me].append(other)
    for cycle in _cycles(edges):
        d = by_scope[cycle[0]]
        chain = " -> ".join(n for _, n in (*cycle, cycle[0]))
        findings.append(
            Finding(
                d.source.location("spec.dependsOn"),
                (f"{d.kind} {d.name}: dependsOn makes a cycle ({chain}); no order can apply them"),
            )
        )
    return findings


def _cycles(edges: dict[Scope, list[Scope]]) -> list[list[Scope]]:
    """One cycle per strongly connected group of sources (reported once, from its first member in order)."""
    state: dict[Scope, int] = {}  # 1: on the current path, 2: done
    found: list[list[Scope]] = []
    seen_members: set[Scope] = set()

    def visit(node: Scope, path: list[Scope]) -> None:
        state[node] = 1
        path.append(node)
        for nxt in edges.get(node, []):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt) :]
                if not seen_members.intersection(cycle):
                    seen_members.update(cycle)
                    found.append(cycle)
            elif nxt not in state:
                visit(nxt, path)
        path.pop()
        state[node] = 2

    for node in edges:
        if node not in state:
            visit(node, [])
    return found
