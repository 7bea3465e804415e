"""Providers as plugins: found by entry point, listed by `razee providers`, with settings checked per file and line.

A third-party provider here is a real installed distribution (a module and its .dist-info with entry_points.txt
on the path of a fresh interpreter), found by importlib.metadata exactly as a pip-installed package would be.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from razee.errors import InputError, UsageError
from razee.fleet.loader import load_fleet
from razee.infra.local import LocalCloud
from razee.infra.registry import GROUP, load_plugin, open_provider, provider_names
from tests.fleetrepo import fleet_copy, region_copy, write_repo

ACME = """
from pydantic import BaseModel, Field
from razee.infra.provider import ProviderPlugin

class AcmeSettings(BaseModel):
    apiUrl: str = Field(description="where Acme's API answers")

class AcmeCloud:
    name = "acme"
    def __init__(self, context):
        self.context = context
    def observe(self, clusters, owner):
        return []
    def apply(self, change, owner):
        return "acme-1"
    def close(self):
        pass

PLUGIN = ProviderPlugin("acme", "Acme Cloud, shipped by a third party", AcmeSettings, AcmeCloud)
NOT_A_PLUGIN = object()
"""


def install_acme(site: Path, entry: str = "acme_razee:PLUGIN", name: str = "acme") -> Path:
    site.mkdir(parents=True, exist_ok=True)
    (site / "acme_razee.py").write_text(ACME)
    dist = site / "acme_razee-1.2.0.dist-info"
    dist.mkdir(exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-razee\nVersion: 1.2.0\n")
    (dist / "entry_points.txt").write_text(f"[{GROUP}]\n{name} = {entry}\n")
    return site


def run_with(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=120)


def test_builtin_providers_register_through_entry_points_like_any_plugin() -> None:
    assert {"aws", "local"} <= set(provider_names())
    assert load_plugin("local").name == "local" and load_plugin("aws").name == "aws"
    with pytest.raises(UsageError, match=r"unknown infrastructure provider 'nope'; installed: .*aws.*local"):
        load_plugin("nope")


def test_the_registry_imports_no_provider_module() -> None:
    probe = (
        "import sys, razee.infra.registry, razee.reconcile; "
        "print(sorted(m for m in sys.modules if m.startswith(('razee.infra.local', 'razee.infra.aws', 'boto'))))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_a_third_party_provider_is_found_listed_and_opened(tmp_path: Path) -> None:
    site = install_acme(tmp_path / "site")
    listed = run_with(site, "-m", "razee", "providers", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    acme = next(p for p in json.loads(listed.stdout) if p["name"] == "acme")
    assert acme["package"] == "acme-razee 1.2.0" and acme["entryPoint"] == "acme_razee:PLUGIN"
    assert acme["settings"] == [
        {"name": "apiUrl", "type": "str", "required": True, "default": None, "description": "where Acme's API answers"}
    ]
    text = run_with(site, "-m", "razee", "providers")
    assert "acme: Acme Cloud, shipped by a third party" in text.stdout
    assert "providers.acme.apiUrl  str, required: where Acme's API answers" in text.stdout
    assert "providers.aws.subnets" in text.stdout and "providers.local.delay" in text.stdout

    fleet = fleet_copy()
    fleet["provider"] = "acme"
    fleet["providers"] = {"acme": {"apiUrl": "https://acme.example"}}
    root = write_repo(tmp_path / "fleet", fleet=fleet)
    diff = run_with(site, "-m", "razee", "diff", "--repo", str(root), "--spoke", "spoke-a", "--no-kube")
    assert diff.returncode == 1, diff.stderr  # acme observes nothing, so every cluster is to be created
    assert "infrastructure (acme): 2 create-cluster, 4 create-worker" in diff.stdout


def test_a_broken_plugin_is_named_not_a_crash(tmp_path: Path) -> None:
    site = install_acme(tmp_path / "site", entry="acme_razee:NOT_A_PLUGIN")
    listed = run_with(site, "-m", "razee", "providers")
    assert listed.returncode == 0
    assert "acme: BROKEN" in listed.stdout and "not a razee.infra.provider.ProviderPlugin" in listed.stdout
    missing = install_acme(tmp_path / "site2", entry="acme_gone:PLUGIN")
    fleet = fleet_copy()
    fleet["provider"] = "acme"
    root = write_repo(tmp_path / "fleet", fleet=fleet)
    diff = run_with(missing, "-m", "razee", "diff", "--repo", str(root), "--spoke", "spoke-a", "--no-kube")
    assert diff.returncode == 2
    assert "infrastructure provider 'acme' (acme_gone:PLUGIN) failed to load: ModuleNotFoundError" in diff.stderr


def test_settings_layer_fleet_then_region_and_errors_name_file_line_and_field(tmp_path: Path) -> None:
    fleet = fleet_copy()
    fleet["providers"] = {"local": {"delay": 7, "latency": 0.5}}
    region = region_copy()
    region["providers"] = {"local": {"delay": 3, "db": str(tmp_path / "cloud.sqlite")}}
    root = write_repo(tmp_path / "fleet", fleet=fleet, regions=[region])
    loaded = load_fleet(root)
    view = loaded.find_spoke("spoke-a")
    assert view is not None
    cloud = open_provider("local", {}, loaded, view, root)
    assert isinstance(cloud, LocalCloud)
    assert (cloud.delay, cloud.latency, cloud.path) == (3.0, 0.5, tmp_path / "cloud.sqlite")  # region wins
    cloud.close()
    override = open_provider("local", {"db": str(tmp_path / "other.sqlite")}, loaded, view, root)
    assert isinstance(override, LocalCloud) and override.path == tmp_path / "other.sqlite"  # --infra-db wins
    override.close()

    fleet["providers"]["local"]["failRate"] = 2
    region["providers"]["local"]["dealy"] = 1
    write_repo(root, fleet=fleet, regions=[region])
    loaded = load_fleet(root)
    view = loaded.find_spoke("spoke-a")
    with pytest.raises(InputError) as e:
        open_provider("local", {}, loaded, view, root)
    found = {str(f) for f in e.value.findings}
    text = (root / "environments/fleet.yaml").read_text().splitlines()
    line = next(n for n, t in enumerate(text, 1) if "failRate" in t)
    assert f"environments/fleet.yaml:{line}: providers.local.failRate: Input should be less than or equal to 1" in found
    assert any(
        f.startswith("environments/regions/us-south.yaml:") and "providers.local.dealy: Extra inputs" in f
        for f in found
    ), found


def test_an_unknown_provider_in_the_fleet_repo_is_a_usage_error(tmp_path: Path) -> None:
    fleet = fleet_copy()
    fleet["provider"] = "gcp"
    root = write_repo(tmp_path / "fleet", fleet=fleet)
    diff = subprocess.run(
        [sys.executable, "-m", "razee", "diff", "--repo", str(root), "--spoke", "spoke-a", "--no-kube"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert diff.returncode == 2
    assert "unknown infrastructure provider 'gcp'" in diff.stderr and "razee.providers" in diff.stderr
    assert diff.stdout == ""
