"""The OCI image from `scripts/build-image`, unpacked and run as a container runtime would run it.

The archive is unpacked with umoci into a runtime bundle (rootfs + the runtime config umoci derives from the image
config), and its process runs with that config's user, environment and working directory inside the rootfs, in new
mount and PID namespaces (unshare; no container engine runs here). The build is cached outside the repo, so only
the first run on a machine pays for it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import tarfile
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


@dataclass
class Bundle:
    layout: Path
    rootfs: Path
    image_config: dict[str, Any]
    manifest: dict[str, Any]
    process: dict[str, Any]

    def command(self, *args: str, entrypoint: list[str] | None = None) -> list[str]:
        """The runtime's command line for ARGS, as the image's user, in its rootfs, with only its environment."""
        user = self.process["user"]
        return [
            "unshare",
            "--fork",
            "--pid",
            "--mount-proc",
            "--kill-child=SIGTERM",
            f"--root={self.rootfs}",
            f"--wd={self.process['cwd']}",
            f"--setuid={user['uid']}",
            f"--setgid={user['gid']}",
            "/usr/bin/env",
            "-i",
            *self.process["env"],
            *(entrypoint if entrypoint is not None else self.image_config["config"]["Entrypoint"]),
            *args,
        ]

    def run(self, *args: str, entrypoint: list[str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(*args, entrypoint=entrypoint), capture_output=True, text=True, timeout=300)


def _blob(layout: Path, digest: str) -> dict[str, Any]:
    algo, _, hexdigest = digest.partition(":")
    data: dict[str, Any] = json.loads((layout / "blobs" / algo / hexdigest).read_text())
    return data


@pytest.fixture(scope="module")
def image_archive() -> str:
    proc = subprocess.run(["bash", str(REPO / "scripts" / "build-image")], capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, f"scripts/build-image failed:\n{proc.stderr[-4000:]}"
    path = proc.stdout.strip().splitlines()[-1]
    assert path.endswith(".oci.tar") and Path(path).is_file(), path
    return path


@pytest.fixture(scope="module")
def bundle(image_archive: str, tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    if os.geteuid() != 0:
        pytest.fail("running the image's rootfs needs root (unshare --root, namespaces); run the tests as root")
    base = tmp_path_factory.mktemp("image")
    layout = base / "layout"
    with tarfile.open(image_archive) as tar:
        tar.extractall(layout, filter="tar")
    index = json.loads((layout / "index.json").read_text())
    [entry] = index["manifests"]
    tag = entry["annotations"]["org.opencontainers.image.ref.name"]
    manifest = _blob(layout, entry["digest"])
    image_config = _blob(layout, manifest["config"]["digest"])
    proc = subprocess.run(
        ["umoci", "unpack", "--image", f"{layout}:{tag}", str(base / "bundle")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    process = json.loads((base / "bundle" / "config.json").read_text())["process"]
    return Bundle(layout, base / "bundle" / "rootfs", image_config, manifest, process)


def test_image_metadata_names_version_revision_and_a_non_root_user(bundle: Bundle) -> None:
    config = bundle.image_config["config"]
    labels = config["Labels"]
    assert labels["org.opencontainers.image.version"] == VERSION
    revision = labels["org.opencontainers.image.revision"]
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", revision), revision
    commit = revision.removesuffix("-dirty")
    assert subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", f"{commit}^{{commit}}"]).returncode == 0
    assert bundle.manifest["annotations"]["org.opencontainers.image.revision"] == revision
    uid, _, gid = config["User"].partition(":")
    assert int(uid) != 0 and int(gid) != 0
    assert bundle.process["user"]["uid"] == int(uid)
    assert Path(config["Entrypoint"][0]).name == "razee"
    assert bundle.image_config["os"] == "linux"


def test_razee_version_runs_as_the_image_user(bundle: Bundle) -> None:
    proc = bundle.run("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"razee, version {VERSION}"
    who = bundle.run("-u", entrypoint=["/usr/bin/id"])
    assert who.returncode == 0, who.stderr
    assert who.stdout.strip() == str(bundle.process["user"]["uid"])


def test_agent_help_and_the_tools_the_agent_needs(bundle: Bundle) -> None:
    proc = bundle.run("agent", "--help")
    assert proc.returncode == 0, proc.stderr
    for option in ("--spoke", "--repo", "--hub", "--hub-token-file", "--state-dir"):
        assert option in proc.stdout
    # the agent fetches with git (HTTPS with the system CA bundle, or SSH)
    for tool in (["/usr/bin/git", "--version"], ["/usr/bin/ssh", "-V"]):
        found = bundle.run(entrypoint=tool)
        assert found.returncode == 0, f"{tool[0]}: {found.stderr}"
    assert (bundle.rootfs / "etc/ssl/certs/ca-certificates.crt").stat().st_size > 0


def test_helm_and_kustomize_run_inside_the_image(bundle: Bundle) -> None:
    """Chart and overlay sources are expanded by the field's own tools, so the image carries them, at the versions
    scripts/versions names."""
    from tests.helpers.versions import tool_versions

    v = tool_versions()
    helm = bundle.run("version", "--short", entrypoint=["/usr/local/bin/helm"])
    assert helm.returncode == 0, helm.stderr
    assert helm.stdout.strip().startswith(f"v{v['HELM_VERSION']}")
    kustomize = bundle.run("version", entrypoint=["/usr/local/bin/kustomize"])
    assert kustomize.returncode == 0, kustomize.stderr
    assert kustomize.stdout.strip() == f"v{v['KUSTOMIZE_VERSION']}"


def test_init_writes_a_fleet_repo_that_validates(bundle: Bundle) -> None:
    """The scaffold ships in the wheel (the agent's template included), and the image's user can write state."""
    made = bundle.run("init", "/var/lib/razee/fleet", "--spoke", "img-spoke", "--hub", "http://hub.example:8080")
    assert made.returncode == 0, made.stderr
    check = bundle.run("validate", "--repo", "/var/lib/razee/fleet")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "1 spokes" in check.stdout
    template = bundle.rootfs / "var/lib/razee/fleet/templates/spoke/razee-agent.yaml.j2"
    assert template.read_text() == (REPO / "templates/spoke/razee-agent.yaml.j2").read_text()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the containerised process, as a runtime stops a container (unshare itself ignores SIGTERM)."""
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    for pid in children.read_text().split() if children.exists() else []:
        os.kill(int(pid), signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


@pytest.fixture
def serve_hub(bundle: Bundle) -> Iterator[Any]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(db: str) -> str:
        port = _free_port()
        proc = subprocess.Popen(
            bundle.command("hub", "serve", "--db", db, "--listen", f"127.0.0.1:{port}"),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"the image's hub exited {proc.returncode}: {proc.stdout.read().decode()[-3000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    return url
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        pytest.fail("the image's hub did not answer /healthz within 180 s")

    yield start
    for proc in procs:
        _stop(proc)


def test_hub_serves_on_sqlite_in_the_state_volume(bundle: Bundle, serve_hub: Any) -> None:
    volume = bundle.image_config["config"]["Volumes"]
    assert "/var/lib/razee" in volume
    url = serve_hub("sqlite:////var/lib/razee/hub.sqlite")
    assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{url}/api/v1/summary").status_code == 401  # the image's hub demands a token too
    assert (bundle.rootfs / "var/lib/razee/hub.sqlite").stat().st_uid == bundle.process["user"]["uid"]


def test_hub_serves_on_postgresql(bundle: Bundle, serve_hub: Any, postgres: Any) -> None:
    url = serve_hub(postgres.create_database("imagehub"))
    assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
    spec = httpx.get(f"{url}/api/v1/openapi.json").json()
    assert spec["info"]["version"] == VERSION
