"""Issue 24, case 3, against a real `razee hub serve` on SQLite and PostgreSQL: one token flooding the hub with
large reports is capped (429 with Retry-After), and another spoke's reports are stored while the flood runs; every
acknowledged report is stored, and readers never see a half-written set of a spoke's objects."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from razee.hub.schema import ObjectState, Report, SpokeState
from razee.hub.store import Store, engine_for
from tests.helpers.hubprocs import HubProcess

FLOOD_OBJECTS = 10_000
FLOOD_CLIENTS = 6
FLOOD_EACH = 3


def flood_report(n: int) -> dict[str, Any]:
    path = f"/data/v{n % 2}"  # every object changes between consecutive reports
    return {
        "schema": 1,
        "id": str(uuid.uuid4()),
        "time": time.time(),
        "spoke": "flood",
        "region": "eu-de",
        "agent": "flood-0",
        "result": "drifted",
        "source": {"revision": "rev-1"},
        "objects": [
            {"group": "", "kind": "ConfigMap", "namespace": "n", "name": f"c{i}", "status": "drifted", "paths": [path]}
            for i in range(FLOOD_OBJECTS)
        ],
        "counts": {"drifted": FLOOD_OBJECTS},
    }


def small_report(spoke: str) -> dict[str, Any]:
    return {
        "schema": 1,
        "id": str(uuid.uuid4()),
        "time": time.time(),
        "spoke": spoke,
        "region": "us-south",
        "agent": f"{spoke}-0",
        "result": "drifted",
        "source": {"revision": "rev-1"},
        "objects": [
            {
                "group": "apps",
                "kind": "Deployment",
                "namespace": "ns",
                "name": "api",
                "status": "drifted",
                "paths": ["/spec/replicas"],
            }
        ],
        "counts": {"synced": 10, "drifted": 1},
    }


@pytest.fixture
def hub(hub_db: str) -> Iterator[HubProcess]:
    h = HubProcess(hub_db)
    yield h
    h.close()


def test_case3_one_tokens_flood_is_capped_and_another_spokes_reports_are_stored(hub: HubProcess) -> None:
    flood_token, other_token = hub.token("agent", "flood"), hub.token("agent", "quiet")
    reader = hub.token("reader")
    lock = threading.Lock()
    acked: list[str] = []
    refusals: list[str | None] = []  # each 429's Retry-After header
    unexpected: list[str] = []
    done = threading.Event()

    def flood(client: int) -> None:
        with httpx.Client(timeout=300, headers={"Authorization": f"Bearer {flood_token}"}) as http:
            for n in range(FLOOD_EACH):
                body = flood_report(client + n)
                while True:  # as an agent does: retried after Retry-After until the hub takes it
                    r = http.post(hub.url + "/api/v1/reports", json=body)
                    if r.status_code != 429:
                        break
                    with lock:
                        refusals.append(r.headers.get("retry-after"))
                    time.sleep(float(r.headers.get("retry-after") or 1))
                with lock:
                    (acked if r.status_code == 201 else unexpected).append(
                        body["id"] if r.status_code == 201 else f"flood {r.status_code}"
                    )

    engine = engine_for(hub.db)
    store = Store(engine)
    mixes: list[dict[str, int]] = []

    def watch_rows() -> None:
        """A reader during the flood: the flood spoke's rows are all of one report or all of another."""
        while not done.is_set():
            with store.session() as s:
                groups = dict(
                    s.execute(
                        select(ObjectState.paths, func.count())
                        .where(ObjectState.spoke == "flood")
                        .group_by(ObjectState.paths)
                    ).all()
                )
            if len(groups) > 1 or (groups and sum(groups.values()) != FLOOD_OBJECTS):
                mixes.append(groups)
            time.sleep(0.05)

    floods = [threading.Thread(target=flood, args=(c,)) for c in range(FLOOD_CLIENTS)]
    reader_thread = threading.Thread(target=watch_rows)
    for t in [*floods, reader_thread]:
        t.start()
    quiet_ids: list[str] = []
    try:
        with httpx.Client(timeout=120, headers={"Authorization": f"Bearer {other_token}"}) as http:
            while any(t.is_alive() for t in floods) or len(quiet_ids) < 5:
                body = small_report("quiet")
                r = http.post(hub.url + "/api/v1/reports", json=body)
                assert r.status_code == 201, r.text  # never capped by the other token's flood
                quiet_ids.append(body["id"])
                time.sleep(0.2)
    finally:
        for t in floods:
            t.join(timeout=600)
        done.set()
        reader_thread.join(timeout=60)

    assert not unexpected
    assert refusals, "six reports at once from one token were all taken: nothing capped them"
    assert all(v is not None and v.isdigit() and int(v) >= 1 for v in refusals), refusals
    assert len(acked) == FLOOD_CLIENTS * FLOOD_EACH  # every report eventually stored
    assert not mixes, f"a reader saw a half-written set of rows: {mixes[:3]}"
    with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {reader}"}) as http:
        stored = {
            i["id"] for i in http.get(hub.url + "/api/v1/spokes/flood/history", params={"limit": 1000}).json()["items"]
        }
        quiet = {
            i["id"] for i in http.get(hub.url + "/api/v1/spokes/quiet/history", params={"limit": 1000}).json()["items"]
        }
    assert set(acked) <= stored
    assert set(quiet_ids) <= quiet and len(quiet_ids) >= 5
    with store.session() as s:  # the rows are exactly the latest report's objects
        latest = s.get(SpokeState, "flood")
        assert latest is not None
        rows = s.execute(
            select(ObjectState.paths, func.count()).where(ObjectState.spoke == "flood").group_by(ObjectState.paths)
        ).all()
    with store.session() as s:
        report = s.get(Report, latest.report_id)
        assert report is not None
        expected = json.loads(report.body)["objects"][0]["paths"]
    assert [tuple(row) for row in rows] == [(json.dumps(expected), FLOOD_OBJECTS)]
    engine.dispose()


