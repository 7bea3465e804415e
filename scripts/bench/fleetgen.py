"""Generate a fleet repo the size of the real one (6 regions, 60 spokes, 15,000 clusters) for benchmarks.

The fleet file and templates are copied from a source repo (default: the built-in example fleet), so the
benchmark renders the real templates; only the region files are generated.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import yaml

REGION_ZONES = {
    "us-south": ["dal10", "dal12", "dal13"],
    "us-east": ["wdc04", "wdc06", "wdc07"],
    "eu-de": ["fra02", "fra04", "fra05"],
    "eu-gb": ["lon04", "lon05", "lon06"],
    "jp-tok": ["tok02", "tok04", "tok05"],
    "au-syd": ["syd01", "syd04", "syd05"],
}
FLAVORS = ["b3c.4x16", "u3c.2x4", "m3c.8x64", "c3c.16x32"]


def generate(
    dest: Path, source: Path, spokes_per_region: int = 10, clusters_per_spoke: int = 250, seed: int = 7
) -> Path:
    rng = random.Random(seed)
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(source / "templates", dest / "templates")
    for folder in ("charts", "kustomize"):  # the charts and kustomizations the templates' sources read
        if (source / folder).is_dir():
            shutil.copytree(source / folder, dest / folder)
    (dest / "environments" / "regions").mkdir(parents=True)
    fleet = yaml.safe_load((source / "environments" / "fleet.yaml").read_text())
    (dest / "environments" / "fleet.yaml").write_text(yaml.safe_dump(fleet, sort_keys=False))
    waves = [w["name"] for w in fleet["rollout"]["waves"]]
    for region, zones in REGION_ZONES.items():
        spokes = [
            {
                "name": f"{region}-spoke-{i + 1}",
                "wave": waves[0] if i == 0 else waves[-1],
                "capacity": clusters_per_spoke,
            }
            for i in range(spokes_per_region)
        ]
        clusters = []
        for i in range(spokes_per_region * clusters_per_spoke):
            pool_zones = sorted(rng.sample(zones, rng.choice([1, 3])))
            pools = [
                {
                    "name": "default",
                    "flavor": rng.choice(FLAVORS),
                    "sizePerZone": rng.randint(1, 3),
                    "zones": pool_zones,
                }
            ]
            if rng.random() < 0.2:
                pools.append({"name": "edge", "flavor": rng.choice(FLAVORS), "sizePerZone": 1, "zones": zones[:1]})
            cluster: dict[str, object] = {"name": f"{region}-c{i:05d}", "workerPools": pools}
            if rng.random() < 0.1:
                cluster["kubeVersion"] = "1.19.8"
            clusters.append(cluster)
        doc = {"name": region, "zones": zones, "spokes": spokes, "clusters": clusters}
        (dest / "environments" / "regions" / f"{region}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return dest
