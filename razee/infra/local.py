"""The `local` provider: a SIMULATED cloud in a SQLite file, the embedded default for demos and tests.

It provisions nothing real. Workers pass through provisioning -> deploying -> normal over `delay` seconds per
stage, computed from timestamps when observed, so provisioning continues while razee is not running. Failure
injection makes a share of requests fail before doing anything (`fail_rate`) or after doing it with the answer
lost (`lost_rate`), and a share of new workers end up critical (`critical_rate`). Requests are idempotent by
client token, so a retried or crashed apply never orders twice.

Settings, from the command (`--infra-db`, else `<--state-dir>/local-cloud.sqlite`; the environment as
RAZEE_LOCAL_CLOUD_<NAME>, read by the CLI), which win over `providers.local` in the fleet repo: DB (the SQLite
file), DELAY (seconds per provisioning stage, default 2), LATENCY (seconds per request, default 0), FAIL_RATE,
LOST_RATE, CRITICAL_RATE (shares between 0 and 1), SEED (for repeatable failure injection). Nothing here reads the
environment: the CLI passes what it found.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from razee.errors import UsageError
from razee.infra.changes import InfraAction, InfraChange
from razee.infra.model import ActualCluster, Worker, WorkerState
from razee.infra.provider import Provider, ProviderContext, ProviderError, ProviderPlugin, TransientProviderError

SCHEMA = """
CREATE TABLE IF NOT EXISTS clusters (name TEXT PRIMARY KEY, owner TEXT NOT NULL, version TEXT NOT NULL,
  created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS workers (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL,
  cluster TEXT NOT NULL, pool TEXT NOT NULL, zone TEXT NOT NULL, flavor TEXT NOT NULL, encrypted INTEGER NOT NULL,
  version TEXT NOT NULL, created_at REAL NOT NULL, doomed INTEGER NOT NULL DEFAULT 0,
  upgrade_at REAL, target_version TEXT, deleting_at REAL);
CREATE INDEX IF NOT EXISTS workers_cluster ON workers(cluster);
CREATE TABLE IF NOT EXISTS requests (token TEXT PRIMARY KEY, result TEXT NOT NULL, at REAL NOT NULL);
"""


def _setting(settings: Mapping[str, str], name: str, default: str) -> str:
    return settings.get(name) or default


def _rate(settings: Mapping[str, str], name: str) -> float:
    raw = _setting(settings, name, "0")
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"local provider: {name} must be a number between 0 and 1, not {raw!r}") from None
    if not 0 <= value <= 1:
        raise UsageError(f"local provider: {name} must be between 0 and 1, not {value}")
    return value


class LocalCloud:
    name = "local"

    def __init__(self, settings: Mapping[str, str]) -> None:
        if not settings.get("db"):
            raise UsageError("local provider: no state file (db) given; razee passes --infra-db or --state-dir")
        path = Path(settings["db"])
        try:
            self.delay = float(_setting(settings, "delay", "2"))
        except ValueError:
            raise UsageError("local provider: delay must be a number of seconds") from None
        try:
            self.latency = float(_setting(settings, "latency", "0"))
        except ValueError:
            raise UsageError("local provider: latency must be a number of seconds") from None
        self.fail_rate = _rate(settings, "fail_rate")
        self.lost_rate = _rate(settings, "lost_rate")
        self.critical_rate = _rate(settings, "critical_rate")
        seed = _setting(settings, "seed", "")
        self.rng = random.Random(int(seed)) if seed else random.Random()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        # the tables first, in one transaction: whoever opens a new file sees all of them or an empty file
        self.db.executescript("BEGIN IMMEDIATE;\n" + SCHEMA + "COMMIT;\n")
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.lock = threading.Lock()

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def _state(
        self, now: float, created: float, doomed: int, upgrade_at: float | None, deleting_at: float | None
    ) -> WorkerState | None:
        if deleting_at is not None:
            return None if now >= deleting_at + self.delay else WorkerState.DELETING
        if upgrade_at is not None and now < upgrade_at + self.delay:
            return WorkerState.UPGRADING
        age = now - created
        if age < self.delay:
            return WorkerState.PROVISIONING
        if age < 2 * self.delay:
            return WorkerState.DEPLOYING
        return WorkerState.CRITICAL if doomed else WorkerState.NORMAL

    def observe(self, clusters: list[str], owner: str) -> list[ActualCluster]:
        now = time.time()
        with self._tx() as db:
            names = set(clusters) | {r[0] for r in db.execute("SELECT name FROM clusters WHERE owner = ?", (owner,))}
            out: list[ActualCluster] = []
            for name in sorted(names):
                row = db.execute("SELECT owner, version FROM clusters WHERE name = ?", (name,)).fetchone()
                if row is None:
                    continue
                workers: list[Worker] = []
                rows = db.execute(
                    "SELECT id, pool, zone, flavor, encrypted, version, created_at, doomed, upgrade_at,"
                    " target_version, deleting_at FROM workers WHERE cluster = ? ORDER BY seq",
                    (name,),
                )
                for wid, pool, zone, flavor, enc, version, created, doomed, upg, target, deleting in rows.fetchall():
                    state = self._state(now, created, doomed, upg, deleting)
                    if state is None:
                        db.execute("DELETE FROM workers WHERE id = ?", (wid,))
                        continue
                    if upg is not None and state != WorkerState.UPGRADING:
                        db.execute(
                            "UPDATE workers SET version = target_version, upgrade_at = NULL, "
                            "target_version = NULL WHERE id = ?",
                            (wid,),
                        )
                        version = target
                    workers.append(Worker(wid, pool, zone, flavor, bool(enc), version, state))
                out.append(ActualCluster(name, row[0], row[1], "normal", tuple(workers)))
            return out

    def apply(self, change: InfraChange, owner: str) -> str:
        if self.latency:
            time.sleep(self.latency)  # a cloud API answers in tens of milliseconds, not microseconds
        if self.fail_rate and self.rng.random() < self.fail_rate:
            raise TransientProviderError(
                f"local provider: injected failure for {change.action.value} ({change.cluster})"
            )
        with self._tx() as db:
            done = db.execute("SELECT result FROM requests WHERE token = ?", (change.token,)).fetchone()
            if done is not None:
                return str(done[0])
            result = self._do(db, change, owner, time.time())
            db.execute("INSERT INTO requests (token, result, at) VALUES (?, ?, ?)", (change.token, result, time.time()))
        if self.lost_rate and self.rng.random() < self.lost_rate:
            raise TransientProviderError(
                f"local provider: injected lost response for {change.action.value} "
                f"({change.cluster}); the request was carried out"
            )
        return result

    def _do(self, db: sqlite3.Connection, c: InfraChange, owner: str, now: float) -> str:
        row = db.execute("SELECT owner FROM clusters WHERE name = ?", (c.cluster,)).fetchone()
        if row is not None and row[0] != owner:
            raise ProviderError(f"cluster {c.cluster} belongs to {row[0]}, not {owner}")
        if c.action == InfraAction.CREATE_CLUSTER:
            if row is None:
                db.execute(
                    "INSERT INTO clusters (name, owner, version, created_at) VALUES (?, ?, ?, ?)",
                    (c.cluster, owner, c.version, now),
                )
            return c.cluster
        if row is None:
            raise ProviderError(f"cluster {c.cluster} does not exist")
        if c.action == InfraAction.DELETE_CLUSTER:
            db.execute("DELETE FROM workers WHERE cluster = ?", (c.cluster,))
            db.execute("DELETE FROM clusters WHERE name = ?", (c.cluster,))
            return c.cluster
        if c.action == InfraAction.UPGRADE_MASTER:
            db.execute("UPDATE clusters SET version = ? WHERE name = ?", (c.version, c.cluster))
            return c.cluster
        if c.action == InfraAction.CREATE_WORKER:
            cur = db.execute(
                "INSERT INTO workers (id, cluster, pool, zone, flavor, encrypted, version, created_at, "
                "doomed) VALUES ('pending', ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    c.cluster,
                    c.pool,
                    c.zone,
                    c.flavor,
                    int(bool(c.encrypted)),
                    c.version,
                    now,
                    int(self.critical_rate > 0 and self.rng.random() < self.critical_rate),
                ),
            )
            wid = f"kube-{c.cluster}-{c.pool}-{cur.lastrowid:06d}"
            db.execute("UPDATE workers SET id = ? WHERE seq = ?", (wid, cur.lastrowid))
            return wid
        exists = db.execute("SELECT 1 FROM workers WHERE id = ? AND cluster = ?", (c.worker, c.cluster)).fetchone()
        if exists is None:
            if c.action == InfraAction.DELETE_WORKER:
                return str(c.worker)  # already gone: deleting is idempotent
            raise ProviderError(f"worker {c.worker} of {c.cluster} does not exist")
        if c.action == InfraAction.DELETE_WORKER:
            db.execute("UPDATE workers SET deleting_at = COALESCE(deleting_at, ?) WHERE id = ?", (now, c.worker))
        elif c.action == InfraAction.UPGRADE_WORKER:
            db.execute("UPDATE workers SET upgrade_at = ?, target_version = ? WHERE id = ?", (now, c.version, c.worker))
        return str(c.worker)


class LocalSettings(BaseModel):
    """`providers.local` in the fleet repo; what the command passes (options, RAZEE_LOCAL_CLOUD_<NAME>) wins."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)

    db: str | None = Field(None, description="SQLite file of the simulated cloud (--infra-db overrides it)")
    delay: float | None = Field(None, ge=0, description="seconds per provisioning stage (default 2)")
    latency: float | None = Field(None, ge=0, description="seconds per request (default 0)")
    fail_rate: float | None = Field(None, ge=0, le=1, description="share of requests that fail before doing anything")
    lost_rate: float | None = Field(None, ge=0, le=1, description="share of requests done whose answer is lost")
    critical_rate: float | None = Field(None, ge=0, le=1, description="share of new workers that end up critical")
    seed: int | None = Field(None, description="makes the failure injection repeatable")


def _open(context: ProviderContext) -> Provider:
    assert isinstance(context.settings, LocalSettings)
    settings = {k: str(v) for k, v in context.settings.model_dump().items() if v is not None}
    settings.update({k: v for k, v in context.runtime.items() if v})
    return LocalCloud(settings)


PLUGIN = ProviderPlugin(
    "local", "a SIMULATED cloud in a SQLite file, for demos and tests (provisions nothing real)", LocalSettings, _open
)
