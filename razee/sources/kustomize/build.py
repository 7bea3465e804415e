"""Running `kustomize build` on a checked kustomization and reading back each object with the file it came from.

kustomize tells where each object came from only when the top kustomization asks for `buildMetadata:
[originAnnotations]`, and razee never writes to the fleet tree. So the build runs on a one-line wrapper
kustomization in a temporary folder that names the fleet's kustomization as its only resource and carries the top
kustomization's own `buildMetadata`, `sortOptions` and `openapi` (kustomize reads those from the top file only; the
wrapper adds nothing else, so its output is the fleet kustomization's output). The origin annotation is taken off
each object afterwards: what reaches a cluster is what `kustomize build` prints for the fleet's kustomization.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from razee.errors import InputError
from razee.sources.kustomize.kustbin import kustomize_env, kustomize_path
from razee.sources.kustomize.walk import Fail, Tree
from razee.yamlsrc import load_manifests

BUILD_TIMEOUT_S = 300.0
"""One `kustomize build`: a large overlay builds in a second; a busy 2-core machine may take many times that."""

ORIGIN = "config.kubernetes.io/origin"
TRANSFORMATIONS = "alpha.config.kubernetes.io/transformations"
"""Written when the top kustomization asks for `buildMetadata: [transformerAnnotations]`: paths in it are
rewritten from the wrapper's folder to the fleet kustomization's, as the CLI on that folder writes them."""
_PATH_LINE = re.compile(r"^(\s*(?:- )?(?:configuredIn|path): )(.+)$", re.M)
ORIGIN_OPTION = "originAnnotations"
TOP_ONLY = ("sortOptions",)
"""Fields kustomize reads from the top kustomization only, so the wrapper carries them over."""

Objects = list[tuple[dict[str, Any], str | None]]


@dataclass
class Built:
    objects: Objects
    warnings: list[str]


def build(tree: Tree, fail: Fail) -> Built:
    """The kustomization's objects, each with its file in the fleet repo; raises `fail` with kustomize's message."""
    with tempfile.TemporaryDirectory(prefix="razee-kustomize-") as tmp:
        base = Path(tmp).resolve()
        (base / "home").mkdir()
        wrapper = base / "build"
        wrapper.mkdir()
        _write_wrapper(tree, wrapper)
        args = [kustomize_path(), "build", str(wrapper), "--load-restrictor", "LoadRestrictionsRootOnly"]
        try:
            proc = subprocess.run(
                args,
                env=kustomize_env(base / "home"),
                cwd=base,
                capture_output=True,
                text=True,
                timeout=BUILD_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            raise fail(f"kustomize build {tree.rel(tree.top)} took over {BUILD_TIMEOUT_S:.0f} s") from None
        stderr = _tidy(proc.stderr, tree, wrapper)
        if proc.returncode != 0:
            message = stderr.strip().removeprefix("Error: ") or f"exit status {proc.returncode}"
            raise fail(f"kustomize build {tree.rel(tree.top)} failed: {message}")
        objects = _objects(proc.stdout, tree, wrapper, fail)
    warnings = [w.strip().removeprefix("# ") for w in stderr.splitlines() if w.strip()]
    return Built(objects, warnings)


def _write_wrapper(tree: Tree, wrapper: Path) -> None:
    top = tree.top_doc
    raw = top.get("buildMetadata")
    metadata = [m for m in raw if isinstance(m, str)] if isinstance(raw, list) else []
    kust: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(tree.top, wrapper)],
        "buildMetadata": [ORIGIN_OPTION, *(m for m in metadata if m != ORIGIN_OPTION)],
    }
    kust.update({name: top[name] for name in TOP_ONLY if name in top})
    openapi = top.get("openapi")
    if isinstance(openapi, dict):
        kust["openapi"] = dict(openapi)
        if isinstance(openapi.get("path"), str):  # checked by the walk: inside the fleet repo
            schema = (tree.top / openapi["path"]).resolve()
            if schema.is_file():
                shutil.copyfile(schema, wrapper / f"openapi{schema.suffix}")
                kust["openapi"]["path"] = f"openapi{schema.suffix}"
    (wrapper / "kustomization.yaml").write_text(json.dumps(kust))  # JSON is YAML


def _objects(stdout: str, tree: Tree, wrapper: Path, fail: Fail) -> Objects:
    try:
        docs = load_manifests(stdout, f"kustomize build {tree.rel(tree.top)}")
    except InputError as e:
        raise fail("; ".join(str(f) for f in e.findings)) from None
    fallback = tree.rel(tree.top_file)
    out: Objects = []
    for data, _line in docs:
        if not isinstance(data, dict):
            continue
        meta = data.get("metadata")
        file = None
        if isinstance(meta, dict) and isinstance(meta.get("annotations"), dict) and ORIGIN in meta["annotations"]:
            file = _origin_file(meta["annotations"].pop(ORIGIN), tree, wrapper)
            if not meta["annotations"]:
                del meta["annotations"]  # kustomize made the mapping for the origin alone
        if (
            isinstance(meta, dict)
            and isinstance(meta.get("annotations"), dict)
            and isinstance(meta["annotations"].get(TRANSFORMATIONS), str)
        ):
            meta["annotations"][TRANSFORMATIONS] = _from_top(meta["annotations"][TRANSFORMATIONS], tree, wrapper)
        out.append((data, file or fallback))
    return out


def _from_top(text: str, tree: Tree, wrapper: Path) -> str:
    def rewrite(m: re.Match[str]) -> str:
        path = os.path.normpath(wrapper / m.group(2))
        return m.group(1) + os.path.relpath(path, tree.top)

    return _PATH_LINE.sub(rewrite, text)


def _origin_file(annotation: Any, tree: Tree, wrapper: Path) -> str | None:
    """The fleet-repo path in kustomize's origin annotation (`path` for a resource, `configuredIn` for a generated
    object), which kustomize writes relative to the folder it built: here the wrapper."""
    try:
        origin = yaml.safe_load(str(annotation))
    except yaml.YAMLError:
        return None
    if not isinstance(origin, dict) or origin.get("repo"):
        return None
    rel = origin.get("path") or origin.get("configuredIn")
    if not isinstance(rel, str):
        return None
    path = Path(os.path.normpath(wrapper / rel))
    return path.relative_to(tree.root).as_posix() if path.is_relative_to(tree.root) else None


_WRAPPER_LAYER = re.compile(
    r"accumulating resources: accumulation err='accumulating resources from '[^']*': "
    r"'[^']*' must resolve to a file': recursed accumulation of path '[^']*': "
)
"""What kustomize says about the wrapper around an error inside the fleet's kustomization: not the fleet's concern."""


def _tidy(text: str, tree: Tree, wrapper: Path) -> str:
    """kustomize's messages as `kustomize build` on the fleet's kustomization gives them, with fleet-repo paths
    instead of this machine's absolute and temporary ones."""
    text = _WRAPPER_LAYER.sub("", text, count=1)
    rel_top = os.path.relpath(tree.top, wrapper)
    text = text.replace(str(wrapper) + "/" + rel_top, tree.rel(tree.top)).replace(rel_top, tree.rel(tree.top))
    return text.replace(str(tree.root) + "/", "").replace(str(wrapper), "<build>")
