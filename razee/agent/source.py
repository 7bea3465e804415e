"""Source following: the newest revision of the fleet repo (a git fetch or a watched folder), checked and kept.

A revision is usable once its signature (when required), schema, templates and policy gate pass; the last usable
one is enforced while a newer one is refused. What was applied and which rollouts completed survive a restart in
`state.json`, so a restarted agent resumes a rollout where it stood.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from razee.errors import InputError, RazeeError, ServiceError
from razee.fleet.fleet import Fleet
from razee.fleet.loader import load_fleet
from razee.reconcile.load import render_spoke
from razee.render.cache import RenderCache
from razee.source.local import revision_snapshot
from razee.source.remote import GitSource, redact
from razee.source.signatures import verify_commit
from razee.sources.expand import SourceOptions

log = logging.getLogger(__name__)
FLEET_PARTS = ("environments", "templates", "charts", "kustomize")
"""The folders of a fleet repo a revision consists of (a watched folder's digest covers these): the fleet, its
templates, and the charts and kustomizations its sources read (docs/sources.md)."""
COMPLETED_KEPT = 50
"""Revisions remembered as having completed their rollout (newest kept)."""
FLEETS_KEPT = 2
"""Loaded fleets kept: a held spoke asks about the one it waits for and checks the one it runs, every pass."""


def folder_digest(root: Path) -> str:
    """A hash of the fleet files in a local folder: the 'revision' of a watched folder."""
    h = hashlib.sha256()
    for part in FLEET_PARTS:
        base = root / part
        for p in sorted(base.rglob("*")) if base.is_dir() else []:
            if p.is_file():
                h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


@dataclass
class SourceState:
    last_good: str | None = None
    last_applied: str | None = None
    rejected: dict[str, list[str]] = field(default_factory=dict)  # revision -> findings
    completed: list[str] = field(default_factory=list)
    """Revisions the hub said completed their rollout: no need to ask about them again (newest last)."""


class SourceFollower:
    """The fleet repo as the agent follows it: fetch, check out, accept or reject, remember."""

    def __init__(
        self,
        repo: str,
        branch: str,
        state_dir: Path,
        spoke: str,
        render_cache: RenderCache,
        sources: SourceOptions | None = None,
    ) -> None:
        self.repo = repo
        self.sources = sources
        self.spoke = spoke
        self.local = Path(repo) if Path(repo).is_dir() else None
        self.git = None if self.local else GitSource(repo, branch, state_dir / "cache")
        self.checkouts = state_dir / "checkouts"
        self.checkouts.mkdir(exist_ok=True)
        self.state_file = state_dir / "state.json"
        self.render_cache = render_cache
        self.state = SourceState()
        self._fleets: dict[str, Fleet] = {}
        self.load_state()

    def newest_revision(self) -> str:
        if self.git is not None:
            return self.git.fetch()
        assert self.local is not None
        return "local-" + folder_digest(self.local)[:16]

    def checkout(self, revision: str) -> Path:
        """The revision's files in a folder of their own: copied to a temp folder, then renamed into place.

        A watched local folder is copied too, so a later broken edit cannot change the last good revision.
        """
        dest = self.checkouts / revision
        if not dest.exists():
            tmp = Path(tempfile.mkdtemp(dir=self.checkouts, prefix=".tmp-"))
            if self.local is not None:
                for part in FLEET_PARTS:
                    if (self.local / part).is_dir():
                        shutil.copytree(self.local / part, tmp / part, symlinks=True)
            else:
                assert self.git is not None
                with revision_snapshot(self.git.cache, revision) as snap:
                    shutil.copytree(snap, tmp, dirs_exist_ok=True)
            tmp.rename(dest)
        keep = (revision, self.state.last_good, self.state.last_applied)
        for old in self.checkouts.iterdir():
            if old.name not in keep and not old.name.startswith(".tmp-"):
                shutil.rmtree(old, ignore_errors=True)
        return dest

    def accept(self, revision: str, trusted_keys: Sequence[Path] | None, age_identity: str | None) -> list[str]:
        """Findings that make the revision unusable (signature, schema, templates, policy); empty when good."""
        try:
            if trusted_keys is not None and self.git is not None:
                verify_commit(self.git.cache, revision, list(trusted_keys))
            root = self.checkout(revision)
            # the pass that follows reuses this render
            render_spoke(root, self.spoke, self.render_cache, age_identity=age_identity, sources=self.sources)
        except InputError as e:
            return [str(f) for f in e.findings]
        except RazeeError as e:
            if isinstance(e, ServiceError):
                raise
            return [e.message]
        return []

    def source_info(self, revision: str) -> dict[str, str]:
        if self.git is None:
            return {"revision": revision, "path": str(self.local)}
        info = self.git.commit_info(revision)
        info["repo"] = redact(self.repo)
        return info

    def is_urgent(self, revision: str) -> bool:
        return self.git.is_urgent(revision) if self.git is not None else False

    def fleet_at(self, revision: str) -> Fleet:
        """The fleet a revision declares; the last FLEETS_KEPT are kept."""
        fleet = self._fleets.get(revision)
        if fleet is None:
            fleet = self._fleets[revision] = load_fleet(self.checkout(revision))
            for old in list(self._fleets)[:-FLEETS_KEPT]:
                del self._fleets[old]
        return fleet

    def completed(self, revision: str) -> None:
        """The hub said `revision` completed its rollout: remembered, so it is not asked about again."""
        if revision not in self.state.completed:
            self.state.completed = [*self.state.completed, revision][-COMPLETED_KEPT:]
            self.save_state()

    def save_state(self) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(
            json.dumps(
                {
                    "lastApplied": self.state.last_applied,
                    "lastGood": self.state.last_good,
                    "completed": self.state.completed,
                }
            )
        )
        tmp.replace(self.state_file)

    def load_state(self) -> None:
        if self.state_file.exists():
            try:
                doc = json.loads(self.state_file.read_text())
                self.state.last_applied, self.state.last_good = doc.get("lastApplied"), doc.get("lastGood")
                self.state.completed = [str(r) for r in doc.get("completed", [])][-COMPLETED_KEPT:]
            except ValueError:
                log.warning("ignoring an unreadable %s", self.state_file)

    def close(self) -> None:
        if self.git is not None:
            self.git.close()
