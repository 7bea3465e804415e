"""Pulling charts from real repositories on loopback: an HTTP chart repository (index.yaml, served by http.server)
and an OCI registry (Debian's docker-registry filled with `helm push`); digests, pins, credentials, a repository
that is down, and unknown charts or versions."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
from pathlib import Path

import pytest

from razee.errors import EXIT_SERVICE, EXIT_USER_ERROR, InputError, ServiceError
from razee.sources.helm import HelmExpander
from tests.helpers.charts import (
    REGISTRY_USER,
    ChartRepo,
    Registry,
    chart_repo,
    context,
    declaration,
    free_port,
    ident,
    oci_registry,
    oci_registry_auth,
    reference,
)

__all__ = ["chart_repo", "oci_registry", "oci_registry_auth"]  # session fixtures

VALUES = {"image": {"tag": "1"}}


def sha(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_chart_from_an_http_repository(chart_repo: ChartRepo, tmp_path: Path) -> None:
    ctx = context(tmp_path)
    spec = {"repo": chart_repo.url, "chart": "corpus", "version": "0.1.0", "values": VALUES}
    got = HelmExpander().expand(declaration(spec), ctx)
    assert (got.info.chart, got.info.version, got.info.digest) == ("corpus", "0.1.0", sha(chart_repo.archive))
    assert ctx.cache.get(sha(chart_repo.archive)) == chart_repo.archive.read_bytes()
    assert ctx.cache.last_good(f"helm:{chart_repo.url}|corpus|0.1.0") == sha(chart_repo.archive)
    assert {"Deployment", "Secret", "Service", "CustomResourceDefinition"} <= {o["kind"] for o, _ in got.objects}
    other = HelmExpander().expand(declaration({**spec, "version": "0.2.0"}), ctx)
    assert other.info.version == "0.2.0" and other.info.digest != got.info.digest


def test_a_pulled_chart_renders_what_helm_template_renders_from_the_archive(
    chart_repo: ChartRepo, tmp_path: Path
) -> None:
    """razee renders a pulled chart from its archive unpacked once per digest; helm reads the .tgz itself."""
    spec = {"repo": chart_repo.url, "chart": "corpus", "version": "0.1.0", "values": VALUES}
    want = reference(chart_repo.archive, tmp_path, "corpus", "apps", VALUES, "v1.36.3", ())
    want = [o for o in want if o["metadata"].get("annotations", {}).get("helm.sh/hook") != "test"]
    for _ in range(2):  # unpacked by the first expansion, read as a folder by the second
        got = [o for o, _ in HelmExpander().expand(declaration(spec), context(tmp_path / "cache")).objects]
        assert sorted(map(ident, got)) == sorted(map(ident, want))
        by_id = {ident(o): o for o in want}
        for obj in got:
            ref = by_id[ident(obj)]
            assert {**obj, "metadata": {**obj["metadata"], "namespace": ref["metadata"].get("namespace")}} == {
                **ref,
                "metadata": {**ref["metadata"], "namespace": ref["metadata"].get("namespace")},
            }, ident(obj)


def test_an_unknown_version_or_chart_is_an_input_error(chart_repo: ChartRepo, tmp_path: Path) -> None:
    for field, spec in (
        ("spec.version", {"version": "9.9.9", "chart": "corpus"}),
        ("spec.chart", {"version": "0.1.0", "chart": "nope"}),
    ):
        with pytest.raises(InputError) as e:
            HelmExpander().expand(declaration({"repo": chart_repo.url, **spec}), context(tmp_path))
        assert e.value.exit_code == EXIT_USER_ERROR and f": {field}: " in str(e.value)


def test_an_unreachable_repository_is_a_service_error(tmp_path: Path) -> None:
    spec = {"repo": f"http://127.0.0.1:{free_port()}", "chart": "corpus", "version": "0.1.0"}
    with pytest.raises(ServiceError) as e:
        HelmExpander().expand(declaration(spec), context(tmp_path))
    assert e.value.exit_code == EXIT_SERVICE and "cannot reach" in str(e.value)


def test_a_pulled_chart_with_another_digest_is_refused(chart_repo: ChartRepo, tmp_path: Path) -> None:
    wrong = "sha256:" + "1" * 64
    spec = {"repo": chart_repo.url, "chart": "corpus", "version": "0.1.0", "digest": wrong, "values": VALUES}
    with pytest.raises(InputError) as e:
        HelmExpander().expand(declaration(spec), context(tmp_path))
    assert wrong in str(e.value) and sha(chart_repo.archive) in str(e.value)


def test_a_repository_that_goes_down_keeps_the_last_good_chart(chart_repo: ChartRepo, tmp_path: Path) -> None:
    port = free_port()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", port), functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(chart_repo.root))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # this server serves the index; the archives it names stay on the fixture's server
    spec = {"repo": f"http://127.0.0.1:{port}", "chart": "corpus", "version": "0.1.0", "values": VALUES}
    ctx = context(tmp_path)
    first = HelmExpander().expand(declaration(spec), ctx)
    server.shutdown()
    server.server_close()
    later = context(tmp_path)  # the next pass (a pass pulls a chart once: razee.sources.expander.Shared)
    again = HelmExpander().expand(declaration(spec), later)
    assert again.info.digest == first.info.digest
    assert any("unreachable" in n and "last good" in n for n in later.notes)
    pinned = context(tmp_path)  # a pin found in the cache needs no repository at all
    assert HelmExpander().expand(declaration({**spec, "digest": first.info.digest}), pinned).objects


def test_credentials_come_from_the_context(chart_repo: ChartRepo, tmp_path: Path) -> None:
    spec = {"repo": chart_repo.url + "/private", "chart": "corpus", "version": "0.1.0", "values": VALUES}
    with pytest.raises(ServiceError) as e:
        HelmExpander().expand(declaration(spec), context(tmp_path))
    assert "401" in str(e.value)
    creds = {chart_repo.url.removeprefix("http://"): {"username": "fleet", "password": "s3cret"}}
    got = HelmExpander().expand(declaration(spec), context(tmp_path, credentials=creds))
    assert got.info.version == "0.1.0"
    assert "s3cret" not in repr(got.info)


def test_a_chart_from_an_oci_registry(oci_registry: Registry, tmp_path: Path) -> None:
    spec = {"repo": f"oci://{oci_registry.host}/charts", "chart": "corpus", "version": "0.1.0", "values": VALUES}
    ctx = context(tmp_path)
    got = HelmExpander().expand(declaration(spec), ctx)
    assert got.info.digest == sha(oci_registry.archive)  # the chart layer: the archive helm pushed
    assert "Deployment" in {o["kind"] for o, _ in got.objects}
    with pytest.raises(InputError) as e:
        HelmExpander().expand(declaration({**spec, "version": "7.0.0"}), ctx)
    assert ": spec.version: " in str(e.value)


def test_an_oci_registry_with_credentials(oci_registry_auth: Registry, tmp_path: Path) -> None:
    spec = {"repo": f"oci://{oci_registry_auth.host}/charts", "chart": "corpus", "version": "0.1.0", "values": VALUES}
    with pytest.raises(ServiceError) as e:
        HelmExpander().expand(declaration(spec), context(tmp_path / "none"))
    assert e.value.exit_code == EXIT_SERVICE
    creds = {oci_registry_auth.host: {"username": REGISTRY_USER[0], "password": REGISTRY_USER[1]}}
    got = HelmExpander().expand(declaration(spec), context(tmp_path / "creds", credentials=creds))
    assert got.info.digest == sha(oci_registry_auth.archive)
