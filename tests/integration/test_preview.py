"""`razee diff --from/--to`: previews between revisions of real git repositories, with no cluster."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import git
import pytest

from razee.fleet.loader import load_fleet
from razee.preview.run import preview_revisions
from razee.reconcile.load import Selection
from tests.conftest import run_razee
from tests.fleetrepo import TEMPLATES, fleet_copy, region_copy, write_repo

ACTOR = git.Actor("t", "t@example.com")


class History:
    """A fleet repo with two regions whose commits the test scripts."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.fleet = fleet_copy()
        self.regions = {"us-south": region_copy(), "eu-de": _eu()}
        self.templates = dict(TEMPLATES)
        self.write()
        self.repo = git.Repo.init(root)
        self.commit("initial")

    def write(self) -> None:
        for f in (self.root / "environments" / "regions").glob("*.yaml") if self.root.exists() else []:
            f.unlink()
        if (self.root / "templates").exists():
            for f in (self.root / "templates").rglob("*.j2"):
                f.unlink()
        write_repo(self.root, self.fleet, list(self.regions.values()), self.templates)

    def commit(self, message: str) -> str:
        self.write()
        self.repo.git.add(A=True)
        self.repo.index.commit(message, author=ACTOR, committer=ACTOR)
        return self.repo.head.commit.hexsha

    def diff(self, *extra: str) -> Any:
        return run_razee("diff", "--repo", str(self.root), "--from", "HEAD~1", "--to", "HEAD", *extra)

    def summary(self) -> dict[str, Any]:
        r = self.diff("-o", "json")
        assert r.returncode in (0, 1), r.stderr
        return json.loads(r.stdout)["summary"]  # type: ignore[no-any-return]


def _eu() -> dict[str, Any]:
    return {
        "name": "eu-de",
        "zones": ["fra02"],
        "spokes": [{"name": "eu-spoke", "wave": "main"}],
        "clusters": [
            {
                "name": "e1",
                "workerPools": [{"name": "default", "flavor": "b3c.4x16", "sizePerZone": 1, "zones": ["fra02"]}],
            }
        ],
    }


@pytest.fixture
def history(tmp_path: Path) -> History:
    return History(tmp_path / "fleet")


def test_one_value_in_one_region(history: History) -> None:
    history.regions["us-south"]["clusters"][0]["values"] = {"replicas": 9}
    history.commit("c1 replicas")
    s = history.summary()
    assert (s["regions"], s["spokes"], s["clusters"], s["objects"]) == (1, 1, 0, 1)
    assert s["objectsByKind"] == {"ConfigMap": 1}
    assert s["spokesRendered"] == 1 and s["spokesTotal"] == 3  # eu-spoke and the other us-south spoke untouched
    r = history.diff()
    assert r.returncode == 1
    assert "~ changed ConfigMap master-c1/master at /data/replicas" in r.stdout


def test_add_a_cluster(history: History) -> None:
    history.regions["eu-de"]["clusters"].append({**history.regions["eu-de"]["clusters"][0], "name": "e2"})
    history.commit("add e2")
    s = history.summary()
    assert (s["regions"], s["spokes"], s["clusters"], s["objects"]) == (1, 1, 1, 3)
    # 2 objects of the new cluster, and the spoke's info ConfigMap that lists its clusters
    assert s["objectsByAction"] == {"added": 2, "changed": 1}
    out = history.diff().stdout
    assert "infra: cluster e2 added" in out


def test_remove_a_spoke(history: History) -> None:
    c2_moves = load_fleet(history.root).assignments["c2"] == "spoke-b"
    history.regions["us-south"]["spokes"] = history.regions["us-south"]["spokes"][:1]
    history.regions["us-south"]["clusters"][1]["spoke"] = None
    history.regions["us-south"]["clusters"][1].pop("spoke")
    history.commit("remove spoke-b")
    j = json.loads(history.diff("-o", "json").stdout)
    statuses = {s["spoke"]: s["status"] for s in j["spokes"]}
    assert statuses == ({"spoke-a": "changed", "spoke-b": "removed"} if c2_moves else {"spoke-b": "removed"})
    removed = next(s for s in j["spokes"] if s["spoke"] == "spoke-b")
    assert all(o["action"] == "removed" for o in removed["objects"])


