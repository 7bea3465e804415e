"""Every metric the hub exposes is documented, and the example alert rules use only metrics the hub exposes."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from razee.hub.journal import Journal
from razee.hub.leader import Leadership
from razee.hub.metrics import HubMetrics
from razee.hub.migrate import upgrade
from razee.hub.notify import Notifier, parse_target
from razee.hub.store import Store, engine_for
from razee.hub.watch import FleetWatch

REPO = Path(__file__).resolve().parents[2]


def exposed(tmp_path: Path) -> set[str]:
    engine = engine_for(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    upgrade(engine)
    store = Store(engine)
    store.record_revision("a" * 40, {}, {"fleet": "f", "waves": [{"name": "all"}], "spokes": []}, None)
    metrics = HubMetrics(
        FleetWatch(store), Notifier([parse_target("http://127.0.0.1:9/x")], Journal(store), Leadership(engine))
    )
    metrics.ingested.labels("applied").inc()
    metrics.rejected.labels("forbidden").inc()
    metrics.latency.labels("GET", "/healthz").observe(0.01)
    text = metrics.exposition().decode()
    engine.dispose()
    families = list(text_string_to_metric_families(text))
    return {f.name for f in families} | {s.name for f in families for s in f.samples}


def family(sample: str) -> str:
    return re.sub(r"_(total|bucket|count|sum|created)$", "", sample)


def test_documented_and_alerted_metrics_exist(tmp_path: Path) -> None:
    samples = exposed(tmp_path)
    families = {family(s) for s in samples if not s.endswith("_created")}
    assert "razee_hub_rollout_halted" in families and "razee_hub_reports_rejected" in families
    docs = (REPO / "docs" / "hub.md").read_text()
    undocumented = sorted(f for f in families if f"`{f}" not in docs)
    assert not undocumented, f"docs/hub.md does not describe {undocumented}"
    rules = yaml.safe_load((REPO / "deploy" / "alerts.yaml").read_text())
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    used = {m for e in exprs for m in re.findall(r"razee_\w+", e)}
    assert used and used <= samples, sorted(used - samples)
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    assert {"RazeeRolloutHalted", "RazeeSpokeStale", "RazeeDrift", "RazeeReportsRejected"} <= alerts
