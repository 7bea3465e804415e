"""The RemoteManifests source against a real HTTP server on loopback: a pinned file is fetched, verified and read
(multi-document YAML, `kind: List` flattened); a mismatch, a 404, a server that is down or failing, a bad file
each give their error and nothing; once fetched, the pinned file comes from the cache without any request."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

import pytest

from razee.errors import EXIT_SERVICE, EXIT_USER_ERROR, InputError, RazeeError, ServiceError
from razee.sources.cache import SourceCache
from razee.sources.expander import ExpandContext, Expansion
from razee.sources.remote import RemoteExpander
from tests.helpers.charts import context, free_port
from tests.helpers.sourcefixtures import (
    DECL_LINE,
    DECL_TEMPLATE,
    PASSWORD,
    USER,
    FileServer,
    declaration,
    file_server,
    sha256_hex,
)

BUNDLE = b"""# calico, much shortened
apiVersion: v1
kind: Namespace
metadata:
  name: calico-system
---
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ServiceAccount
    metadata: {name: calico-node, namespace: calico-system}
  - apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRole
    metadata: {name: calico-node}
    rules: []
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: calico-node, namespace: calico-system}
spec:
  selector: {matchLabels: {k8s-app: calico-node}}
  template:
    metadata: {labels: {k8s-app: calico-node}}
    spec: {containers: [{name: calico-node, image: calico/node:v3.28.0}]}
"""
WHERE = f"{DECL_TEMPLATE}:{DECL_LINE}"


@pytest.fixture(autouse=True)
def cold(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parsed files are kept in memory by digest for the process: each test starts without them."""
    monkeypatch.setattr("razee.sources.remote.expander._parsed", OrderedDict())


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FileServer]:
    with file_server(tmp_path / "www") as srv:
        yield srv


@pytest.fixture
def ctx(tmp_path: Path) -> ExpandContext:
    return context(tmp_path / "cache", credentials={})


def expand(url: str, sha256: str, ctx: ExpandContext) -> Expansion:
    return RemoteExpander().expand(declaration("RemoteManifests", {"url": url, "sha256": sha256}, "calico"), ctx)


def failure(url: str, sha256: str, ctx: ExpandContext) -> RazeeError:
    with pytest.raises(RazeeError) as err:
        expand(url, sha256, ctx)
    return err.value


def test_a_pinned_file_is_fetched_verified_and_read(server: FileServer, ctx: ExpandContext) -> None:
    url = server.put("calico/v3.28/calico.yaml", BUNDLE)
    result = expand(url, sha256_hex(BUNDLE), ctx)
    got = [(o["kind"], o["metadata"]["name"], file) for o, file in result.objects]
    assert got == [
        ("Namespace", "calico-system", url),
        ("ServiceAccount", "calico-node", url),
        ("ClusterRole", "calico-node", url),
        ("DaemonSet", "calico-node", url),
    ]
    assert result.objects[3][0]["spec"]["template"]["spec"]["containers"][0]["image"] == "calico/node:v3.28.0"
    info = result.info
    assert (info.name, info.kind, info.chart, info.digest) == (
        "calico",
        "RemoteManifests",
        url,
        "sha256:" + sha256_hex(BUNDLE),
    )
    assert ctx.cache.get("sha256:" + sha256_hex(BUNDLE)) == BUNDLE  # kept by digest


def test_a_cached_pin_needs_no_server(tmp_path: Path) -> None:
    """Once fetched, a pinned file is used without a request: the server being down afterwards does not matter."""
    with file_server(tmp_path / "www") as srv:
        url = srv.put("calico.yaml", BUNDLE)
        first = expand(url, sha256_hex(BUNDLE), context(tmp_path / "cache"))
        assert srv.hits == ["/calico.yaml"]
        again = expand(url, sha256_hex(BUNDLE), context(tmp_path / "cache"))
        assert srv.hits == ["/calico.yaml"]  # no second request while it is up
    down = expand(url, sha256_hex(BUNDLE), context(tmp_path / "cache"))  # the port is closed now
    assert first.objects == again.objects == down.objects


def test_a_server_that_is_down_without_a_cached_copy_is_a_service_error(ctx: ExpandContext) -> None:
    url = f"http://127.0.0.1:{free_port()}/calico.yaml"  # nothing listens there
    err = failure(url, sha256_hex(BUNDLE), ctx)
    assert isinstance(err, ServiceError) and err.exit_code == EXIT_SERVICE
    assert str(err).startswith(f"{WHERE}: spec.url: RemoteManifests calico: cannot reach {url}")


