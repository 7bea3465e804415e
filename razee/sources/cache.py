"""Pulled charts and fetched manifests, stored by content digest on the agent and shared by every release using them.

Bounded (least recently used entries go first), safe to delete at any time (a miss pulls again), and written
atomically (a crash leaves no half file under a digest name). `remember`/`last_good` keep, per source address
(repository + chart + version, or URL), the digest last pulled and verified: when a repository is down, the pass
enforces that, as an unreachable git server leaves the last good revision enforced.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

DEFAULT_MAX_BYTES = 2 << 30
"""2 GiB: hundreds of charts (a chart archive is tens of kB; a large manifest bundle a few MB)."""


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class SourceCache:
    def __init__(self, root: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes
        (root / "blobs").mkdir(parents=True, exist_ok=True)

    def _blob(self, digest: str) -> Path:
        algo, _, hexd = digest.partition(":")
        if algo != "sha256" or len(hexd) != 64 or not all(c in "0123456789abcdef" for c in hexd):
            raise ValueError(f"not a sha256 digest: {digest!r}")
        return self.root / "blobs" / hexd

    def get(self, digest: str) -> bytes | None:
        """The content stored under `digest`, verified (a corrupted entry is dropped and reads as a miss)."""
        path = self._blob(digest)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        if digest_of(data) != digest:
            path.unlink(missing_ok=True)
            return None
        os.utime(path)  # recently used
        return data

    def put(self, data: bytes) -> str:
        digest = digest_of(data)
        path = self._blob(digest)
        if not path.exists():
            fd, tmp = tempfile.mkstemp(dir=self.root / "blobs", prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
            self._trim()
        return digest

    def _trim(self) -> None:
        blobs = [p for p in (self.root / "blobs").iterdir() if not p.name.startswith(".")]
        stats = sorted(((p.stat().st_mtime, p.stat().st_size, p) for p in blobs), key=lambda t: t[0])
        total = sum(size for _, size, _ in stats)
        for _, size, path in stats:
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size

    def _index(self) -> Path:
        return self.root / "last-good.json"

    def remember(self, address: str, digest: str) -> None:
        known = self._read_index()
        if known.get(address) == digest:
            return
        known[address] = digest
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-")
        with os.fdopen(fd, "w") as f:
            json.dump(known, f, sort_keys=True)
        os.replace(tmp, self._index())

    def last_good(self, address: str) -> str | None:
        return self._read_index().get(address)

    def _read_index(self) -> dict[str, str]:
        try:
            data = json.loads(self._index().read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
