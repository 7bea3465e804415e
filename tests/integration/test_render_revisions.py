"""`--rev` renders a git revision from a real repository without touching the working tree."""

from __future__ import annotations

from pathlib import Path

import git

from tests.conftest import run_razee
from tests.fleetrepo import region_copy, write_repo


def _commit(repo: git.Repo, message: str) -> str:
    repo.git.add(A=True)
    repo.index.commit(message, author=git.Actor("t", "t@example.com"), committer=git.Actor("t", "t@example.com"))
    return repo.head.commit.hexsha


def test_rev_renders_an_old_revision_and_leaves_the_tree_alone(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "fleet")
    repo = git.Repo.init(root)
    old = _commit(repo, "two clusters")
    region = region_copy()
    region["clusters"].append({**region["clusters"][1], "name": "c3"})
    write_repo(root, regions=[region])
    _commit(repo, "add c3")
    (root / "environments" / "fleet.yaml").write_text("uncommitted: [edit\n")  # working tree is broken
    status_before = repo.git.status("--porcelain")

    old_render = run_razee("render", "--repo", str(root), "--rev", old)
    head_render = run_razee("render", "--repo", str(root), "--rev", "HEAD")
    assert old_render.returncode == 0, old_render.stderr
    assert head_render.returncode == 0, head_render.stderr
    assert "master-c3" not in old_render.stdout
    assert "master-c3" in head_render.stdout
    assert repo.git.status("--porcelain") == status_before
    assert (root / "environments" / "fleet.yaml").read_text() == "uncommitted: [edit\n"

    broken = run_razee("render", "--repo", str(root))
    assert broken.returncode == 2
    assert "environments/fleet.yaml:2: invalid YAML" in broken.stderr


def test_unknown_revision_and_non_git_repo(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "fleet")
    plain = run_razee("render", "--repo", str(root), "--rev", "HEAD")
    assert plain.returncode == 2 and "--rev needs a git repository" in plain.stderr
    repo = git.Repo.init(root)
    _commit(repo, "init")
    r = run_razee("render", "--repo", str(root), "--rev", "no-such-branch")
    assert r.returncode == 2
    assert "unknown revision 'no-such-branch'" in r.stderr
    assert r.stdout == ""
