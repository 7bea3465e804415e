"""The Kustomization source through the real `kustomize` binary, on the fixture fleet in tests/data/kustomize:
razee's objects equal the `kustomize build` CLI's object for object, each carries the file it came from, and what
must be refused (a failing overlay, a remote base, a path or symlink leaving the fleet repo, nothing rendered) is
refused with the declaring template's file:line and kustomize's or razee's reason."""

from __future__ import annotations

import shutil
from collections import OrderedDict
from pathlib import Path

import pytest

from razee.errors import EXIT_USER_ERROR, Finding, InputError, Location
from razee.sources.expander import ExpandContext, Expansion
from razee.sources.kustomize import KustomizeExpander
from razee.sources.kustomize.build import ORIGIN, Built, build
from razee.sources.kustomize.walk import Fail, Tree
from tests.helpers.charts import context
from tests.helpers.sourcefixtures import DECL_LINE, DECL_TEMPLATE, KUSTOMIZE_FLEET, declaration, kustomize_cli

WHERE = f"{DECL_TEMPLATE}:{DECL_LINE}: spec.path: Kustomization platform"


def expand(path: str, ctx: ExpandContext) -> Expansion:
    return KustomizeExpander().expand(declaration("Kustomization", {"path": path}), ctx)


def refused(path: str, ctx: ExpandContext) -> str:
    with pytest.raises(InputError) as err:
        expand(path, ctx)
    assert err.value.exit_code == EXIT_USER_ERROR
    message = str(err.value)
    assert message.startswith(WHERE), message
    return message


@pytest.fixture
def ctx(tmp_path: Path) -> ExpandContext:
    return context(tmp_path / "cache", repo=KUSTOMIZE_FLEET)


# overlay -> the file each object comes from, in kustomize's output order
EXPECTED_FILES = {
    "overlays/eu": [
        ("Namespace", "platform-eu", "overlays/eu/namespace.yaml"),
        ("ConfigMap", "eu-web-config-tbg6m24t68", "base/kustomization.yaml"),
        ("Service", "eu-web", "base/service.yaml"),
        ("Deployment", "eu-web", "base/deployment.yaml"),
    ],
    "overlays/us": [
        ("ConfigMap", "scrape-config", "components/monitoring/scrape-config.yaml"),
        ("ConfigMap", "web-config-m6tgfgmdgf", "base/kustomization.yaml"),
        ("Secret", "web-credentials-292682mmt8", "overlays/us/kustomization.yaml"),
        ("Service", "web", "base/service.yaml"),
        ("Deployment", "web", "base/deployment.yaml"),
    ],
    "overlays/fifo": [
        ("Deployment", "web", "base/deployment.yaml"),
        ("Service", "web", "base/service.yaml"),
        ("ConfigMap", "web-config-m6tgfgmdgf", "base/kustomization.yaml"),
        ("Namespace", "platform-fifo", "overlays/fifo/namespace.yaml"),
    ],
}


@pytest.mark.parametrize("overlay", sorted(EXPECTED_FILES))
def test_objects_equal_the_kustomize_cli_object_for_object(overlay: str, ctx: ExpandContext) -> None:
    """Patches (strategic merge and JSON 6902), a configMapGenerator merged across layers with its hash suffix, a
    secretGenerator, the namespace and namePrefix transformers, images, replicas, a component, and the top file's
    own sortOptions and buildMetadata: all as the CLI builds them, in its order, without the origin annotation."""
    result = expand(overlay, ctx)
    reference = kustomize_cli(KUSTOMIZE_FLEET / overlay)
    assert [obj for obj, _ in result.objects] == reference
    got = [(obj["kind"], obj["metadata"]["name"], file) for obj, file in result.objects]
    assert got == EXPECTED_FILES[overlay]
    assert all(ORIGIN not in (obj["metadata"].get("annotations") or {}) for obj, _ in result.objects)
    info = result.info
    assert (info.name, info.kind, info.chart) == ("platform", "Kustomization", overlay)
    assert info.digest is not None and info.digest.startswith("sha256:") and len(info.digest) == 71
    assert info.version == info.digest[7:19]


def test_the_fifo_overlay_keeps_its_own_build_metadata(ctx: ExpandContext) -> None:
    """The top kustomization's buildMetadata (managedByLabel, transformerAnnotations) and sortOptions (fifo) still
    apply: kustomize reads them from the top file only, and razee's build carries them over; the transformations
    annotation names files relative to the overlay, as the CLI does, never razee's temporary build folder."""
    objects = [obj for obj, _ in expand("overlays/fifo", ctx).objects]
    assert [o["kind"] for o in objects] == ["Deployment", "Service", "ConfigMap", "Namespace"]
    assert all(o["metadata"]["labels"]["app.kubernetes.io/managed-by"].startswith("kustomize-v5") for o in objects)
    transformations = objects[0]["metadata"]["annotations"]["alpha.config.kubernetes.io/transformations"]
    assert "configuredIn: ../../base/kustomization.yaml" in transformations
    assert "configuredIn: kustomization.yaml" in transformations


