"""The report an agent posts, validated strictly: only identities, statuses and paths, never object contents.

Numbers are strict (a string is not a number), finite and bounded; free-form parts are bounded in depth and size.
What fails here is a 422 that changes nothing. The agent trims its reports to these limits (razee/agent/report.py).

What is accepted is exactly what both databases store (issue 24: PostgreSQL answered 500 to a 140-character API
group and to a NUL): every string is no longer than its column (razee/hub/schema.py), identities have Kubernetes'
own limits (a name or group 253 characters, a namespace or kind 63), a revision fits a SHA-256 in hex (64), and no
string holds a control character (free text may have tabs and line breaks). Identities are only bounded, not held
to DNS syntax: an object the apiserver refused is reported as failed under whatever name its manifest gave it.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from razee.wire import (
    MAX_CHECKS,
    MAX_CLUSTER_KEYS,
    MAX_CLUSTERS,
    MAX_ERROR,
    MAX_FINDING,
    MAX_FINDINGS,
    MAX_OBJECTS,
    MAX_PATH,
    MAX_PATHS,
    MAX_POOLS,
    MAX_SOURCE_FIELD,
    MAX_SOURCES,
    MAX_TAKEOVERS,
    MAX_ZONES,
    REPORTED,
    PassOutcome,
)
from razee.wire import MAX_TEXT as MAX_MESSAGE


def _reported(outcome: PassOutcome) -> PassOutcome:
    if outcome not in REPORTED:
        raise ValueError(f"{outcome.value!r} is an outcome of a dry run, never reported")
    return outcome


Result = Annotated[PassOutcome, AfterValidator(_reported)]
"""A report's `result`: razee.wire's outcomes, those a report may carry."""
Status = Literal[
    "synced",
    "created",
    "updated",
    "drifted",
    "drifted-healed",
    "pruned",
    "failed",
    "kept",
    "pending",
    "missing",
    "recreated",
    "terminating",
]
DRIFT_STATUSES = ("drifted", "missing")
MAX_DEPTH = 4
EARLIEST = 946_684_800.0  # 2000-01-01: an agent's clock before this is broken, not data
LATEST = 4_102_444_800.0  # 2100-01-01
LINE = r"^[^\x00-\x1f\x7f-\x9f]*$"
"""One line of text: no control character at all (C0, DEL, C1; PostgreSQL's text refuses NUL outright)."""
PROSE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
"""Free text (an error, a message): tabs and line breaks allowed, no other control character."""
REVISION = r"^[\x21-\x7e]{1,64}$"
"""A revision: a git SHA-1 or SHA-256 in hex, or a watched folder's digest; printable, no spaces, <= 64 (the
revision columns)."""
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
CLEAN_PATTERNS = frozenset({LINE, PROSE})
"""Patterns whose only job is refusing control characters: their 422 says so in words (razee/hub/api.py)."""
KUBE_NAME_PATTERNS = {
    DNS_LABEL: "a DNS label: lowercase letters, digits and '-', at most 63 characters",
    REVISION: "a revision: 1 to 64 printable characters without spaces (a git SHA in hex)",
}
MAX_GROUP = 253
MAX_KIND = 63
MAX_NAMESPACE = 63
MAX_NAME = 253
Count = Annotated[int, Field(strict=True, ge=0, le=10_000_000)]
Seconds = Annotated[float, Field(strict=True, ge=0, le=10_000_000)]
Text = Annotated[str, Field(max_length=MAX_MESSAGE, pattern=PROSE)]
Key = Annotated[str, Field(max_length=32, pattern=LINE)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class TakeoverIn(Strict):
    path: str = Field(max_length=MAX_PATH, pattern=LINE)
    manager: str = Field(max_length=128, pattern=LINE)


class ObjectIn(Strict):
    group: str = Field(max_length=MAX_GROUP, pattern=LINE)
    kind: str = Field(max_length=MAX_KIND, pattern=LINE)
    namespace: str = Field(max_length=MAX_NAMESPACE, pattern=LINE)
    name: str = Field(max_length=MAX_NAME, pattern=LINE)
    status: Status
    paths: list[Annotated[str, Field(max_length=MAX_PATH, pattern=LINE)]] = Field(
        default_factory=list, max_length=MAX_PATHS
    )
    message: str = Field(default="", max_length=MAX_MESSAGE, pattern=PROSE)
    template: str = Field(default="", max_length=300, pattern=LINE)
    takeovers: list[TakeoverIn] = Field(default_factory=list, max_length=MAX_TAKEOVERS)


class CheckIn(Strict):
    """One wave check's latest result on the spoke (razee/agent/checks.py)."""

    check: str = Field(pattern=DNS_LABEL)
    result: Literal["pass", "fail", "unknown"]
    value: float | None = Field(default=None, ge=-1e300, le=1e300)
    threshold: str = Field(default="", max_length=100, pattern=LINE)
    at: float = Field(ge=0, le=LATEST)  # the agent's clock: shown, never used for order
    error: str = Field(default="", max_length=MAX_MESSAGE, pattern=PROSE)


class ObjectKeyIn(Strict):
    """An object of a customer cluster's master that is not in sync, by identity and status."""

    group: str = Field(max_length=MAX_GROUP, pattern=LINE)
    kind: str = Field(max_length=MAX_KIND, pattern=LINE)
    namespace: str = Field(max_length=MAX_NAMESPACE, pattern=LINE)
    name: str = Field(max_length=MAX_NAME, pattern=LINE)
    status: Status


class MasterIn(Strict):
    """A customer cluster's hosted master: its objects on the spoke, counted, and the out-of-sync ones named."""

    synced: Count = 0
    drifted: Count = 0
    failed: Count = 0
    pending: Count = 0
    outOfSync: list[ObjectKeyIn] = Field(default_factory=list, max_length=MAX_CLUSTER_KEYS)


class PoolIn(Strict):
    """A worker pool: what the fleet repo wants and what the infrastructure provider observed."""

    name: str = Field(max_length=MAX_NAME, pattern=LINE)
    flavor: str = Field(default="", max_length=64, pattern=LINE)
    zones: list[Annotated[str, Field(max_length=64, pattern=LINE)]] = Field(default_factory=list, max_length=MAX_ZONES)
    desired: Count = 0
    observed: Count = 0
    ready: Count = 0


class ClusterIn(Strict):
    """One customer cluster of the spoke, as the pass saw it (razee/agent/clusters.py)."""

    name: str = Field(min_length=1, max_length=MAX_NAME, pattern=LINE)
    master: MasterIn = Field(default_factory=MasterIn)
    version: str = Field(default="", max_length=32, pattern=LINE)  # the kube version the fleet repo wants
    observedVersion: str = Field(default="", max_length=32, pattern=LINE)  # the master's, as the provider saw it
    pools: list[PoolIn] = Field(default_factory=list, max_length=MAX_POOLS)
    pending: Count = 0  # infrastructure changes planned and not carried out by this pass
    infrastructure: bool = False  # False: this pass did not look at infrastructure (pools say nothing)


SourceText = Annotated[str | None, Field(max_length=MAX_SOURCE_FIELD, pattern=LINE)]


class SourceIn(Strict):
    """One expanded source (razee/objects.py SourceInfo): what runs where, never values or credentials."""

    name: str = Field(min_length=1, max_length=MAX_SOURCE_FIELD, pattern=LINE)
    kind: str = Field(min_length=1, max_length=MAX_KIND, pattern=LINE)
    chart: SourceText = None
    version: SourceText = None
    digest: Annotated[str | None, Field(max_length=200, pattern=LINE)] = None
    cluster: Annotated[str | None, Field(max_length=MAX_NAME, pattern=LINE)] = None


_LINE = re.compile(LINE)
_REVISION = re.compile(REVISION)
_PROSE = re.compile(PROSE)


def _bounded(value: Any, depth: int = 0) -> None:
    """Free-form data (the infrastructure summary): shallow, small strings, short lists, finite numbers."""
    if depth > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        if len(value) > 100:
            raise ValueError("more than 100 keys")
        for k, v in value.items():
            if len(k) > 64:
                raise ValueError("a key longer than 64 characters")
            if not _LINE.fullmatch(k):
                raise ValueError("a key with a control character")
            _bounded(v, depth + 1)
    elif isinstance(value, list):
        if len(value) > 100:
            raise ValueError("a list longer than 100 items")
        for v in value:
            _bounded(v, depth + 1)
    elif isinstance(value, str):
        if len(value) > MAX_MESSAGE:
            raise ValueError(f"a string longer than {MAX_MESSAGE} characters")
        if not _PROSE.fullmatch(value):
            raise ValueError("a string with a control character other than a tab or a line break")
    elif isinstance(value, bool) or value is None:
        pass
    elif isinstance(value, int):
        if abs(value) > 10**12:
            raise ValueError("a number out of range")
    elif isinstance(value, float):
        if value != value or abs(value) > 1e12:  # NaN or absurd
            raise ValueError("a number out of range")
    else:
        raise ValueError(f"unexpected {type(value).__name__}")


class ReportIn(Strict):
    schema_: int = Field(alias="schema", ge=1, le=1, strict=True)
    id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9-]+$")
    time: float = Field(strict=True, ge=EARLIEST, le=LATEST)  # the agent's clock: shown, never used for order
    spoke: str = Field(pattern=DNS_LABEL)
    region: str = Field(max_length=64, pattern=LINE)
    agent: str = Field(max_length=128, pattern=LINE)
    result: Result
    source: dict[Key, Text] = Field(default_factory=dict, max_length=16)  # revision, author, message, ...
    objects: list[ObjectIn] = Field(default_factory=list, max_length=MAX_OBJECTS)
    counts: dict[Status, Count] = Field(default_factory=dict)
    infrastructure: dict[str, Any] = Field(default_factory=dict)
    unhealthy: list[dict[Key, Text]] = Field(default_factory=list, max_length=1000)
    findings: list[Annotated[str, Field(max_length=MAX_FINDING, pattern=PROSE)]] = Field(
        default_factory=list, max_length=MAX_FINDINGS
    )
    error: str | None = Field(default=None, max_length=MAX_ERROR, pattern=PROSE)
    durations: dict[Key, Seconds] = Field(default_factory=dict, max_length=20)
    apiRequests: Count = 0
    wave: str = Field(default="", max_length=64, pattern=LINE)
    rollout: dict[Key, Annotated[str, Field(max_length=MAX_ERROR, pattern=PROSE)]] = Field(
        default_factory=dict, max_length=8
    )  # the revision it waits for, and why
    checks: list[CheckIn] = Field(default_factory=list, max_length=MAX_CHECKS)  # of the revision in `source`
    clusters: list[ClusterIn] | None = Field(default=None, max_length=MAX_CLUSTERS)  # None: the pass saw none
    sources: list[SourceIn] = Field(default_factory=list, max_length=MAX_SOURCES)

    @field_validator("source")
    @classmethod
    def _revision_fits(cls, value: dict[str, str]) -> dict[str, str]:
        revision = value.get("revision")
        if revision is not None and not _REVISION.fullmatch(revision):
            raise ValueError(f"source.revision must be {KUBE_NAME_PATTERNS[REVISION]}")
        return value

    @field_validator("infrastructure")
    @classmethod
    def _infrastructure_is_bounded(cls, value: dict[str, Any]) -> dict[str, Any]:
        _bounded(value)
        return value

    @model_validator(mode="after")
    def _objects_are_unique(self) -> ReportIn:
        seen: set[tuple[str, str, str, str]] = set()
        for o in self.objects:
            key = (o.group, o.kind, o.namespace, o.name)
            if key in seen:
                raise ValueError(f"object {o.kind} {o.namespace}/{o.name} appears twice in the report")
            seen.add(key)
        names = [c.name for c in self.clusters or ()]
        if len(set(names)) != len(names):
            raise ValueError("a customer cluster appears twice in the report")
        where = [(x.cluster or "", x.kind, x.name) for x in self.sources]
        if len(set(where)) != len(where):
            raise ValueError("a source appears twice for one cluster in the report")
        return self
