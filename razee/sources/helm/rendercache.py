"""Rendered releases, kept by everything a render depends on (chart digest, values, release name, namespace, kube
version, API versions, the helm binary): one chart used by 250 customer clusters renders each distinct release
once. In memory for the process, and as JSON files beside the source cache (render workers are processes, and an
agent restarts: both find what another rendered); deleting the folder only costs renders."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from razee.sources.helm.helmbin import helm_path
from razee.sources.helm.template import Release

RENDER_CACHE_SIZE = 4096
"""Rendered releases kept in memory (least recently used go first)."""

RENDER_FILES_MAX = 20000
"""Rendered releases kept in the cache folder (a small chart's render is a few kB: tens of MB in all); past it,
the least recently written go first."""

Objects = list[tuple[dict[str, Any], str | None]]

_renders: OrderedDict[str, Objects] = OrderedDict()
_renders_lock = threading.Lock()


def _helm_identity() -> str:
    """Another helm binary may render differently: its path, size and mtime are part of every key."""
    path = helm_path()
    st = os.stat(path)
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"


def cached_render(key: str, root: Path) -> Objects | None:
    """From memory, else from the cache folder (render workers are processes, and an agent restarts: both find
    what another rendered); a damaged file reads as a miss."""
    with _renders_lock:
        if (hit := _renders.get(key)) is not None:
            _renders.move_to_end(key)
            return copy.deepcopy(hit)
    try:
        stored = json.loads((root / "helm-renders" / f"{key}.json").read_text())
        objects: Objects = [(dict(obj), None if file is None else str(file)) for obj, file in stored]
    except (OSError, ValueError, TypeError):
        return None
    _remember(key, objects)
    return copy.deepcopy(objects)


def store_render(key: str, objects: Objects, root: Path) -> None:
    _remember(key, copy.deepcopy(objects))
    folder = root / "helm-renders"
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    with os.fdopen(fd, "w") as f:
        json.dump(objects, f)
    os.replace(tmp, folder / f"{key}.json")
    if int.from_bytes(bytes.fromhex(key[:4])) % 256 == 0:  # about one write in 256 looks at the folder's size
        _trim(folder)


def _trim(folder: Path) -> None:
    files = [p for p in folder.iterdir() if p.suffix == ".json"]
    if len(files) <= RENDER_FILES_MAX:
        return
    files.sort(key=lambda p: p.stat().st_mtime)
    for path in files[: len(files) - RENDER_FILES_MAX]:
        path.unlink(missing_ok=True)


def _remember(key: str, objects: Objects) -> None:
    with _renders_lock:
        _renders[key] = objects
        while len(_renders) > RENDER_CACHE_SIZE:
            _renders.popitem(last=False)


def render_key(digest: str, release: Release) -> str:
    caps = release.capabilities
    blob = json.dumps(
        [
            digest,
            _helm_identity(),
            release.name,
            release.namespace,
            release.values,
            caps.kube_version,
            sorted(caps.api_versions),
        ],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()
