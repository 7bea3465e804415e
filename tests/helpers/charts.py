"""Charts for the HelmChart tests: the corpus in tests/data/charts, packaged; an HTTP chart repository and an OCI
registry (Debian's docker-registry, the CNCF distribution registry) served on loopback; and the ExpandContext and
declaration a test hands the expander directly."""

from __future__ import annotations

import base64
import functools
import http.server
import json
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from razee.objects import Manifest, Provenance
from razee.sources.cache import SourceCache
from razee.sources.expander import Capabilities, Credentials, ExpandContext
from tests.conftest import REPO

CHARTS = REPO / "tests" / "data" / "charts"
DECL_TEMPLATE = "templates/cluster/charts.yaml"
DECL_LINE = 7
START_DEADLINE_S = 60.0


@functools.cache
def helm_batch() -> str:
    """razee-helm-batch, built by scripts/helm-batch/build (cached per helm version and source)."""
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "helm-batch" / "build")], capture_output=True, text=True, timeout=1200
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def helm() -> str:
    found = shutil.which("helm")
    assert found, "helm is not on PATH (tests/conftest.py puts scripts/testenv path first)"
    return found


def run_helm(*args: str, home: Path) -> str:
    env = {
        "PATH": str(Path(helm()).parent) + ":/usr/bin:/bin",
        "HOME": str(home),
        "HELM_CACHE_HOME": str(home / "c"),
        "HELM_CONFIG_HOME": str(home / "g"),
        "HELM_DATA_HOME": str(home / "d"),
    }
    proc = subprocess.run([helm(), *args], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"helm {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def built_corpus(dest: Path) -> Path:
    """A copy of the corpus with its `dependencies` built (what `helm template` reads as the reference)."""
    shutil.copytree(CHARTS, dest / "charts", dirs_exist_ok=True)
    run_helm("dependency", "build", str(dest / "charts" / "corpus"), home=dest / "helmhome")
    return dest / "charts" / "corpus"


def package(chart: Path, dest: Path, version: str | None = None) -> Path:
    args = ["package", str(chart), "--destination", str(dest)]
    if version:
        args += ["--version", version]
    out = run_helm(*args, home=dest / ".helmhome")
    return Path(out.strip().rsplit(" ", 1)[-1])


def context(
    cache_root: Path,
    repo: Path = CHARTS.parent,
    kube_version: str = "v1.36.3",
    api_versions: tuple[str, ...] = (),
    kubeconfig: Path | None = None,
    credentials: dict[str, dict[str, str]] | None = None,
) -> ExpandContext:
    return ExpandContext(
        repo=repo,
        spoke="spoke-1",
        cluster="c1",
        capabilities=Capabilities(kube_version, api_versions, live=kubeconfig is not None),
        cache=SourceCache(cache_root),
        credentials=Credentials(credentials or {}),
        kubeconfig=kubeconfig,
    )


def declaration(spec: dict[str, Any], name: str = "corpus", namespace: str | None = "apps") -> Manifest:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    obj = {"apiVersion": "razee.io/v1", "kind": "HelmChart", "metadata": meta, "spec": spec}
    return Manifest(obj, Provenance(DECL_TEMPLATE, 1, DECL_LINE, cluster="c1"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ChartRepo:
    url: str
    root: Path
    archive: Path  # corpus-0.1.0.tgz as served
    username: str = "fleet"
    password: str = "s3cret"


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the repository folder; paths under /private/ need basic auth (the credential test)."""

    def do_GET(self) -> None:
        if self.path.startswith("/private/"):
            want = "Basic " + base64.b64encode(b"fleet:s3cret").decode()
            if self.headers.get("Authorization") != want:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="charts"')
                self.end_headers()
                return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def chart_repo() -> Iterator[ChartRepo]:
    """An HTTP chart repository on loopback (`helm package` + `helm repo index`, served by http.server), with the
    corpus at 0.1.0 and 0.2.0, and a copy under /private/ behind basic auth."""
    with tempfile.TemporaryDirectory(prefix="razee-chartrepo-") as tmp:
        root = Path(tmp) / "www"
        root.mkdir()
        chart = built_corpus(Path(tmp))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        for folder in (root, root / "private"):
            folder.mkdir(exist_ok=True)
            package(chart, folder)
            package(chart, folder, version="0.2.0")
            run_helm(
                "repo",
                "index",
                str(folder),
                "--url",
                url + ("/private" if folder != root else ""),
                home=Path(tmp) / "helmhome",
            )
        handler = functools.partial(_Handler, directory=str(root))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield ChartRepo(url, root, root / "corpus-0.1.0.tgz")
        finally:
            server.shutdown()
            server.server_close()


@dataclass
class Registry:
    host: str  # 127.0.0.1:PORT
    archive: Path  # the corpus archive pushed as corpus 0.1.0 under oci://HOST/charts


REGISTRY_USER = ("fleet", "s3cret")
"""The htpasswd user of the authenticated registry."""


def _bcrypt(password: str) -> str:
    """The registry's htpasswd takes bcrypt only: glibc's crypt (libxcrypt) makes it, through Python's crypt."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt

        return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))


def _serve_registry(tmp: Path, port: int, auth: bool = False) -> subprocess.Popen[bytes]:
    config = tmp / "config.yml"
    auth_conf = ""
    if auth:
        (tmp / "htpasswd").write_text(f"{REGISTRY_USER[0]}:{_bcrypt(REGISTRY_USER[1])}\n")
        auth_conf = f"auth: {{htpasswd: {{realm: razee-tests, path: {tmp / 'htpasswd'}}}}}\n"
    config.write_text(f"""version: 0.1
log: {{level: error}}
storage: {{filesystem: {{rootdirectory: {tmp / "data"}}}, delete: {{enabled: true}}}}
http: {{addr: 127.0.0.1:{port}}}
{auth_conf}""")
    proc = subprocess.Popen(
        ["/usr/bin/docker-registry", "serve", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=open(tmp / "registry.log", "wb"),  # noqa: SIM115
    )
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=2).status_code in (200, 401):
                return proc
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, (tmp / "registry.log").read_text()
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"docker-registry did not answer within {START_DEADLINE_S} s")


