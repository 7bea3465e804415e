"""The provider protocol, its errors, and what a provider plugin declares.

A provider observes what exists and carries out single changes; planning is shared (razee.infra.planner), so
every provider gets the same zone spreading, rolling replacement and deletion safety. Providers are plugins: a
package declares a `ProviderPlugin` in the entry-point group `razee.providers` (see razee.infra.registry).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from pydantic import BaseModel

from razee.errors import ServiceError
from razee.infra.changes import InfraChange
from razee.infra.model import ActualCluster


class ProviderError(ServiceError):
    """A provider request failed for good."""


class TransientProviderError(ProviderError):
    """A provider request failed in a way worth retrying (throttling, timeouts, 5xx)."""


class FatalProviderError(ProviderError):
    """Every further request would fail the same way (credentials, permissions, invalid settings): stop the pass."""


class Provider(Protocol):
    name: str

    def observe(self, clusters: list[str], owner: str) -> list[ActualCluster]:
        """The named clusters that exist, plus every cluster `owner` manages."""
        ...

    def apply(self, change: InfraChange, owner: str) -> str:
        """Carry out one change; idempotent for a repeated `change.token`. Returns the affected resource id."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ProviderContext:
    """What a provider is opened with for one spoke's pass."""

    fleet: str
    """The fleet's name (fleet.yaml `name`): providers tag what they create with it."""
    region: str
    """The razee region of the spoke."""
    settings: BaseModel
    """`providers.<name>` of fleet.yaml layered with the region file's, validated by the plugin's settings model."""
    runtime: Mapping[str, str] = field(default_factory=dict)
    """Settings from the command line or agent (such as the local provider's state file)."""
    zones: tuple[str, ...] = ()
    """The region's zones."""
    flavors: tuple[str, ...] = ()
    """Flavors the spoke's worker pools use."""


@dataclass(frozen=True)
class ProviderPlugin:
    """What the entry point `razee.providers:<name>` points at."""

    name: str
    summary: str
    settings: type[BaseModel]
    """Validates `providers.<name>`; its fields' descriptions are what `razee providers` shows."""
    open: Callable[[ProviderContext], Provider]
