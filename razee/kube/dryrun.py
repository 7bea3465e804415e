"""The dry-run step of planning: the server checks every object a pass will write, before anything is written.

Objects that exist or go into existing namespaces get a server-side-apply dry run; objects bound for a namespace
this pass creates are dry-run in a stand-in namespace, so a bad object never leaves a half-applied pass behind it.
The answers become each change's `after`, and each write's patch is then computed with secrets masked.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from razee.kube.client import Kube
from razee.kube.errors import Unavailable
from razee.kube.fieldowners import keep_handed
from razee.kube.live import LiveState
from razee.kube.ssa import ConflictPolicy, preview, validate_in
from razee.plan.model import Action, Change
from razee.plan.view import clean, json_patch, mask_secrets

STAND_IN_NAMESPACES = ("default", "kube-system")
"""Namespaces every cluster has, in which an object bound for a namespace not created yet is checked."""


def dry_runs(
    kube: Kube, live: LiveState, to_preview: list[Change], conflicts: ConflictPolicy, concurrency: int
) -> None:
    """Let the server check every object that will be written, side by side; the first failure of the server
    itself (not of an object) stops the rest and the pass."""

    def check(change: Change) -> None:
        assert change.desired is not None
        res = live.resources[change.key]
        if res.namespaced and change.key.namespace not in live.namespaces:
            # The namespace is created by this pass: let the server check the object in one that exists.
            stand_in = next((ns for ns in STAND_IN_NAMESPACES if ns in live.namespaces), "")
            change.after = (
                validate_in(kube, res, change.desired, stand_in, change) if stand_in else clean(change.desired)
            )
            return
        result = preview(kube, res, change.desired, change, live.objects.get(change.key), conflicts)
        if result is not None:
            change.after = clean(result) if change.action != Action.RECREATE else result
            if change.handover is not None and change.after is not None:
                keep_handed(change.after, change.handover)

    stop = threading.Event()

    def guarded(change: Change) -> None:
        if stop.is_set():
            return  # the server failed an earlier dry run: the pass stops, the queued ones would wait in vain
        try:
            check(change)
        except Unavailable:
            stop.set()
            raise

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(guarded, to_preview))


def show_changes(changes: list[Change]) -> None:
    """Secrets masked, and each write's patch (drift narrowed to the paths the patch really changes)."""
    for change in changes:
        if change.action in (Action.CREATE, Action.UPDATE, Action.PRUNE, Action.RECREATE):
            mask_secrets(change.before, change.after)
            change.patch = json_patch(change.before, change.after if change.action != Action.PRUNE else None)
            if change.drift and change.patch:
                change.drift = sorted({op["path"] for op in change.patch})
