"""Where `helm template` reads a chart from: a pulled archive kept beside the digest cache, or a chart in the fleet
repo (copied out first when its `dependencies` must be built: the fleet tree is never written to)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from razee.errors import Finding, InputError
from razee.objects import Manifest
from razee.sources.expander import ExpandContext
from razee.sources.helm.helmbin import helm_env, helm_path


@dataclass(frozen=True)
class LocalChart:
    path: Path  # a .tgz or a chart folder
    digest: str
    name: str
    version: str
    uses_lookup: bool  # a template calls `lookup`: its render depends on the live cluster


def archive_chart(data: bytes, digest: str, ctx: ExpandContext) -> LocalChart:
    """The archive as a file helm can read (written once per digest, atomically) and what its Chart.yaml says."""
    folder = ctx.cache.root / "helm-charts"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (digest.partition(":")[2] + ".tgz")
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    meta: dict[str, object] = {}
    lookup = False
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            parts = member.name.split("/")
            handle = tar.extractfile(member) if member.isfile() else None
            if handle is None:
                continue
            if len(parts) == 2 and parts[1] == "Chart.yaml":
                meta = yaml.safe_load(handle.read()) or {}
            elif "templates" in parts and b"lookup" in handle.read():
                lookup = True
    name = str(meta.get("name", ""))
    unpacked = _unpacked(data, folder / (digest.partition(":")[2] + ".d"), name)
    return LocalChart(unpacked or path, digest, name, str(meta.get("version", "")), lookup)


def _unpacked(data: bytes, dest: Path, name: str) -> Path | None:
    """The archive unpacked once per digest, for helm to read as a folder: given the .tgz, helm unpacks it again for
    every release (most of a render's cost when one chart serves 15,000 releases: scripts/bench/
    helm_fleet_preview.py). Unpacked into a scratch folder renamed into place, with tarfile's `data` filter (no
    links out, no devices, no absolute paths); None (render the .tgz) when the archive is not one chart folder."""
    chart = dest / name
    if name and (chart / "Chart.yaml").is_file():
        return chart
    scratch = Path(tempfile.mkdtemp(dir=dest.parent, prefix=".tmp-unpack-"))
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            tar.extractall(scratch, filter="data")
        if not name or not (scratch / name / "Chart.yaml").is_file():
            return None
        with contextlib.suppress(OSError):  # another render unpacked it first: theirs is the same bytes
            os.rename(scratch, dest)
        return chart if (chart / "Chart.yaml").is_file() else None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def fleet_chart(decl: Manifest, rel: str, ctx: ExpandContext) -> LocalChart:
    """A chart folder in the fleet repo, with a digest of its content (so renders of it cache like pulled ones)."""
    root = ctx.repo.resolve()
    path = (root / rel).resolve()
    if not path.is_relative_to(root) or not (path / "Chart.yaml").is_file():
        raise InputError(
            [
                Finding(
                    decl.source.location("spec.path"),
                    f"HelmChart {decl.name}: {rel} is not a chart folder in the fleet repo",
                )
            ]
        )
    h = hashlib.sha256()
    lookup = False
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        data = file.read_bytes()
        h.update(file.relative_to(path).as_posix().encode() + b"\0" + data + b"\0")
        lookup = lookup or ("templates" in file.relative_to(path).parts and b"lookup" in data)
    digest = "sha256:" + h.hexdigest()
    meta = yaml.safe_load((path / "Chart.yaml").read_text()) or {}
    chart = LocalChart(path, digest, str(meta.get("name", "")), str(meta.get("version", "")), lookup)
    if _missing_dependencies(path, meta):
        chart = LocalChart(_built_copy(decl, path, digest, ctx), digest, chart.name, chart.version, lookup)
    return chart


def _missing_dependencies(path: Path, meta: dict[str, object]) -> bool:
    deps = meta.get("dependencies") or []
    present = {p.name for p in (path / "charts").iterdir()} if (path / "charts").is_dir() else set()
    for dep in deps if isinstance(deps, list) else []:
        name = str(dep.get("name", ""))
        if name not in present and not any(p.startswith(f"{name}-") and p.endswith(".tgz") for p in present):
            return True
    return False


def _built_copy(decl: Manifest, path: Path, digest: str, ctx: ExpandContext) -> Path:
    """A copy of the chart with `helm dependency build` run in it, kept per digest."""
    work = ctx.cache.root / "helm-work" / digest.partition(":")[2]
    if work.is_dir():
        return work
    work.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=work.parent, prefix=".tmp-"))
    shutil.copytree(path, staging / "chart")
    _pin_local_dependencies(decl, path, staging / "chart", ctx)
    with tempfile.TemporaryDirectory(prefix="razee-helm-dep-") as home:
        proc = subprocess.run(
            [helm_path(), "dependency", "build", str(staging / "chart")],
            env=helm_env(Path(home)),
            capture_output=True,
            text=True,
            timeout=300,
        )
    if proc.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise InputError(
            [
                Finding(
                    decl.source.location("spec.path"),
                    f"HelmChart {decl.name}: helm dependency build failed: "
                    f"{proc.stderr.strip().removeprefix('Error: ')}",
                )
            ]
        )
    os.replace(staging / "chart", work)
    shutil.rmtree(staging, ignore_errors=True)
    return work


def _pin_local_dependencies(decl: Manifest, original: Path, copy: Path, ctx: ExpandContext) -> None:
    """`file://` dependencies are relative to the chart's place in the fleet tree: point the copy at them there
    (only inside the fleet repo; the dependency build reads them, never writes them)."""
    meta = yaml.safe_load((copy / "Chart.yaml").read_text()) or {}
    root = ctx.repo.resolve()
    changed = False
    for dep in meta.get("dependencies") or []:
        repo = str(dep.get("repository", ""))
        if repo.startswith("file://"):
            target = (original / repo.removeprefix("file://")).resolve()
            if not target.is_relative_to(root):
                raise InputError(
                    [
                        Finding(
                            decl.source.location("spec.path"),
                            f"HelmChart {decl.name}: dependency {dep.get('name')} at {repo} is outside the fleet repo",
                        )
                    ]
                )
            dep["repository"] = f"file://{target}"
            changed = True
    if changed:
        (copy / "Chart.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