def test_a_template_used_everywhere(history: History) -> None:
    history.templates["cluster/master.yaml.j2"] = history.templates["cluster/master.yaml.j2"].replace(
        "  version:", "  owner: razee\n  version:"
    )
    history.commit("label every master")
    s = history.summary()
    fleet = load_fleet(history.root)
    hosting = {fleet.assignments[c] for c in ("c1", "c2", "e1")}  # every spoke that hosts a cluster
    assert (s["regions"], s["spokes"], s["clusters"], s["objects"]) == (2, len(hosting), 0, 3)
    assert s["objectsByAction"] == {"changed": 3}


def test_renaming_a_template_without_output_change_is_no_diff(history: History) -> None:
    history.templates["cluster/main.yaml.j2"] = history.templates.pop("cluster/master.yaml.j2")
    history.commit("rename template")
    r = history.diff()
    assert r.returncode == 0, r.stdout
    assert "0 objects change" in r.stdout


def test_a_commit_outside_the_fleet_files_is_a_no_op(history: History) -> None:
    (history.root / "README.md").write_text("docs only\n")
    history.commit("docs")
    r = history.diff("-o", "json")
    assert r.returncode == 0
    assert json.loads(r.stdout)["summary"]["objects"] == 0


def test_malformed_revisions(history: History) -> None:
    (history.root / "environments" / "regions" / "eu-de.yaml").write_text("name: [broken\n")
    history.repo.git.add(A=True)
    history.repo.index.commit("break", author=ACTOR, committer=ACTOR)
    r = history.diff()
    assert r.returncode == 2
    assert "revision HEAD is invalid" in r.stderr
    assert "environments/regions/eu-de.yaml:2: invalid YAML" in r.stderr
    bad_rev = run_razee("diff", "--repo", str(history.root), "--from", "nope", "--to", "HEAD")
    assert bad_rev.returncode == 2 and "unknown revision 'nope'" in bad_rev.stderr


def test_markdown_and_narrowing(history: History) -> None:
    history.regions["eu-de"]["values"] = {"replicas": 3}
    history.regions["us-south"]["values"] = {"replicas": 4}
    history.commit("both regions")
    md = history.diff("-o", "markdown")
    assert md.returncode == 1
    assert md.stdout.startswith("### razee preview: `HEAD~1` → `HEAD`")
    assert "| eu-de |" in md.stdout and "| us-south |" in md.stdout
    only = json.loads(history.diff("--region", "eu-de", "-o", "json").stdout)
    assert {s["spoke"] for s in only["spokes"]} == {"eu-spoke"}


def test_secret_values_are_masked_in_previews(history: History) -> None:
    secret = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: armada\n"
        "stringData:\n  token: {{ values.token | tojson }}\n"
    )
    history.templates["spoke/secret.yaml.j2"] = secret
    history.fleet["values"]["token"] = "canary-old-0001"
    history.commit("secret")
    history.fleet["values"]["token"] = "canary-new-0002"
    history.commit("rotate")
    for fmt in ("text", "json", "markdown"):
        out = history.diff("-o", fmt).stdout
        assert "canary-old" not in out and "canary-new" not in out
    assert "*** (after)" in history.diff().stdout


