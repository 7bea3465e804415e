"""The short fleet soak (scripts/soak --short, issue 28) as a test: all 12 spokes of the example fleet, each on its
own kube-apiserver with kwok and its own `razee agent` process, a hub on PostgreSQL following the fleet repo, and a
series of commits (restarts mid-rollout, a region's values, a refused commit, a failed canary check rolled back,
kubectl drift). The script checks each commit against the clusters and the hub; this test asserts what it found:
every commit ended as expected on every spoke, and every report an agent delivered is stored by the hub.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

SOAK_TIMEOUT = 1800  # generous: the short form takes 5 to 8 minutes on a busy 2-core machine


@pytest.mark.kube
@pytest.mark.timeout(SOAK_TIMEOUT + 120)
def test_short_soak_converges_everywhere_and_loses_nothing(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "soak"),
            "--short",
            "--json",
            str(out),
            "--home",
            str(tmp_path / "soak"),
        ],
        capture_output=True,
        text=True,
        timeout=SOAK_TIMEOUT,
    )
    print(proc.stdout[-6000:])
    assert proc.returncode == 0, proc.stderr[-4000:] + proc.stdout[-3000:]
    doc = json.loads(out.read_text())
    assert doc["ok"] and doc["spokes"] == 12, doc["problems"]
    fates = [(c["step"], c["expect"], c["outcome"]) for c in doc["commits"]]
    assert all(expect == outcome for _, expect, outcome in fates), fates
    assert {"applied", "refused", "rolled-back"} <= {outcome for _, _, outcome in fates}
    assert all(c["seconds"] is not None for c in doc["commits"])
    total = doc["reports"]["total"]
    assert total["delivered"] == total["stored"] > 0 and total["refusedByHub"] == 0, total
    assert doc["idle"]["hubCpuPercent"] is not None and doc["idle"]["agentCpuPercent"]["max"] is not None
