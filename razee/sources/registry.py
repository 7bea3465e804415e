"""Finding the expander of a source kind: plugins registered in the entry-point group `razee.sources`.

The registry imports no expander itself, so a source kind is installed like any package, and the built-in kinds
(`HelmChart`, `Kustomization`, ...) register the same way, in razee's own package metadata (razee.infra.registry
does the same for infrastructure providers). An expansion object of a kind nothing registers is an error at the
declaring template's file and line, never silently skipped: it would otherwise be sent to a cluster as it is.
"""

from __future__ import annotations

import threading
from importlib.metadata import EntryPoint, entry_points

from razee.errors import Finding, InputError, Location
from razee.sources.expander import Expander

GROUP = "razee.sources"

_extra: dict[str, Expander] = {}
_loaded: dict[str, Expander] = {}
_lock = threading.Lock()


def add_expander(expander: Expander) -> None:
    """Register an expander in this process only (tests, embedding); installed packages use the entry point."""
    _extra[expander.kind] = expander


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def source_kinds() -> list[str]:
    return sorted(set(_entry_points()) | set(_extra))


def load_expander(kind: str, where: Location) -> Expander:
    """The expander of `kind` (one instance per process), or an InputError at `where`."""
    if kind in _extra:
        return _extra[kind]
    with _lock:
        if kind in _loaded:
            return _loaded[kind]
        ep = _entry_points().get(kind)
        if ep is None:
            known = ", ".join(source_kinds()) or "none"
            raise InputError(
                [
                    Finding(
                        where,
                        f"unknown source kind {kind!r} in razee.io/v1; installed: {known} "
                        f"(a source kind is an entry point in the group {GROUP!r})",
                    )
                ]
            )
        try:
            factory = ep.load()
            expander: Expander = factory() if isinstance(factory, type) else factory
        except Exception as e:  # a broken plugin must read as a named error, not a razee crash
            raise InputError(
                [Finding(where, f"source kind {kind!r} ({ep.value}) failed to load: {type(e).__name__}: {e}")]
            ) from e
        if getattr(expander, "kind", None) != kind:
            raise InputError(
                [
                    Finding(
                        where,
                        f"source kind {kind!r}: entry point {ep.value} declares the kind "
                        f"{getattr(expander, 'kind', None)!r}",
                    )
                ]
            )
        _loaded[kind] = expander
        return expander