@pytest.fixture(scope="session")
def oci_registry() -> Iterator[Registry]:
    """Debian's docker-registry on a loopback port, filled with `helm push` (no auth)."""
    assert Path("/usr/bin/docker-registry").exists(), "docker-registry missing: run scripts/setup"
    with tempfile.TemporaryDirectory(prefix="razee-registry-") as tmp:
        port = free_port()
        proc = _serve_registry(Path(tmp), port)
        try:
            archive = package(built_corpus(Path(tmp)), Path(tmp))
            run_helm("push", str(archive), f"oci://127.0.0.1:{port}/charts", "--plain-http", home=Path(tmp) / "hh")
            yield Registry(f"127.0.0.1:{port}", archive)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


@pytest.fixture(scope="session")
def oci_registry_auth() -> Iterator[Registry]:
    """The same registry with htpasswd auth (user REGISTRY_USER), filled with `helm push --username/--password`."""
    assert Path("/usr/bin/docker-registry").exists(), "docker-registry missing: run scripts/setup"
    with tempfile.TemporaryDirectory(prefix="razee-registry-auth-") as tmp:
        port = free_port()
        proc = _serve_registry(Path(tmp), port, auth=True)
        try:
            archive = package(built_corpus(Path(tmp)), Path(tmp))
            run_helm(
                "push",
                str(archive),
                f"oci://127.0.0.1:{port}/charts",
                "--plain-http",
                "--username",
                REGISTRY_USER[0],
                "--password",
                REGISTRY_USER[1],
                home=Path(tmp) / "hh",
            )
            yield Registry(f"127.0.0.1:{port}", archive)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def reference(
    chart: Path, tmp: Path, release: str, namespace: str, values: dict[str, Any], kube: str, apis: tuple[str, ...]
) -> list[dict[str, Any]]:
    """What the official `helm template` renders for `chart` (a folder or a .tgz): the fidelity tests' reference."""
    (tmp / "values.json").write_text(json.dumps(values))
    args = [
        helm(),
        "template",
        release,
        str(chart),
        "--namespace",
        namespace,
        "--include-crds",
        "--kube-version",
        kube,
        "--values",
        str(tmp / "values.json"),
    ]
    args += [f"--api-versions={a}" for a in apis]
    proc = subprocess.run(
        args, capture_output=True, text=True, timeout=300, env={"HOME": str(tmp), "PATH": "/usr/bin:/bin"}
    )
    assert proc.returncode == 0, proc.stderr
    docs = re.split(r"^---\s*$", proc.stdout, flags=re.M)
    return [d for chunk in docs for d in yaml.safe_load_all(chunk) if d]


def ident(obj: dict[str, Any]) -> tuple[str, str]:
    return str(obj["kind"]), str(obj["metadata"]["name"])