def test_a_failing_server_is_a_service_error(server: FileServer, ctx: ExpandContext) -> None:
    err = failure(f"{server.url}/fail/calico.yaml", sha256_hex(BUNDLE), ctx)
    assert isinstance(err, ServiceError) and err.exit_code == EXIT_SERVICE
    assert "answered 500" in str(err)


def test_a_missing_file_is_an_input_error(server: FileServer, ctx: ExpandContext) -> None:
    url = f"{server.url}/calico/v9.99/calico.yaml"
    err = failure(url, sha256_hex(BUNDLE), ctx)
    assert isinstance(err, InputError) and err.exit_code == EXIT_USER_ERROR
    assert str(err) == f"{WHERE}: spec.url: RemoteManifests calico: {url} answered 404: no such file"


def test_a_sha256_mismatch_names_both_digests_and_keeps_nothing(server: FileServer, ctx: ExpandContext) -> None:
    tampered = BUNDLE.replace(b"v3.28.0", b"v6.66.6")
    url = server.put("calico.yaml", tampered)
    err = failure(url, sha256_hex(BUNDLE), ctx)
    assert isinstance(err, InputError) and err.exit_code == EXIT_USER_ERROR
    assert str(err) == (
        f"{WHERE}: spec.sha256: RemoteManifests calico: {url} has sha256 {sha256_hex(tampered)}, "
        f"the spec pins {sha256_hex(BUNDLE)}: refused, nothing applied"
    )
    assert ctx.cache.get("sha256:" + sha256_hex(tampered)) is None


def test_credentials_come_from_the_settings_by_host_and_are_never_shown(server: FileServer, tmp_path: Path) -> None:
    url = server.put("private/calico.yaml", BUNDLE)
    host = url.split("/")[2]
    without = failure(url, sha256_hex(BUNDLE), context(tmp_path / "c1"))
    assert isinstance(without, ServiceError) and "answered 401" in str(without)
    wrong = failure(
        url,
        sha256_hex(BUNDLE),
        context(tmp_path / "c2", credentials={host: {"username": USER, "password": "nope-secret"}}),
    )
    assert "answered 401" in str(wrong) and "nope-secret" not in str(wrong)
    ok = expand(
        url, sha256_hex(BUNDLE), context(tmp_path / "c3", credentials={host: {"username": USER, "password": PASSWORD}})
    )
    assert len(ok.objects) == 4
    assert PASSWORD not in repr(ok) and PASSWORD not in repr(ok.info.to_json())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: a: b\n",
            "{url}:6: invalid YAML: mapping values are not allowed",
        ),
        (
            b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"
            b"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
            "{url}:5: manifest has no metadata.name",
        ),
        (
            b"apiVersion: v1\nkind: List\nitems:\n"
            b"- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n- {kind: X}\n",
            "{url}:1 item 2: manifest has no apiVersion",
        ),
        (b"# nothing but a comment\n---\n", "{url} holds no manifests"),
        (b"\xff\xfe binary", "{url} is not UTF-8 text"),
    ],
)
def test_a_bad_file_names_the_url_and_line(server: FileServer, ctx: ExpandContext, text: bytes, message: str) -> None:
    url = server.put("bad.yaml", text)
    err = failure(url, sha256_hex(text), ctx)
    assert isinstance(err, InputError) and err.exit_code == EXIT_USER_ERROR
    assert str(err).startswith(f"{WHERE}: spec.url: RemoteManifests calico: {message.format(url=url)}"), str(err)


def test_a_damaged_cache_entry_is_fetched_again(server: FileServer, tmp_path: Path) -> None:
    url = server.put("calico.yaml", BUNDLE)
    cache = SourceCache(tmp_path / "cache")
    (cache.root / "blobs" / sha256_hex(BUNDLE)).write_bytes(b"garbage")
    result = expand(url, sha256_hex(BUNDLE), context(tmp_path / "cache"))
    assert len(result.objects) == 4 and server.hits == ["/calico.yaml"]


def test_anchors_and_merge_keys_of_an_upstream_file_are_read(server: FileServer, ctx: ExpandContext) -> None:
    """Upstream bundles are not razee templates: YAML's anchors, aliases and merge keys are theirs to use."""
    text = b"""apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: a, labels: &labels {app: calico}}
  data: &data {x: '1'}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: b, labels: *labels}
  data: {<<: *data, y: '2'}
"""
    url = server.put("anchors.yaml", text)
    objects = [obj for obj, _ in expand(url, sha256_hex(text), ctx).objects]
    assert objects[1] == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "b", "labels": {"app": "calico"}},
        "data": {"x": "1", "y": "2"},
    }
    objects[0]["metadata"]["labels"]["app"] = "changed"  # what a caller gets is its own, not shared with the cache
    assert expand(url, sha256_hex(text), ctx).objects[1][0]["metadata"]["labels"] == {"app": "calico"}
