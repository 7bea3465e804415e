"""Finding the fleet repo a command works on, and snapshotting a git revision of it.

A revision is exported into a temporary directory (`git archive`), never checked out, so rendering an old or
future revision leaves the user's working tree and index untouched.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from razee.errors import SourceError

BUILTIN_FLEET = Path(__file__).resolve().parents[2]
FLEET_FILE = "environments/fleet.yaml"  # as razee.fleet.loader reads it; kept here so finding a repo loads no model


def is_fleet_repo(path: Path) -> bool:
    return (path / FLEET_FILE).is_file()


def resolve_repo(repo: str | None, cwd: Path | None = None) -> Path:
    """`--repo` if given; else the current directory if it is a fleet repo; else the built-in example fleet."""
    if repo:
        path = Path(repo).expanduser()
        if not path.is_dir():
            raise SourceError(f"fleet repo {repo}: no such directory")
        return path.resolve()
    here = cwd or Path.cwd()
    if is_fleet_repo(here):
        return here.resolve()
    if is_fleet_repo(BUILTIN_FLEET):
        return BUILTIN_FLEET
    raise SourceError(
        f"{here} is not a fleet repo (no {FLEET_FILE}) and the built-in example fleet is not "
        "installed; pass --repo PATH"
    )


@contextmanager
def revision_snapshot(repo: Path, rev: str) -> Iterator[Path]:
    """The tree of `rev` in `repo`, exported to a temporary directory that is removed afterwards."""
    import git  # gitpython costs ~0.1 s to import; only revisions and signatures need it

    try:
        gitrepo = git.Repo(repo, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as e:
        raise SourceError(f"--rev needs a git repository, and {repo} is not one") from e
    try:
        commit = gitrepo.commit(rev)
    except (git.BadName, ValueError, git.GitCommandError) as e:
        raise SourceError(f"unknown revision {rev!r} in {repo}") from e
    top = Path(gitrepo.working_tree_dir or repo).resolve()
    sub = repo.resolve().relative_to(top).as_posix()
    buf = io.BytesIO()
    try:
        gitrepo.archive(buf, treeish=commit.hexsha, format="tar")
    except git.GitCommandError as e:
        raise SourceError(f"cannot export revision {rev!r}: {e.stderr.strip()}") from e
    finally:
        gitrepo.close()
    buf.seek(0)
    with tempfile.TemporaryDirectory(prefix="razee-rev-") as tmp:
        with tarfile.open(fileobj=buf) as tar:
            tar.extractall(tmp, filter="data")
        yield Path(tmp) if sub == "." else Path(tmp) / sub


def changed_paths(repo: Path, old: str, new: str) -> set[str] | None:
    """Repo-relative paths that differ between two revisions, or None when git cannot tell."""
    import git  # gitpython costs ~0.1 s to import; only revisions and signatures need it

    try:
        gitrepo = git.Repo(repo, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    try:
        top = Path(gitrepo.working_tree_dir or repo).resolve()
        sub = repo.resolve().relative_to(top).as_posix()
        out = gitrepo.git.diff("--name-only", "--no-renames", old, new, "--", ".")
    except git.GitCommandError:
        return None
    finally:
        gitrepo.close()
    paths = {line for line in out.splitlines() if line}
    if sub == ".":
        return paths
    prefix = sub + "/"
    return {p[len(prefix) :] for p in paths if p.startswith(prefix)}


def is_dirty(repo: Path) -> bool:
    """Whether the working tree differs from HEAD, untracked files included (a non-git folder counts as dirty)."""
    import git  # gitpython costs ~0.1 s to import; only revisions and signatures need it

    try:
        gitrepo = git.Repo(repo, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return True
    try:
        return bool(gitrepo.is_dirty(untracked_files=True, path=str(repo)))
    finally:
        gitrepo.close()
