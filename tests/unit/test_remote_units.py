"""The RemoteManifests spec: a pin is required, URLs are http(s) without credentials, unknown fields are refused;
every error names the declaring template's file, line and field."""

from __future__ import annotations

import pytest

from razee.errors import InputError
from razee.sources.remote.spec import parse_spec
from tests.helpers.sourcefixtures import DECL_LINE, DECL_TEMPLATE, declaration

WHERE = f"{DECL_TEMPLATE}:{DECL_LINE}"
PIN = "0f1e" * 16
URL = "https://example.com/calico/v3.28/calico.yaml"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"url": URL},
            f"{WHERE}: spec.sha256: RemoteManifests calico: an unpinned URL is refused: give sha256, the "
            "file's SHA-256 (`sha256sum FILE`), so what is applied is what the fleet repo fixes",
        ),
        ({"url": URL, "sha256": ""}, f"{WHERE}: spec.sha256: RemoteManifests calico: an unpinned URL is refused"),
        ({"url": URL, "sha256": "abc"}, f"{WHERE}: spec.sha256: RemoteManifests calico: sha256 must be 64 hex digits"),
        (
            {"url": URL, "sha256": PIN, "sha265": PIN},
            f"{WHERE}: spec.sha265: RemoteManifests calico: Extra inputs are not permitted",
        ),
        (
            {"url": "ftp://example.com/x.yaml", "sha256": PIN},
            f"{WHERE}: spec.url: RemoteManifests calico: url must be an http(s):// URL, not 'ftp://example.com/x.yaml'",
        ),
        (
            {"url": "https://fleet:hunter2@example.com/x.yaml", "sha256": PIN},
            f"{WHERE}: spec.url: RemoteManifests calico: url must not carry credentials",
        ),
        ({"sha256": PIN}, f"{WHERE}: spec.url: RemoteManifests calico: Field required"),
        ([URL], f"{WHERE}: spec: RemoteManifests needs a spec mapping"),
    ],
)
def test_a_bad_spec_names_the_declaring_template_line_and_field(spec: object, message: str) -> None:
    with pytest.raises(InputError) as err:
        parse_spec(declaration("RemoteManifests", spec, "calico"))
    assert str(err.value).startswith(message), str(err.value)
    assert "hunter2" not in str(err.value)


def test_a_good_spec_and_its_digest() -> None:
    spec = parse_spec(
        declaration("RemoteManifests", {"url": URL, "sha256": "SHA256:" + PIN.upper(), "dependsOn": ["crds"]}, "calico")
    )
    assert (spec.url, spec.sha256, spec.digest, spec.depends_on) == (URL, PIN, f"sha256:{PIN}", ["crds"])
    plain = parse_spec(declaration("RemoteManifests", {"url": "http://10.0.0.1:8080/x.yaml", "sha256": PIN}))
    assert plain.url == "http://10.0.0.1:8080/x.yaml"  # plain HTTP is allowed: the pin verifies the bytes
