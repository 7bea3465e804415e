"""What the agent's loop keeps between passes: one open connection, watched copies of live state, discovery
answers young enough to trust, and the memo of work an unchanged object needs no more.

A one-off pass (`--once`, or run_pass called alone) uses the session's memo but LISTs and asks discovery afresh,
as the CLI does; once the loop calls `watch()`, passes read the watched copies (razee.kube.watchcache) on the
cache's connection and carry discovery over for DISCOVERY_TTL seconds. The engine sees all of this only through
razee.kube.session.PassSession.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from razee.kube.client import Kube
from razee.kube.discovery import Discovery
from razee.kube.session import PassMemo
from razee.kube.watchcache import LiveCache

DISCOVERY_TTL = 300.0
"""Seconds a watching loop trusts the kinds the server served; it asks again at least this often."""


@dataclass
class AgentSession:
    """The agent's PassSession (razee.kube.session)."""

    connect: Callable[[], Kube]
    """Opens the watches' own connection (kept open between passes), when the loop starts watching."""
    memo: PassMemo = field(default_factory=PassMemo)
    """Objects unchanged on both sides are not prepared or compared again."""
    live: LiveCache | None = None
    """The watched copies of live state, while the loop watches."""
    _discovery: Discovery | None = None

    def watch(self) -> LiveCache:
        """From now on, passes read live state from watches, not LISTs; call `stop_watching()` to end that."""
        if self.live is None:
            self.live = LiveCache(self.connect)
        return self.live

    def stop_watching(self) -> bool:
        """Stop every watch and wait for its thread; False when nothing was watched."""
        live, self.live = self.live, None
        if live is None:
            return False
        live.close()
        return True

    def pass_kube(self) -> Kube | None:
        """A client for one pass on the watches' connection, which stays open between passes; None when the loop
        does not watch (the pass connects itself)."""
        return self.live.pass_kube() if self.live is not None else None

    def discovery(self, kube: Kube) -> Discovery:
        """A new Discovery, or while the loop watches the last pass's, carried over while young."""
        if self.live is None:
            return Discovery(kube)
        carried = self._discovery
        if carried is not None and time.monotonic() - carried.created < DISCOVERY_TTL:
            carried.next_pass(kube)
            return carried
        self._discovery = Discovery(kube)
        return self._discovery
