"""Tables of the hub (SQLAlchemy 2.0). Migrations under razee/hub/migrations keep upgrades lossless."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Boolean, Dialect, Float, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class JSONText(TypeDecorator[Any]):
    """A JSON document kept in a Text column: encoded and decoded here, once, instead of at every use.

    Text (not the dialects' JSON types) keeps the columns as they were created, so no migration is needed, and
    SQLite and PostgreSQL store the same bytes. Compact separators keep retention's byte accounting honest.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else json.dumps(value, separators=(",", ":"))

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


class Base(DeclarativeBase):
    pass


class Token(Base):
    __tablename__ = "tokens"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))  # agent | reader | admin
    spoke: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created: Mapped[float] = mapped_column(Float)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class SpokeState(Base):
    """The latest known state of each spoke; never deleted by retention."""

    __tablename__ = "spokes"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    region: Mapped[str] = mapped_column(String(64), index=True)
    agent: Mapped[str] = mapped_column(String(128))
    last_seen: Mapped[float] = mapped_column(Float)
    report_id: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(String(16))
    revision: Mapped[str] = mapped_column(String(64), index=True)
    objects: Mapped[int] = mapped_column(Integer)
    drifted: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)
    unhealthy: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    wave: Mapped[str] = mapped_column(String(64), default="")
    applied_at: Mapped[float | None] = mapped_column(Float, nullable=True)  # the hub's clock
    degraded: Mapped[int] = mapped_column(Integer, default=0)
    missing: Mapped[int] = mapped_column(Integer, default=0)  # managed objects gone from the cluster
    agent_time: Mapped[float | None] = mapped_column(Float, nullable=True)  # the agent's clock: data, never order


class Report(Base):
    __tablename__ = "reports"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    spoke: Mapped[str] = mapped_column(String(64))
    received: Mapped[float] = mapped_column(Float)
    result: Mapped[str] = mapped_column(String(16))
    revision: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer, default=0)  # bytes of body: retention is bounded in bytes too
    summary: Mapped[dict[str, Any]] = mapped_column(JSONText, default=dict)  # what list views show, never `body`
    __table_args__ = (Index("reports_spoke_received", "spoke", "received"),)


class ObjectState(Base):
    """Per object, its status in the spoke's latest report: what the drift and failure views read."""

    __tablename__ = "objects"
    spoke: Mapped[str] = mapped_column(String(64), primary_key=True)
    group: Mapped[str] = mapped_column(String(253), primary_key=True)  # an API group: a DNS subdomain
    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    namespace: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(253), primary_key=True)
    region: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    paths: Mapped[str] = mapped_column(Text)  # JSON list of JSON pointers
    message: Mapped[str] = mapped_column(Text)
    takeovers: Mapped[str] = mapped_column(Text, default="[]")  # JSON [{"path", "manager"}] taken over by the agent
    __table_args__ = (Index("objects_status_region", "status", "region"),)


class RolloutControl(Base):
    __tablename__ = "rollout_controls"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)  # "paused"
    value: Mapped[str] = mapped_column(Text)


class Approval(Base):
    __tablename__ = "approvals"
    revision: Mapped[str] = mapped_column(String(64), primary_key=True)
    wave: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[float] = mapped_column(Float)
    by: Mapped[str] = mapped_column(String(64), default="")


class Revision(Base):
    """A revision of the fleet repo as the hub knows it: when it first saw it, in which order, and what it declares.

    `declared` (JSON: waves, and each spoke's region, wave and cluster count) is set when the hub follows the
    repo; a revision only an agent mentioned has none, and its views fall back to the spokes that reported.
    """

    __tablename__ = "revisions"
    revision: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, index=True)  # commit order as the hub learned it
    first_seen: Mapped[float] = mapped_column(Float)
    author: Mapped[str] = mapped_column(Text, default="")
    message: Mapped[str] = mapped_column(Text, default="")
    committed_at: Mapped[str] = mapped_column(String(64), default="")
    declared: Mapped[dict[str, Any] | None] = mapped_column(JSONText, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class Notification(Base):
    """An event the notifying replica found, kept until every receiver got it (or a week passed)."""

    __tablename__ = "notifications"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    event: Mapped[str] = mapped_column(Text)  # JSON: razee.hub.transitions.Event.as_json()


class NotifyCursor(Base):
    """The last notification handed to one receiver (known by a hash of its URL: the URL can be a secret)."""

    __tablename__ = "notify_cursors"
    target: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)