def test_a_kustomization_that_fails_to_build_gives_kustomizes_message_and_the_path(ctx: ExpandContext) -> None:
    message = refused("overlays/broken", ctx)
    assert "kustomize build overlays/broken failed: no resource matches strategic merge patch" in message
    assert "worker" in message
    assert "razee-kustomize-" not in message and str(KUSTOMIZE_FLEET) not in message  # no machine paths


def test_a_remote_base_is_refused_with_the_reason(ctx: ExpandContext, monkeypatch: pytest.MonkeyPatch) -> None:
    """Refused before kustomize runs: with no kustomize binary at all, the refusal is the same."""
    monkeypatch.setenv("RAZEE_KUSTOMIZE", "/nonexistent/kustomize")
    message = refused("overlays/remote", ctx)
    assert "overlays/remote/kustomization.yaml:5: resources[1]" in message
    assert "https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.8.1" in message
    assert "would fetch from the network at render time" in message


def test_a_remote_base_past_the_check_still_cannot_reach_the_network(tmp_path: Path) -> None:
    """The second wall: kustomize runs with no git on its PATH and its proxy a closed port, so even a remote base
    or file the walk did not catch fails offline instead of fetching."""
    top = tmp_path / "fleet" / "overlay"
    top.mkdir(parents=True)
    for remote in (
        "https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.8.1",
        "https://raw.githubusercontent.com/kubernetes-sigs/kustomize/v5.8.1/examples/helloWorld/service.yaml",
    ):
        (top / "kustomization.yaml").write_text(f"resources:\n- {remote}\n")
        tree = Tree(top.parent.resolve(), top.resolve(), top.resolve() / "kustomization.yaml", {}, [top.resolve()])
        with pytest.raises(InputError) as err:
            build(tree, lambda m: InputError([Finding(Location("t"), m)]))
        message = str(err.value)
        assert "kustomize build overlay failed" in message
        assert "proxyconnect tcp: dial tcp 127.0.0.1:9: connect: connection refused" in message, message
        assert "no 'git' program on path" in message, message


def test_paths_leaving_the_fleet_repo_are_refused(ctx: ExpandContext) -> None:
    assert (
        "overlays/outside/kustomization.yaml:4: resources[0]: '../../../charts/corpus' leads outside the "
        "fleet repo" in refused("overlays/outside", ctx)
    )
    assert "../charts is outside the fleet repo" in refused("../charts", ctx)
    assert "'../../nowhere' is neither a file nor a folder in the fleet repo" in refused("overlays/missing", ctx)
    assert "base/deployment.yaml is not a folder" in refused("base/deployment.yaml", ctx)


def test_a_symlink_escaping_the_fleet_repo_is_refused(tmp_path: Path) -> None:
    repo = tmp_path / "fleet"
    shutil.copytree(KUSTOMIZE_FLEET, repo)
    outside = tmp_path / "outside"
    shutil.copytree(KUSTOMIZE_FLEET / "base", outside)
    (repo / "overlays" / "linked").symlink_to(outside, target_is_directory=True)
    (repo / "overlays" / "sneaky").mkdir()
    (repo / "overlays" / "sneaky" / "kustomization.yaml").write_text("resources:\n- ../linked\n")
    ctx = context(tmp_path / "cache", repo=repo)
    message = refused("overlays/sneaky", ctx)
    assert (
        "overlays/sneaky/kustomization.yaml:2: resources[0]: '../linked' leads outside the fleet repo through "
        "a symlink" in message
    )
    assert refused("overlays/linked", ctx).endswith("overlays/linked is outside the fleet repo")


def test_a_kustomization_that_renders_nothing_is_an_error(ctx: ExpandContext) -> None:
    assert refused("overlays/empty", ctx).endswith("kustomize build overlays/empty renders nothing")


def test_builds_are_cached_by_digest_and_never_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same kustomization built twice runs kustomize once; a changed base file is a new digest and a rebuild."""
    repo = tmp_path / "fleet"
    shutil.copytree(KUSTOMIZE_FLEET, repo)
    ctx = context(tmp_path / "cache", repo=repo)
    calls: list[str] = []

    def counting_build(tree: Tree, fail: Fail) -> Built:
        calls.append("build")
        return build(tree, fail)

    monkeypatch.setattr("razee.sources.kustomize.expander.build", counting_build)
    # earlier tests built the same content (the cache is by content, not by folder): start cold
    monkeypatch.setattr("razee.sources.kustomize.expander._builds", OrderedDict())
    first = expand("overlays/eu", ctx)
    again = expand("overlays/eu", ctx)
    assert calls == ["build"] and again.objects == first.objects and again.info == first.info
    again.objects[0][0]["metadata"]["name"] = "changed"  # callers own what they get: the cache is not touched
    assert expand("overlays/eu", ctx).objects == first.objects
    service = repo / "base" / "service.yaml"
    service.write_text(service.read_text().replace("team: platform", "team: web"))
    changed = expand("overlays/eu", ctx)
    assert calls == ["build", "build"] and changed.info.digest != first.info.digest
    assert changed.objects[2][0]["metadata"]["annotations"] == {"team": "web"}
    assert [o for o, _ in changed.objects] == kustomize_cli(repo / "overlays" / "eu")
