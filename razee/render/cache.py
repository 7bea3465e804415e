"""A cache of rendered, policy-checked spokes, keyed by everything the render depends on.

The key hashes every file under `environments/` and `templates/`, the spoke, whether real secrets were asked for,
and razee's own code. Equal key, equal render and equal policy verdict, so a hit skips loading the fleet, the
templates and the gate; the commands that only compare (a no-op `razee diff`, an agent's idle pass) then cost
little more than their API requests. Only what passed the gate is stored.

Never stored on disk: a render that decrypted a secret. The agent keeps its entries in memory; the CLI keeps them
in the folder the CLI names (`--cache-dir`, `$RAZEE_CACHE_DIR`, else `$XDG_CACHE_HOME/razee/render`), which is safe
to delete.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from razee.objects import Manifest, Origin, Provenance, SourceInfo

FORMAT = 3
"""Version of the cached JSON; an entry of another version is a miss."""
INPUT_DIRS = ("environments", "templates")
"""The fleet repo's folders a render reads: the key hashes every file under them."""
DISK_ENTRIES = 32
"""Entries the CLI's disk cache keeps; the oldest go first."""


@dataclass(frozen=True)
class EngineSettings:
    """The fleet's `engine` settings (razee.fleet.model.Engine) as a pass needs them, cheap to cache and read back.

    A plain dataclass, not the fleet's pydantic model: a render taken from the cache loads no fleet model.
    """

    conflicts: str = "takeover"
    """`takeover` or `refuse`: what an unattended pass does with fields another apply manager owns."""
    prune_timeout: float = 60.0
    """Seconds a prune waits for a deleted object to be gone."""
    hook_timeout: float = 300.0
    """Seconds a Helm hook, or a source's dependencies, may take to complete or become healthy."""

    @property
    def takes_over(self) -> bool:
        return self.conflicts == "takeover"

    def to_json(self) -> dict[str, Any]:
        return {"conflicts": self.conflicts, "pruneTimeout": self.prune_timeout, "hookTimeout": self.hook_timeout}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> EngineSettings:
        return cls(str(doc["conflicts"]), float(doc["pruneTimeout"]), float(doc.get("hookTimeout", 300.0)))


@dataclass(frozen=True)
class ExpansionStamp:
    """What a spoke's expanded sources depended on besides environments/ and templates/ (which the key hashes):
    the fleet repo's folders they read and, when expanded live, the spoke's capabilities. A cached bundle with a
    stamp is used only while the stamp still holds (razee.reconcile.expansion.fresh_expansion)."""

    key: str  # razee.sources.expand.expansion_key
    live: bool  # expanded with the spoke's own capabilities; False: offline, the fleet's declared kube version
    inputs: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "live": self.live, "inputs": list(self.inputs), "notes": list(self.notes)}

    @classmethod
    def from_json(cls, doc: dict[str, Any] | None) -> ExpansionStamp | None:
        if doc is None:
            return None
        return cls(str(doc["key"]), bool(doc["live"]), tuple(doc["inputs"]), tuple(doc["notes"]))


@dataclass(frozen=True)
class SpokeBundle:
    """One spoke's rendered manifests and the facts about it that a pass needs besides them."""

    spoke: str
    region: str
    wave: str
    manifests: tuple[Manifest, ...]
    engine: EngineSettings = field(default_factory=EngineSettings)
    decrypted: bool = False  # rendered with real secret values: never written to disk
    fleet: Any = field(default=None, compare=False, repr=False)  # the loaded fleet, kept in memory only
    sources: tuple[SourceInfo, ...] = ()  # the sources its templates declared, expanded (razee.sources)
    stamp: ExpansionStamp | None = None  # None: no sources, nothing beyond the key to check

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "spoke": self.spoke,
            "region": self.region,
            "wave": self.wave,
            "engine": self.engine.to_json(),
            "sources": [s.to_json() for s in self.sources],
            "stamp": self.stamp.to_json() if self.stamp else None,
            "manifests": [{"obj": m.obj, "source": _provenance_json(m.source)} for m in self.manifests],
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> SpokeBundle:
        if doc.get("format") != FORMAT:
            raise ValueError("another cache format")
        manifests = tuple(Manifest(m["obj"], _provenance(m["source"])) for m in doc["manifests"])
        sources = tuple(
            SourceInfo(s["name"], s["kind"], s["chart"], s["version"], s["digest"], s["cluster"])
            for s in doc["sources"]
        )
        return cls(
            doc["spoke"],
            doc["region"],
            doc["wave"],
            manifests,
            EngineSettings.from_json(doc["engine"]),
            sources=sources,
            stamp=ExpansionStamp.from_json(doc["stamp"]),
        )


