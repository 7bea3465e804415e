"""A new fleet repo of one's own: one region, one spoke, one wave, and the razee agent's own templates.

The files live in `files/` next to this module (shipped in the wheel). The agent's template there is the example
fleet's own `templates/spoke/razee-agent.yaml.j2`, so a new fleet starts from the agent razee tests. Names are
substituted into the environment files as quoted YAML scalars; templates are copied as they are. The repo is
written to a temporary folder, loaded and checked there, and only then moved into place: bad input writes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import string
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from razee.errors import UsageError

FILES = Path(__file__).resolve().parent / "files"
REGION_FILE = "environments/regions/region.yaml"


@dataclass(frozen=True)
class FleetSettings:
    fleet: str = "my-fleet"
    region: str = "region-1"
    zone: str = "zone-1"
    spoke: str = "spoke-1"
    wave: str = "all"
    fleet_repo: str = "https://git.example.com/my-fleet.git"
    branch: str = "main"
    hub: str = ""
    image: str = "registry.example.com/razee/razee:0.1.0"

    @property
    def registry(self) -> str:
        """The allowed-registries glob that admits the agent's image: its registry and path, any name and tag."""
        repository = self.image.split("@", 1)[0]
        head, slash, last = repository.rpartition("/")
        return f"{head}/*" if slash else last.split(":", 1)[0] + "*"


def _substitute(text: str, values: dict[str, str], quote: bool) -> str:
    return string.Template(text).substitute({k: json.dumps(v) if quote else v for k, v in values.items()})


def write_fleet(dest: Path, settings: FleetSettings) -> list[Path]:
    """Write the new fleet repo into `dest` (absent or empty); returns the files written, relative to `dest`."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise UsageError(f"{dest} already exists and is not an empty folder; razee init writes only into a new one")
    values = {**asdict(settings), "registry": settings.registry}
    parent = dest.resolve().parent
    if not parent.is_dir():
        raise UsageError(f"{parent}: no such folder")
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=parent))
    try:
        written = _write_files(staging, values)
        _check(staging)
        if dest.exists():
            dest.rmdir()
        os.replace(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return written


def _write_files(root: Path, values: dict[str, str]) -> list[Path]:
    written = []
    for src in sorted(FILES.rglob("*")):
        if src.is_dir() or src.name.endswith((".pyc", ".pyo")):
            continue
        rel = src.relative_to(FILES).as_posix()
        if rel == REGION_FILE:
            rel = f"environments/regions/{values['region']}.yaml"
        text = src.read_text(encoding="utf-8")  # follows the link to the example fleet's agent template
        if rel.startswith("environments/"):
            text = _substitute(text, values, quote=True)
        elif rel == "README.md":
            text = _substitute(text, values, quote=False)
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(Path(rel))
    (root / "templates" / "cluster").mkdir(exist_ok=True)
    (root / "templates" / "policy").mkdir(exist_ok=True)
    for empty in ("templates/cluster", "templates/policy"):
        (root / empty / ".gitkeep").write_text("")
        written.append(Path(empty) / ".gitkeep")
    return written


def _check(root: Path) -> None:
    """Load and render the new repo with the policy gate: a name the fleet model refuses stops here."""
    from razee.errors import InputError
    from razee.reconcile.load import Selection, render

    try:
        render(root, Selection())
    except InputError as e:
        raise UsageError(f"these options make an invalid fleet repo (nothing was written):\n  {e.message}") from e