class RolloutCheck(Base):
    """A wave check's latest result per spoke and revision, and its first failure (a failure never un-fails)."""

    __tablename__ = "rollout_checks"
    spoke: Mapped[str] = mapped_column(String(64), primary_key=True)
    revision: Mapped[str] = mapped_column(String(64), primary_key=True)
    check: Mapped[str] = mapped_column(String(64), primary_key=True)
    result: Mapped[str] = mapped_column(String(16))  # pass | fail | unknown
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    threshold: Mapped[str] = mapped_column(String(100), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[float] = mapped_column(Float)  # the hub's clock
    failed: Mapped[str] = mapped_column(Text, default="")  # "check error-rate = 0.93 (max 0.5)" at first failure
    __table_args__ = (Index("rollout_checks_revision", "revision"),)


class SpokeRevision(Base):
    """Each revision a spoke applied, when it first did, and when it first was healthy on it (the hub's clock).

    What a rollback may return to, and the history a revision's rollout view counts once the spoke moved on
    (razee/hub/history.py): the spoke's current state says only where it is now.
    """

    __tablename__ = "spoke_revisions"
    spoke: Mapped[str] = mapped_column(String(64), primary_key=True)
    revision: Mapped[str] = mapped_column(String(64), primary_key=True)
    applied_at: Mapped[float] = mapped_column(Float)
    healthy_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class RolloutCompletion(Base):
    """A revision whose rollout completed: every wave applied it, healthy, checks passed, baked."""

    __tablename__ = "rollout_completions"
    revision: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[float] = mapped_column(Float)


class Rollback(Base):
    """A spoke sent back from a halted revision to the last one that completed its rollout there."""

    __tablename__ = "rollbacks"
    spoke: Mapped[str] = mapped_column(String(64), primary_key=True)
    from_revision: Mapped[str] = mapped_column(String(64), primary_key=True)
    to_revision: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(128))
    at: Mapped[float] = mapped_column(Float, index=True)


class WebSession(Base):
    """A dashboard sign-in (razee/hub/sessions.py): only a hash of its id is kept, bound to the token that made it.

    In the database, not in a replica's memory, so every replica sees a sign-in, a sign-out and a revocation.
    """

    __tablename__ = "web_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the cookie's session id
    token_id: Mapped[str] = mapped_column(String(32), index=True)
    role: Mapped[str] = mapped_column(String(16))  # reader | admin, as the token was when it signed in
    created: Mapped[float] = mapped_column(Float)
    expires: Mapped[float] = mapped_column(Float, index=True)


class ClusterState(Base):
    """Per customer cluster, the latest of what its spoke reported and what the fleet repo declares of it.

    Written only when it changed (razee/hub/clusterrows.py): `digest` is a hash of what the report said of it.
    `spoke`/`region` are where it was reported, else where it is declared. The filters of the clusters view each
    have an index ending in `name`, so a filtered page is an index range read in name order (keyset paging).
    """

    __tablename__ = "clusters"
    name: Mapped[str] = mapped_column(String(253), primary_key=True)
    spoke: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(64))
    declared: Mapped[bool] = mapped_column(Boolean, default=False)
    declared_spoke: Mapped[str] = mapped_column(String(64), default="")
    desired: Mapped[str] = mapped_column(Text, default="{}")  # JSON: the declared version and pools
    state: Mapped[str] = mapped_column(String(16))  # razee.wire.CLUSTER_STATES
    version: Mapped[str] = mapped_column(String(32), default="")  # the master's observed version, else desired
    revision: Mapped[str] = mapped_column(String(64), default="")
    synced: Mapped[int] = mapped_column(Integer, default=0)
    drifted: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    workers_desired: Mapped[int] = mapped_column(Integer, default=0)
    workers_observed: Mapped[int] = mapped_column(Integer, default=0)
    pending: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str] = mapped_column(Text, default="{}")  # JSON: the reported cluster (pools, outOfSync)
    digest: Mapped[str] = mapped_column(String(64), default="")  # of the reported part; "" never reported
    changed: Mapped[float | None] = mapped_column(Float, nullable=True)  # the hub's clock, last reported change
    __table_args__ = (
        Index("clusters_region_name", "region", "name"),
        Index("clusters_spoke_name", "spoke", "name"),
        Index("clusters_version_name", "version", "name"),
        Index("clusters_state_name", "state", "name"),
    )


class ClusterChange(Base):
    """A change of a customer cluster as its reports showed it, with the revision its spoke ran (bounded per
    cluster: the newest CLUSTER_CHANGES_KEPT stay)."""

    __tablename__ = "cluster_changes"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cluster: Mapped[str] = mapped_column(String(253))
    at: Mapped[float] = mapped_column(Float)  # the hub's clock
    spoke: Mapped[str] = mapped_column(String(64))
    revision: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(String(16))
    what: Mapped[str] = mapped_column(Text)
    __table_args__ = (Index("cluster_changes_cluster_seq", "cluster", "seq"),)


class SourceState(Base):
    """Each expanded source a spoke's latest report carries, per customer cluster ("" for the spoke's own)."""

    __tablename__ = "sources"
    spoke: Mapped[str] = mapped_column(String(64), primary_key=True)
    cluster: Mapped[str] = mapped_column(String(253), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(253), primary_key=True)
    region: Mapped[str] = mapped_column(String(64))
    chart: Mapped[str] = mapped_column(String(253), default="")
    version: Mapped[str] = mapped_column(String(253), default="")
    digest: Mapped[str] = mapped_column(String(200), default="")
    __table_args__ = (Index("sources_chart_version", "chart", "version"), Index("sources_cluster", "cluster"))
