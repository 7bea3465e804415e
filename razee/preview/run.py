"""Entry point of the revision preview: resolve both revisions, take the shortcuts that are safe, compare."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from razee.errors import InputError, UsageError
from razee.fleet.loader import ParseCache
from razee.preview.compare import Side, compare_revisions
from razee.preview.fingerprint import SOURCE_DIRS
from razee.preview.model import Preview
from razee.reconcile.load import Selection
from razee.render.renderer import TEMPLATES_DIR
from razee.render.settings import RenderSettings
from razee.source.local import changed_paths, resolve_repo, revision_snapshot

FLEET_DIRS = ("environments/", f"{TEMPLATES_DIR}/", *(f"{d}/" for d in SOURCE_DIRS))


def preview_revisions(
    repo: str | None,
    old_rev: str,
    new_rev: str | None,
    selection: Selection,
    full: bool = False,
    settings: RenderSettings | None = None,
) -> Preview:
    """Compare `old_rev` with `new_rev` (default: the working tree) for the selected spokes."""
    root = resolve_repo(repo)
    new_label = new_rev or "working tree"
    if new_rev and not full:
        paths = changed_paths(root, old_rev, new_rev)
        if paths is not None and not any(p.startswith(FLEET_DIRS) for p in paths):
            # nothing under environments/ or templates/ changed: the desired state is the same, byte for byte
            with revision_snapshot(root, new_rev):
                pass  # still proves the revision exists
            return Preview(old_rev, new_label, [])
    cache: ParseCache = {}
    with ExitStack() as stack:
        old_root = stack.enter_context(revision_snapshot(root, old_rev))
        new_root = stack.enter_context(revision_snapshot(root, new_rev)) if new_rev else root
        old = _load(old_rev, old_root, cache)
        new = _load(new_label, new_root, cache)
        spokes = _selected(selection, old, new)
        return compare_revisions(old, new, spokes, full=full, settings=settings)


def _load(label: str, root: Path, cache: ParseCache) -> Side:
    try:
        return Side.load(label, root, cache)
    except InputError as e:
        raise InputError(e.findings, f"revision {label} is invalid ({len(e.findings)} problem(s))") from e


def _selected(selection: Selection, old: Side, new: Side) -> list[str] | None:
    if selection.spoke and selection.region:
        raise UsageError("give --spoke or --region, not both")
    views = list(old.fleet.spokes()) + list(new.fleet.spokes())
    if selection.spoke:
        if not any(v.spoke.name == selection.spoke for v in views):
            raise UsageError(f"unknown spoke {selection.spoke!r} in both revisions")
        return [selection.spoke]
    if selection.region:
        chosen = sorted({v.spoke.name for v in views if v.region.name == selection.region})
        if not chosen:
            raise UsageError(f"unknown region {selection.region!r} in both revisions")
        return chosen
    return None
