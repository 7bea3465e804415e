"""What a pass may carry over from the passes before it, and how a long-running caller hands it over.

The CLI plans each pass from nothing. The agent's loop keeps a session (razee.agent.session): an open connection,
discovery answers young enough to trust, watched copies of live state, and a memo of the work an unchanged object
needs no more. The engine sees that session only through the two Protocols here, so it never depends on the
agent's watch cache.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from razee.kube.client import Kube, Write
from razee.kube.discovery import Discovery
from razee.kube.live import LiveState
from razee.objects import ObjectKey


@dataclass
class PassMemo:
    """What a long-running agent carries from pass to pass, so an unchanged spoke costs little more than its reads.

    Entries of objects no longer seen are dropped at the end of each pass, so the memo never outgrows the spoke.
    """

    compared: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)
    """(uid, resourceVersion, desired hash) -> drifted paths: an object neither side changed is not compared."""
    prepared: dict[int, tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=dict)
    """id(rendered object) -> (that object, its prepared form); the first element keeps the id from being reused."""


class LiveReader(Protocol):
    """Where a pass reads live state from instead of LISTing it all (the agent's watched copies)."""

    def read(self, kube: Kube, discovery: Discovery, wanted: Iterable[tuple[ObjectKey, str]], target: str) -> LiveState:
        """What razee.kube.live.read_live returns for the same arguments."""
        ...

    def note_write(self, write: Write) -> None:
        """A write this pass made: the reader's copies must show it before a later pass reads them."""
        ...


class PassSession(Protocol):
    """What a long-running caller hands each pass it plans (razee.agent.session.AgentSession is one)."""

    @property
    def memo(self) -> PassMemo: ...

    @property
    def live(self) -> LiveReader | None:
        """None: the pass LISTs live state, as the CLI does."""
        ...

    def pass_kube(self) -> Kube | None:
        """A client on the session's open connection for one pass, or None to connect afresh."""
        ...

    def discovery(self, kube: Kube) -> Discovery:
        """The kinds the server serves, asked through `kube` or carried over from an earlier pass."""
        ...
