"""Reading a kustomization's graph before kustomize builds it: every base, component and file it names must be in
the fleet repo, so the build reads the fleet repo and nothing else.

Remote bases (`https://…`, `git@…`, `github.com/…`) are refused: they would fetch from the network at render time,
so the same commit could render differently tomorrow, and a git host being down would stop every pass. Paths that
leave the fleet repo (`../../..`, or a symlink pointing out) are refused too. A folder named as a base must hold a
kustomization; a name that is neither a file nor a folder is refused here, because kustomize would take it for a
remote repository and try to clone it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from razee.errors import InputError
from razee.yamlsrc import Located, load_one

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
"""The names kustomize looks for, in its order."""

DIR_FIELDS = ("resources", "bases", "components", "generators", "transformers", "validators")
"""Fields whose entries may name a folder (a base or component kustomization) as well as a file."""
FILE_FIELDS = ("crds", "configurations", "patchesStrategicMerge")
"""Fields whose entries name files (or, for patchesStrategicMerge, hold an inline patch)."""
PATH_ITEM_FIELDS = ("patches", "patchesJson6902", "replacements")
"""Fields holding a list of mappings, each of which may name a file in `path`."""
GENERATOR_FIELDS = ("configMapGenerator", "secretGenerator")
HELM_FIELDS = ("helmCharts", "helmChartInflationGenerator", "helmGlobals")

REMOTE_REASON = (
    "it would fetch from the network at render time, so the same commit could render differently "
    "later and a host being down would stop every pass (razee builds kustomizations from the fleet repo "
    "only: vendor it into the repo, or declare a RemoteManifests source pinned by sha256)"
)

_SCP = re.compile(r"^[\w.-]+@[\w.-]+:")  # git@github.com:org/repo
_REMOTE_PREFIXES = ("git::", "gh:", "github.com/", "gitlab.com/", "bitbucket.org/")

Fail = Callable[[str], InputError]


@dataclass
class Tree:
    """A kustomization checked for building: its folder, every kustomization folder it reads, the top file."""

    root: Path  # the fleet repo, resolved
    top: Path  # the kustomization folder, resolved
    top_file: Path
    top_doc: dict[str, Any]
    folders: list[Path] = field(default_factory=list)

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix() or "."


def is_remote(entry: str) -> bool:
    """What kustomize would fetch rather than read: a URL, an scp-style git address or a git host path."""
    e = entry.strip()
    return "://" in e or e.lower().startswith(_REMOTE_PREFIXES) or bool(_SCP.match(e))


def kustomization_file(folder: Path) -> Path | None:
    return next((folder / n for n in KUSTOMIZATION_FILES if (folder / n).is_file()), None)


def walk(repo: Path, rel: str, fail: Fail) -> Tree:
    """The checked graph of the kustomization at `rel` in the fleet repo `repo`; raises `fail(reason)` otherwise."""
    root = repo.resolve()
    top = (root / rel).resolve()
    if not top.is_relative_to(root):
        raise fail(f"{rel} is outside the fleet repo")
    if not top.is_dir():
        raise fail(f"{rel} is not a folder in the fleet repo")
    top_file = kustomization_file(top)
    if top_file is None:
        raise fail(f"{rel} has no kustomization ({', '.join(KUSTOMIZATION_FILES)})")
    tree = Tree(root, top, top_file, {})
    tree.top_doc = _Walker(tree, fail).visit(top)
    return tree


class _Walker:
    def __init__(self, tree: Tree, fail: Fail) -> None:
        self.tree = tree
        self.fail = fail

    def visit(self, folder: Path) -> dict[str, Any]:
        self.tree.folders.append(folder)
        file = kustomization_file(folder)
        if file is None:
            raise self.fail(f"{self.tree.rel(folder)} is named as a base but has no kustomization")
        doc = self._load(file)
        data: dict[str, Any] = doc.data
        for name in HELM_FIELDS:
            if name in data:
                raise self.fail(
                    f"{self._at(doc, (name,))}: kustomize's chart inflation pulls charts "
                    f"from the network at render time; declare a HelmChart source instead"
                )
        for name in DIR_FIELDS + FILE_FIELDS:
            for i, entry in enumerate(_strings(data.get(name))):
                target = self._check(folder, entry, doc, (name, i), dirs=name in DIR_FIELDS)
                if target is not None and target not in self.tree.folders:
                    self.visit(target)
        for name in PATH_ITEM_FIELDS:
            for i, item in enumerate(data.get(name) or []):
                if isinstance(item, dict) and isinstance(item.get("path"), str):
                    self._check(folder, item["path"], doc, (name, i, "path"), dirs=False)
        for name in GENERATOR_FIELDS:
            for i, gen in enumerate(data.get(name) or []):
                if isinstance(gen, dict):
                    self._check_generator(folder, gen, doc, (name, i))
        openapi = data.get("openapi")
        if isinstance(openapi, dict) and isinstance(openapi.get("path"), str):
            self._check(folder, openapi["path"], doc, ("openapi", "path"), dirs=False)
        return data

    def _load(self, file: Path) -> Located:
        rel = self.tree.rel(file)
        try:
            doc = load_one(file.read_text(), rel)
        except InputError as e:
            raise self.fail("; ".join(str(f) for f in e.findings)) from None
        except (OSError, UnicodeDecodeError) as e:
            raise self.fail(f"{rel}: cannot be read: {e}") from None
        return doc

    def _check_generator(self, folder: Path, gen: dict[str, Any], doc: Located, at: tuple[str | int, ...]) -> None:
        for i, entry in enumerate(_strings(gen.get("files"))):
            self._check(folder, entry.partition("=")[2] or entry, doc, (*at, "files", i), dirs=False)
        for i, entry in enumerate(_strings(gen.get("envs"))):
            self._check(folder, entry, doc, (*at, "envs", i), dirs=False)
        if isinstance(gen.get("env"), str):
            self._check(folder, gen["env"], doc, (*at, "env"), dirs=False)

    def _check(self, folder: Path, entry: str, doc: Located, at: tuple[str | int, ...], dirs: bool) -> Path | None:
        """The folder `entry` names when it is one (a base to visit), else None; raises when it is not allowed."""
        if "\n" in entry:  # an inline patch or generator config, not a path
            return None
        where = self._at(doc, at)
        if is_remote(entry):
            raise self.fail(f"{where}: {entry!r} is remote: {REMOTE_REASON}")
        lexical = Path(os.path.normpath(folder / entry))
        target = (folder / entry).resolve()
        if not target.is_relative_to(self.tree.root):
            through = " through a symlink" if lexical.is_relative_to(self.tree.root) else ""
            raise self.fail(f"{where}: {entry!r} leads outside the fleet repo{through}")
        if not dirs:
            return None
        if target.is_dir():
            return target
        if not target.is_file():
            raise self.fail(
                f"{where}: {entry!r} is neither a file nor a folder in the fleet repo (kustomize would "
                "take it for a remote repository)"
            )
        return None

    def _at(self, doc: Located, at: tuple[str | int, ...]) -> str:
        field_path = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(at))
        return f"{doc.file}:{doc.line_of(at)}: {field_path}"


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
