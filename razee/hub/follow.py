"""The hub follows the fleet repo the agents follow, so it knows what each revision declares once it is committed.

It uses the agent's own source code (razee/source/remote.py: the same URL forms, RAZEE_GIT_TOKEN, SSH settings,
redacted errors) and the fleet loader. A revision whose fleet does not load is recorded with its error and no
declaration: the agents reject it too.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError

from razee.errors import InputError, RazeeError
from razee.fleet.fleet import Fleet
from razee.fleet.loader import load_fleet
from razee.hub.declared import declare, declared_clusters
from razee.hub.periodic import Periodic
from razee.hub.store import Store
from razee.source.local import revision_snapshot
from razee.source.remote import GitSource

log = logging.getLogger(__name__)


def declaration(fleet: Fleet) -> dict[str, Any]:
    """What the hub keeps of a revision: its waves, and each spoke's region, wave and cluster count."""
    return {
        "fleet": fleet.spec.name,
        "waves": [w.model_dump(by_alias=True) for w in fleet.spec.rollout.waves],
        "onFailure": fleet.spec.rollout.on_failure,
        "spokes": [
            {"spoke": v.spoke.name, "region": v.region.name, "wave": v.spoke.wave, "clusters": len(v.clusters)}
            for v in fleet.spokes()
        ],
    }


class RepoFollower:
    def __init__(self, store: Store, url: str, branch: str, cache: Path, poll: float = 5.0) -> None:
        self.store = store
        self.source = GitSource(url, branch, cache)
        self.poll = poll
        self.loop = Periodic("razee-hub-follow", self._step, poll)
        self.last: str | None = None

    def start(self) -> None:
        self.loop.start()

    def nudge(self) -> None:
        """Look for a new revision now: an agent asked about one the hub has not read yet."""
        self.loop.nudge()

    def close(self) -> None:
        self.loop.close()
        self.source.close()

    def check(self) -> str | None:
        """Fetch the branch tip; read and record its declaration when it is new. Returns the tip.

        A new tip (or the first look after a start: the clusters table may predate this hub's version) also
        brings the clusters table's declared side to the tip's clusters (razee/hub/declared.py)."""
        revision = self.source.fetch()
        if revision == self.last:
            return revision
        known = self.store.revision(revision)
        fresh = known is None or (known.declared is None and known.error is None)
        declared, error, clusters = self._read(revision) if fresh or self.last is None else (None, None, None)
        if fresh:
            self.store.record_revision(revision, self.source.commit_info(revision), declared, error)
            log.info(
                "revision %s: %s",
                revision[:12],
                f"not loadable: {error}" if error else f"{len(declared['spokes']) if declared else 0} spokes declared",
            )
        if clusters is not None:
            try:
                with self.store.session() as s:
                    written = declare(s, clusters)
            except (IntegrityError, OperationalError) as e:  # another replica declared at once: look again
                log.warning("could not record the declared clusters yet: %s", e.__class__.__name__)
                return revision
            log.info("revision %s: %d clusters declared (%d rows written)", revision[:12], len(clusters), written)
        self.last = revision
        return revision

    def _read(self, revision: str) -> tuple[dict[str, Any] | None, str | None, list[dict[str, Any]] | None]:
        """The revision's declaration, its error if the fleet does not load, and its declared clusters."""
        try:
            with revision_snapshot(self.source.cache, revision) as root:
                fleet = load_fleet(root)
                return declaration(fleet), None, declared_clusters(fleet)
        except InputError as e:
            return None, "; ".join(str(f) for f in e.findings[:10]), None
        except RazeeError as e:
            return None, e.message, None

    def _step(self) -> None:
        try:
            self.check()
        except RazeeError as e:  # the hub keeps serving what it knows; the next poll tries again
            log.warning("cannot follow the fleet repo: %s", e.message)