def test_case3_only_what_changed_is_written_and_the_rows_match_the_latest_report(hub: HubProcess) -> None:
    token, reader = hub.token("agent", "partial"), hub.token("reader")

    def report(objects: list[tuple[str, str, str]]) -> dict[str, Any]:
        return {
            **small_report("partial"),
            "objects": [
                {"group": "", "kind": "ConfigMap", "namespace": "n", "name": name, "status": status, "paths": [path]}
                for name, status, path in objects
            ],
        }

    first = [(f"c{i}", "drifted", "/a") for i in range(100)]
    # 10 change their paths, 5 their status, 5 are gone, 20 are in sync again, 5 are new
    second = (
        [(f"c{i}", "drifted", "/b") for i in range(10)]
        + [(f"c{i}", "failed", "/a") for i in range(10, 15)]
        + [(f"c{i}", "synced", "/a") for i in range(20, 40)]
        + [(f"c{i}", "drifted", "/a") for i in range(40, 100)]
        + [(f"new{i}", "missing", "/") for i in range(5)]
    )
    with httpx.Client(timeout=60) as http:
        for objects in (first, second):
            r = http.post(
                hub.url + "/api/v1/reports", json=report(objects), headers={"Authorization": f"Bearer {token}"}
            )
            assert r.status_code == 201, r.text
        got: set[tuple[str, str, str]] = set()
        for status_view in ("/api/v1/drift", "/api/v1/failures"):
            items = http.get(
                hub.url + status_view,
                params={"spoke": "partial", "limit": 1000},
                headers={"Authorization": f"Bearer {reader}"},
            ).json()["items"]
            got |= {(o["name"], o["status"], o["paths"][0]) for o in items}
    assert got == {o for o in second if o[1] != "synced"}


def test_case3_rows_compared_before_another_report_came_first_are_compared_again(hub_db: str) -> None:
    """The comparison happens outside the writer lock: a report of the same spoke stored in between (another
    replica, or the token's second slot) must not leave rows of neither report."""
    from razee.hub import objectrows
    from razee.hub.migrate import upgrade
    from razee.hub.model import ReportIn

    engine = engine_for(hub_db)
    upgrade(engine)
    store = Store(engine)

    def made(names: list[str], path: str) -> ReportIn:
        body = {
            **small_report("race"),
            "objects": [
                {"group": "", "kind": "ConfigMap", "namespace": "n", "name": n, "status": "drifted", "paths": [path]}
                for n in names
            ],
        }
        return ReportIn.model_validate(body)

    first, late, between = made(["a", "b", "c"], "/1"), made(["a", "b", "d"], "/2"), made(["c", "e"], "/3")
    assert store.ingest(first, "{}")
    with store.session() as s:
        planned = objectrows.plan(s, late)  # compared with `first`'s rows
    assert store.ingest(between, "{}")  # ... and then another report is stored first
    with store.session() as s:
        objectrows.write(s, "race", planned, between.id)
    with store.session() as s:
        rows = s.execute(select(ObjectState.name, ObjectState.paths).where(ObjectState.spoke == "race")).all()
    assert sorted(tuple(r) for r in rows) == [("a", '["/2"]'), ("b", '["/2"]'), ("d", '["/2"]')]
    engine.dispose()
