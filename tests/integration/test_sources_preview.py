"""The preview of a change that only a source sees: a chart's own values in charts/, no template touched. The
spoke is rendered (charts/ is an input of every template), the chart's object changes with the chain named, and
the notes say what expanding offline could not do (`lookup`, test hooks)."""

from __future__ import annotations

import shutil
from pathlib import Path

import git

from razee.preview.format import preview_lines
from razee.preview.run import preview_revisions
from razee.reconcile.load import Selection
from tests.conftest import REPO
from tests.fleetrepo import fleet_copy
from tests.helpers.sources import helm_chart, namespace_template, one_spoke_repo

ACTOR = git.Actor("t", "t@example.com")


def test_a_change_inside_a_chart_is_previewed_with_the_chain_and_the_offline_notes(tmp_path: Path) -> None:
    root = tmp_path / "fleet"
    fleet = fleet_copy()
    fleet["policies"]["rules"]["resources"] = {"enabled": False}  # the corpus chart sets no resources
    spec = {"path": "charts/corpus", "values": {"image": {"repository": "icr.io/corpus", "tag": "1.0"}}}
    one_spoke_repo(
        root,
        {"spoke/ns.yaml.j2": namespace_template("apps"), "spoke/corpus.yaml.j2": helm_chart("corpus", "apps", spec)},
        with_chart=False,
        fleet=fleet,
    )
    shutil.copytree(REPO / "tests" / "data" / "charts", root / "charts")
    repo = git.Repo.init(root, initial_branch="main")
    repo.git.add(A=True)
    repo.index.commit("one", author=ACTOR, committer=ACTOR)
    values = root / "charts" / "corpus" / "values.yaml"
    values.write_text(values.read_text().replace("replicas: 1", "replicas: 3"))
    repo.git.add(A=True)
    repo.index.commit("two", author=ACTOR, committer=ACTOR)

    preview = preview_revisions(str(root), "HEAD~1", "HEAD", Selection())
    [spoke] = preview.changed_spokes()
    [change] = spoke.objects
    assert (change.key.kind, change.key.name, change.paths) == ("Deployment", "corpus-corpus", ["/spec/replicas"])
    assert change.source is not None and change.source.template == "templates/spoke/corpus.yaml.j2"
    assert str(change.source.origin) == "HelmChart corpus, corpus/templates/deployment.yaml"
    assert spoke.notes == [
        "HelmChart corpus (corpus 0.1.0): `lookup` sees nothing offline",
        "HelmChart corpus: 1 test hook(s) not applied (razee never runs `helm test`)",
    ]
    shown = "\n".join(line.plain for line in preview_lines(preview))
    assert "via HelmChart corpus, corpus/templates/deployment.yaml" in shown
    assert "  note: HelmChart corpus (corpus 0.1.0): `lookup` sees nothing offline" in shown
    assert preview.to_json()["spokes"][0]["objects"][0]["source"]["origin"] == {
        "kind": "HelmChart",
        "name": "corpus",
        "file": "corpus/templates/deployment.yaml",
    }