def test_shortcut_equals_full_render_on_random_commits(history: History) -> None:
    rng = random.Random(1234)
    edits = [
        lambda: history.regions["us-south"]["clusters"][rng.randrange(2)].update(
            values={"replicas": rng.randint(1, 9)}
        ),
        lambda: history.regions["eu-de"].update(values={"replicas": rng.randint(1, 9)}),
        lambda: history.regions["us-south"]["spokes"][rng.randrange(2)].update(values={"replicas": rng.randint(1, 9)}),
        lambda: history.fleet["values"].update(replicas=rng.randint(1, 9)),
        lambda: history.regions["eu-de"]["clusters"].append(
            {**history.regions["eu-de"]["clusters"][0], "name": f"e{rng.randint(100, 999)}"}
        ),
        lambda: history.regions["us-south"]["zones"].append(f"dal{rng.randint(20, 99)}"),
    ]
    rendered_fast = rendered_full = 0
    for i in range(8):
        for _ in range(rng.randint(1, 2)):
            rng.choice(edits)()
        history.commit(f"random {i}")
        fast = preview_revisions(str(history.root), "HEAD~1", "HEAD", Selection())
        full = preview_revisions(str(history.root), "HEAD~1", "HEAD", Selection(), full=True)
        assert fast.to_json()["spokes"] == full.to_json()["spokes"]
        assert fast.summary()["objects"] == full.summary()["objects"]
        rendered_fast += fast.summary()["spokesRendered"]
        rendered_full += full.summary()["spokesRendered"]
    assert rendered_fast < rendered_full  # the shortcut really skipped spokes, and changed no result


def test_template_only_commits_match_the_full_render(history: History) -> None:
    """Commits that change templates only: the old revision renders just the templates whose closure (the
    template, what it imports or includes) changed; the result must equal rendering everything."""
    history.templates["_labels.yaml.j2"] = "{% macro labels() %}{app: master, tier: {{ 'one' }}}{% endmacro %}\n"
    history.templates["cluster/extra.yaml.j2"] = (
        '{% import "_labels.yaml.j2" as l %}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n'
        '  name: extra\n  namespace: master-{{ cluster.name }}\n  labels: {{ l.labels() }}\ndata: {a: "1"}\n'
    )
    history.templates["cluster/inc.yaml.j2"] = '{% include "_body.txt" %}\n'
    history.templates["_body.txt"] = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: inc\n"
        '  namespace: master-{{ cluster.name }}\ndata: {b: "1"}\n'
    )
    history.commit("templates with an import and an include")
    edits = [
        (
            "a macro that one template imports",
            lambda: history.templates.update(
                {"_labels.yaml.j2": history.templates["_labels.yaml.j2"].replace("'one'", "'two'")}
            ),
        ),
        (
            "a file a template includes",
            lambda: history.templates.update({"_body.txt": history.templates["_body.txt"].replace('"1"', '"2"')}),
        ),
        (
            "one template's own text",
            lambda: history.templates.update(
                {
                    "cluster/master.yaml.j2": history.templates["cluster/master.yaml.j2"].replace(
                        "  version:", "  owner: razee\n  version:"
                    )
                }
            ),
        ),
        (
            "a new template",
            lambda: history.templates.update(
                {
                    "spoke/new.yaml.j2": (
                        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: new, namespace: armada}\ndata: {c: x}\n"
                    )
                }
            ),
        ),
        ("a template removed", lambda: history.templates.pop("cluster/extra.yaml.j2")),
        (
            "a comment only",
            lambda: history.templates.update(
                {"cluster/master.yaml.j2": "{# note #}\n" + history.templates["cluster/master.yaml.j2"]}
            ),
        ),
    ]
    changed_counts = []
    for label, edit in edits:
        edit()
        history.commit(label)
        fast = preview_revisions(str(history.root), "HEAD~1", "HEAD", Selection())
        full = preview_revisions(str(history.root), "HEAD~1", "HEAD", Selection(), full=True)
        assert fast.to_json()["spokes"] == full.to_json()["spokes"], label
        changed_counts.append(fast.summary()["objects"])
    # each edit but the comment changes objects, so the comparison above was not of two empty previews
    assert all(n > 0 for n in changed_counts[:-1]) and changed_counts[-1] == 0, changed_counts
