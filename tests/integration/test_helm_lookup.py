"""Helm's `lookup` against a real kube-apiserver: live, it reads the cluster (read only); offline it sees nothing
and the expander says so for that chart."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from razee.sources.helm import HelmExpander
from tests.helpers.charts import CHARTS, context, declaration

SPEC = {"path": "charts/corpus", "values": {"image": {"tag": "1"}, "widgets": []}}


def config_of(objects: list[tuple[dict[str, object], str | None]]) -> dict[str, str]:
    cm = next(o for o, _ in objects if o["kind"] == "ConfigMap" and str(o["metadata"]).find("-config") > 0)
    return cm["data"]  # type: ignore[return-value]


def install_corpus_crds(api_client: object) -> None:
    """The corpus's CRDs, as the engine's CRD stage applies them before a chart's server dry run can map its custom
    resources (created if missing; shared by the session, never deleted: other tests may use them)."""
    ext = client.ApiextensionsV1Api(api_client)
    for crd in yaml.safe_load_all((CHARTS / "corpus" / "crds" / "widgets.yaml").read_text()):
        try:
            ext.create_custom_resource_definition(crd)
        except ApiException as e:
            assert e.status == 409, e
    deadline = time.monotonic() + 60
    for crd in yaml.safe_load_all((CHARTS / "corpus" / "crds" / "widgets.yaml").read_text()):
        while True:
            got = ext.read_custom_resource_definition(crd["metadata"]["name"])
            conditions = (got.status.conditions if got.status else None) or []
            if any(c.type == "Established" and c.status == "True" for c in conditions):
                break
            assert time.monotonic() < deadline, f"{crd['metadata']['name']} not Established in 60 s"
            time.sleep(0.2)


def test_lookup_reads_the_live_cluster_and_writes_nothing(
    kubeconfig: str, api_client: object, namespace: str, tmp_path: Path
) -> None:
    install_corpus_crds(api_client)
    core = client.CoreV1Api(api_client)
    core.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="corpus-seed"), data={"seed": "live"})
    )
    ctx = context(tmp_path, kubeconfig=Path(kubeconfig))
    spec = {**SPEC, "values": {**SPEC["values"]}}  # type: ignore[dict-item]
    got = HelmExpander().expand(declaration(spec, "rel", namespace), ctx)
    assert config_of(got.objects)["seed"] == "live"
    names = sorted(str(c.metadata.name if c.metadata else "") for c in core.list_namespaced_config_map(namespace).items)
    assert names == ["corpus-seed", "kube-root-ca.crt"]  # the server dry run created nothing
    assert not core.list_namespaced_secret(namespace).items


def test_offline_lookup_sees_nothing_and_says_so(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    got = HelmExpander().expand(declaration(SPEC, "rel", "apps"), ctx)
    assert config_of(got.objects)["seed"] == "none"
    assert any("lookup" in n and "offline" in n and "corpus" in n for n in ctx.notes)


def test_a_first_install_renders_without_the_cluster_and_says_why(
    cluster_factory: Callable[[str], str], tmp_path: Path
) -> None:
    """A cluster that does not serve the chart's CRDs yet (a first install) cannot take helm's server dry run."""
    kubeconfig = cluster_factory("helm-fresh")
    ctx = context(tmp_path, kubeconfig=Path(kubeconfig))
    got = HelmExpander().expand(declaration(SPEC, "rel", "apps"), ctx)
    assert config_of(got.objects)["seed"] == "none"
    assert any("saw nothing" in n and "CRDs" in n for n in ctx.notes)
