"""The Kustomization source's pure parts: the spec, the walk that keeps a build inside the fleet repo, the digest,
the origin annotation, and the environment kustomize runs in."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from razee.errors import Finding, InputError, Location, UsageError
from razee.sources.kustomize.build import _origin_file
from razee.sources.kustomize.digest import tree_digest
from razee.sources.kustomize.kustbin import kustomize_env, kustomize_path
from razee.sources.kustomize.spec import parse_spec
from razee.sources.kustomize.walk import Tree, is_remote, walk
from tests.helpers.sourcefixtures import DECL_LINE, DECL_TEMPLATE, KUSTOMIZE_FLEET, declaration

WHERE = f"{DECL_TEMPLATE}:{DECL_LINE}"


def fail(message: str) -> InputError:
    return InputError([Finding(Location("decl"), message)])


def refusal(repo: Path, rel: str) -> str:
    with pytest.raises(InputError) as err:
        walk(repo, rel, fail)
    return str(err.value).removeprefix("decl: ")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"path": "kustomize/eu", "pathz": 1},
            f"{WHERE}: spec.pathz: Kustomization platform: Extra inputs are not permitted",
        ),
        ({}, f"{WHERE}: spec.path: Kustomization platform: Field required"),
        (
            {"path": "/etc"},
            f"{WHERE}: spec.path: Kustomization platform: path must be a folder of the fleet repo, "
            "relative to its root, not '/etc'",
        ),
        ({"path": " "}, f"{WHERE}: spec.path: Kustomization platform: path is empty: name a folder of the fleet repo"),
        (
            {"path": "https://example.com/k"},
            f"{WHERE}: spec.path: Kustomization platform: path must be a folder of the "
            "fleet repo, relative to its root, not 'https://example.com/k'",
        ),
        ("kustomize/eu", f"{WHERE}: spec: Kustomization needs a spec mapping"),
    ],
)
def test_a_bad_spec_names_the_declaring_template_line_and_field(spec: object, message: str) -> None:
    with pytest.raises(InputError) as err:
        parse_spec(declaration("Kustomization", spec))
    assert str(err.value) == message


def test_a_good_spec() -> None:
    spec = parse_spec(declaration("Kustomization", {"path": "kustomize/overlays/eu", "dependsOn": ["cert-manager"]}))
    assert (spec.path, spec.depends_on) == ("kustomize/overlays/eu", ["cert-manager"])


@pytest.mark.parametrize(
    "entry",
    [
        "https://github.com/org/repo//deploy?ref=v1",
        "http://example.com/x.yaml",
        "ssh://git@example.com/org/repo",
        "git@github.com:org/repo.git//deploy",
        "github.com/org/repo/deploy?ref=v1",
        "git::https://example.com/org/r",
        "file:///srv/git/repo",
        "gh:org/repo",
    ],
)
def test_what_kustomize_would_fetch_is_remote(entry: str) -> None:
    assert is_remote(entry)


@pytest.mark.parametrize("entry", ["../../base", "deployment.yaml", "sub/dir", "./x@y.yaml", "config/app.properties"])
def test_local_paths_are_not_remote(entry: str) -> None:
    assert not is_remote(entry)


def write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kustomization.yaml").write_text(text)
    return folder


def test_every_field_that_names_a_file_is_held_to_the_fleet_repo(tmp_path: Path) -> None:
    repo = tmp_path / "fleet"
    (tmp_path / "secret.env").write_text("TOKEN=x\n")
    write(repo / "k", "configMapGenerator:\n- name: c\n  envs:\n  - ../../secret.env\n")
    assert (
        refusal(repo, "k") == "k/kustomization.yaml:4: configMapGenerator[0].envs[0]: '../../secret.env' leads "
        "outside the fleet repo"
    )
    write(repo / "k", "secretGenerator:\n- name: s\n  files:\n  - token=../../secret.env\n")
    assert "secretGenerator[0].files[0]: '../../secret.env' leads outside" in refusal(repo, "k")
    write(repo / "k", "patches:\n- path: https://example.com/patch.yaml\n")
    assert (
        "k/kustomization.yaml:2: patches[0].path: 'https://example.com/patch.yaml' is remote: it would fetch "
        "from the network at render time" in refusal(repo, "k")
    )
    write(repo / "k", "components:\n- github.com/org/repo/components/x?ref=v1\n")
    assert "components[0]: 'github.com/org/repo/components/x?ref=v1' is remote" in refusal(repo, "k")
    write(repo / "k", "resources: [a.yaml]\nhelmCharts:\n- {name: x, repo: https://charts.example.com}\n")
    assert (
        refusal(repo, "k") == "k/kustomization.yaml:2: helmCharts: kustomize's chart inflation pulls charts "
        "from the network at render time; declare a HelmChart source instead"
    )


def test_inline_patches_and_files_inside_the_repo_pass(tmp_path: Path) -> None:
    repo = tmp_path / "fleet"
    write(repo / "base", "resources: [cm.yaml]\n")
    (repo / "base" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n")
    write(
        repo / "k",
        "resources: [../base]\npatches:\n- patch: |-\n    - op: add\n      path: /x\n      value: 1\n"
        "  target: {kind: ConfigMap}\nconfigMapGenerator:\n- name: c\n  files: [k=../k/x.txt]\n",
    )
    tree = walk(repo, "k", fail)
    assert tree.folders == [(repo / "k").resolve(), (repo / "base").resolve()]
    assert tree.rel(tree.top_file) == "k/kustomization.yaml"


def test_a_base_must_hold_a_kustomization_and_yaml_errors_name_the_file(tmp_path: Path) -> None:
    repo = tmp_path / "fleet"
    (repo / "plain").mkdir(parents=True)
    write(repo / "k", "resources: [../plain]\n")
    assert refusal(repo, "k") == "plain is named as a base but has no kustomization"
    write(repo / "k", "resources: [a.yaml\n")
    assert refusal(repo, "k").startswith("k/kustomization.yaml:2: invalid YAML")
    assert refusal(repo, "plain") == "plain has no kustomization (kustomization.yaml, kustomization.yml, Kustomization)"


def test_the_digest_covers_every_folder_the_build_reads_and_nothing_else(tmp_path: Path) -> None:
    repo = tmp_path / "fleet"
    shutil.copytree(KUSTOMIZE_FLEET, repo)
    first = tree_digest(walk(repo, "overlays/eu", fail))
    (repo / "overlays" / "us" / "kustomization.yaml").write_text("resources: []\n")  # another overlay
    assert tree_digest(walk(repo, "overlays/eu", fail)) == first
    (repo / "base" / "config" / "app.properties").write_text("greeting=hi\n")  # a base's generator input
    assert tree_digest(walk(repo, "overlays/eu", fail)) != first


def test_the_origin_annotation_becomes_a_fleet_repo_path(tmp_path: Path) -> None:
    root, wrapper = Path("/srv/fleet"), Path("/tmp/razee-kustomize-x/build")
    tree = Tree(root, root / "k", root / "k" / "kustomization.yaml", {})
    assert _origin_file("path: ../../../srv/fleet/base/d.yaml\n", tree, wrapper) == "base/d.yaml"
    generated = "configuredIn: ../../../srv/fleet/k/kustomization.yaml\nconfiguredBy:\n  kind: ConfigMapGenerator\n"
    assert _origin_file(generated, tree, wrapper) == "k/kustomization.yaml"
    assert _origin_file("path: ../../../etc/passwd\n", tree, wrapper) is None  # never a path outside the repo
    assert _origin_file("repo: https://github.com/x/y\npath: d.yaml\n", tree, wrapper) is None
    assert _origin_file(": not yaml: [", tree, wrapper) is None


def test_kustomize_runs_offline_with_nothing_of_the_users(tmp_path: Path) -> None:
    env = kustomize_env(tmp_path)
    assert env["PATH"] == str(tmp_path / "bin") and not any((tmp_path / "bin").iterdir())  # no git to clone with
    assert env["HOME"] == str(tmp_path) and env["KUSTOMIZE_PLUGIN_HOME"] == str(tmp_path / "plugins")
    assert env["HTTPS_PROXY"] == env["HTTP_PROXY"] == "http://127.0.0.1:9"
    assert "KUBECONFIG" not in env


def test_the_source_kinds_are_registered_under_their_names() -> None:
    """The expansion step finds each kind's expander in the `razee.sources` entry point group (pyproject.toml)."""
    from importlib.metadata import entry_points

    kinds = {ep.name: ep.load().kind for ep in entry_points(group="razee.sources")}
    assert kinds["Kustomization"] == "Kustomization" and kinds["RemoteManifests"] == "RemoteManifests"
    assert kinds["HelmChart"] == "HelmChart"


def test_a_kustomize_binary_that_is_not_there_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAZEE_KUSTOMIZE", "/nonexistent/kustomize")
    with pytest.raises(
        UsageError,
        match=r"\$RAZEE_KUSTOMIZE names /nonexistent/kustomize, which is not an "
        r"executable file",
    ):
        kustomize_path()
    monkeypatch.delenv("RAZEE_KUSTOMIZE")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(UsageError, match="need the kustomize binary"):
        kustomize_path()
