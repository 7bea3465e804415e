"""The provider protocol and the registry providers are chosen from by name (fleet.yaml or a region's `provider`).

A provider observes what exists and carries out single changes; planning is shared (razee.infra.planner), so
every provider gets the same zone spreading, rolling replacement and deletion safety.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from razee.errors import ServiceError, UsageError
from razee.infra.changes import InfraChange
from razee.infra.model import ActualCluster


class ProviderError(ServiceError):
    """A provider request failed for good."""


class TransientProviderError(ProviderError):
    """A provider request failed in a way worth retrying (throttling, timeouts, 5xx)."""


class Provider(Protocol):
    name: str

    def observe(self, clusters: list[str], owner: str) -> list[ActualCluster]:
        """The named clusters that exist, plus every cluster `owner` manages."""
        ...

    def apply(self, change: InfraChange, owner: str) -> str:
        """Carry out one change; idempotent for a repeated `change.token`. Returns the affected resource id."""
        ...

    def close(self) -> None: ...


ProviderFactory = Callable[[Mapping[str, str]], Provider]

PROVIDERS: dict[str, ProviderFactory] = {}


def register(name: str) -> Callable[[ProviderFactory], ProviderFactory]:
    def wrap(factory: ProviderFactory) -> ProviderFactory:
        PROVIDERS[name] = factory
        return factory

    return wrap


def open_provider(name: str, settings: Mapping[str, str]) -> Provider:
    import razee.infra.local  # noqa: F401  - registers the built-in provider

    factory = PROVIDERS.get(name)
    if factory is None:
        raise UsageError(f"unknown infrastructure provider {name!r}; known: {', '.join(sorted(PROVIDERS))}")
    return factory(settings)
