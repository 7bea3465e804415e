"""Bad HelmChart input gets one clear error naming the declaring template (file:line), the chart and helm's own
file:line, and nothing is returned (the expander raises before anything could be applied)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from razee.errors import EXIT_USER_ERROR, InputError
from razee.sources.helm import HelmExpander
from tests.helpers.charts import DECL_LINE, DECL_TEMPLATE, context, declaration, helm_batch

WHERE = f"{DECL_TEMPLATE}:{DECL_LINE}"


def fail(tmp: Path, spec: dict[str, Any]) -> InputError:
    with pytest.raises(InputError) as e:
        HelmExpander().expand(declaration(spec), context(tmp))
    assert e.value.exit_code == EXIT_USER_ERROR
    return e.value


def test_an_unknown_spec_field_names_the_declaring_file_and_line(tmp_path: Path) -> None:
    err = fail(tmp_path, {"path": "charts/corpus", "valuez": {}})
    assert f"{WHERE}: spec.valuez:" in str(err)


def test_path_and_repo_together_are_refused(tmp_path: Path) -> None:
    err = fail(tmp_path, {"path": "charts/corpus", "repo": "https://x", "chart": "c", "version": "1"})
    assert "either path or repo/chart/version" in str(err)


def test_required_names_the_chart_file_and_line(tmp_path: Path) -> None:
    err = fail(tmp_path, {"path": "charts/corpus"})
    assert WHERE in str(err)
    assert "corpus/templates/deployment.yaml:16:" in str(err) and "image.tag is required" in str(err)


def test_values_failing_the_schema_name_the_chart_and_value_path(tmp_path: Path) -> None:
    err = fail(tmp_path, {"path": "charts/corpus", "values": {"image": {"tag": "1"}, "replicas": "two"}})
    assert f"{WHERE}: spec.values:" in str(err)
    assert "values.schema.json" in str(err) and "corpus" in str(err) and "/replicas" in str(err)


def test_a_broken_tpl_value_says_to_use_jinja_raw(tmp_path: Path) -> None:
    err = fail(tmp_path, {"path": "charts/corpus", "values": {"image": {"tag": "1"}, "greeting": "{{ .Oops "}})
    assert "corpus/templates/configmap.yaml:7" in str(err) and "{% raw %}" in str(err)


def test_a_path_outside_the_fleet_repo_is_refused(tmp_path: Path) -> None:
    err = fail(tmp_path, {"path": "../../razee"})
    assert f"{WHERE}: spec.path:" in str(err)


def test_a_digest_pin_that_does_not_match_gives_both_digests(tmp_path: Path) -> None:
    err = fail(tmp_path, {"path": "charts/corpus", "digest": "sha256:" + "0" * 64, "values": {"image": {"tag": "1"}}})
    assert f"{WHERE}: spec.digest:" in str(err)
    assert str(err).count("sha256:") == 2


def test_a_values_file_that_is_missing_is_named(tmp_path: Path) -> None:
    err = fail(tmp_path, {"path": "charts/corpus", "valuesFiles": ["charts/nope.yaml"]})
    assert f"{WHERE}: spec.valuesFiles.0:" in str(err)


def test_values_files_then_inline_values(tmp_path: Path) -> None:
    repo = tmp_path / "fleet"
    (repo / "charts").mkdir(parents=True)

    shutil.copytree(Path(__file__).parents[1] / "data/charts", repo / "charts", dirs_exist_ok=True)
    (repo / "values.yaml").write_text("image: {tag: from-file}\nreplicas: 4\n")
    got = HelmExpander().expand(
        declaration({"path": "charts/corpus", "valuesFiles": ["values.yaml"], "values": {"replicas": 2}}),
        context(tmp_path / "c", repo=repo),
    )
    dep = next(o for o, _ in got.objects if o["kind"] == "Deployment")
    assert dep["spec"]["replicas"] == 2
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":from-file")


def test_razee_helm_batch_reports_the_same_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAZEE_HELM_BATCH", helm_batch())
    err = fail(tmp_path, {"path": "charts/corpus", "values": {"image": {"tag": "x1"}, "replicas": 0}})
    assert "values.schema.json" in str(err) and "/replicas" in str(err)
    err = fail(tmp_path, {"path": "charts/corpus", "values": {"image": {"tag": ""}}})
    assert "corpus/templates/deployment.yaml:16:" in str(err) and "image.tag is required" in str(err)
