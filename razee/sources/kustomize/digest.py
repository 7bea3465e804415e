"""A kustomization's version: a sha256 over the files of every kustomization folder its build reads.

kustomize reads a kustomization's files only from inside that kustomization's folder (its load restrictor), and
the walk found every folder the build visits, so the files under those folders are all the build can read: the
digest changes whenever the build's input may have, and a render cache keyed by it is never stale.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from razee.sources.kustomize.walk import Tree


def tree_digest(tree: Tree) -> str:
    files: set[Path] = set()
    for folder in tree.folders:
        for dirpath, dirnames, filenames in os.walk(folder):  # symlinked folders are not followed, as kustomize
            dirnames[:] = [d for d in dirnames if d != ".git"]
            files.update(Path(dirpath) / name for name in filenames)
    h = hashlib.sha256()
    for path in sorted(files):
        real = path.resolve()
        if not real.is_relative_to(tree.root) or not real.is_file():
            continue  # a symlink out of the fleet repo: kustomize refuses to read it, and so does razee
        h.update(path.relative_to(tree.root).as_posix().encode() + b"\0" + real.read_bytes() + b"\0")
    return "sha256:" + h.hexdigest()