def _provenance_json(p: Provenance) -> list[Any]:
    origin = p.origin
    return [
        p.template,
        p.document,
        p.line,
        p.cluster,
        p.item,
        [origin.kind, origin.name, origin.file, list(origin.depends_on)] if origin else None,
    ]


def _provenance(doc: list[Any]) -> Provenance:
    origin = doc[5]
    template, document, line, cluster, item = doc[:5]
    return Provenance(
        template,
        document,
        line,
        cluster,
        item,
        Origin(origin[0], origin[1], origin[2], tuple(origin[3])) if origin else None,
    )


class RenderCache(Protocol):
    def get(self, key: str) -> SpokeBundle | None: ...

    def put(self, key: str, bundle: SpokeBundle) -> None: ...


_CODE_STAMP: str | None = None


def code_stamp() -> str:
    """razee's own code, by file size and modification time: an edited checkout never reuses an old render."""
    global _CODE_STAMP
    if _CODE_STAMP is None:
        package = Path(__file__).resolve().parents[1]
        h = hashlib.sha256()
        for path in sorted(package.rglob("*.py")):
            st = path.stat()
            h.update(f"{path.relative_to(package)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
        _CODE_STAMP = h.hexdigest()
    return _CODE_STAMP


def input_key(root: Path, spoke: str, for_apply: bool) -> str:
    """A digest of every input of a spoke's render (cheap: file contents, no parsing)."""
    h = hashlib.sha256(f"razee-render:{FORMAT}:{code_stamp()}:{spoke}:{for_apply}\n".encode())
    for top in INPUT_DIRS:
        base = root / top
        for path in sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else []:
            h.update(f"{path.relative_to(root).as_posix()}\0".encode())
            h.update(path.read_bytes())
            h.update(b"\0")
    return h.hexdigest()


class MemoryRenderCache:
    """The agent's cache: the last few revisions' renders, in memory only."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self._entries: OrderedDict[str, SpokeBundle] = OrderedDict()

    def get(self, key: str) -> SpokeBundle | None:
        bundle = self._entries.get(key)
        if bundle is not None:
            self._entries.move_to_end(key)
        return bundle

    def put(self, key: str, bundle: SpokeBundle) -> None:
        self._entries[key] = bundle
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)


class DiskRenderCache:
    """The CLI's cache: one JSON file per key, the oldest dropped past DISK_ENTRIES; unreadable entries are misses."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory

    def get(self, key: str) -> SpokeBundle | None:
        path = self.dir / f"{key}.json"
        try:
            return SpokeBundle.from_json(json.loads(path.read_bytes()))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, bundle: SpokeBundle) -> None:
        if bundle.decrypted:
            return
        try:
            self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".tmp-")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(bundle.to_json(), fh, separators=(",", ":"))
            os.replace(tmp, self.dir / f"{key}.json")
            entries = sorted(self.dir.glob("*.json"), key=lambda p: p.stat().st_mtime)
            for old in entries[:-DISK_ENTRIES]:
                old.unlink(missing_ok=True)
        except OSError:
            pass  # a cache that cannot be written is only slower
