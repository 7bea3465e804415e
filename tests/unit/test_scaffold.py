"""`razee init`'s scaffold: the agent's template is the example fleet's, and the image's registry is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from razee.scaffold import FILES, FleetSettings, write_fleet

REPO = Path(__file__).resolve().parents[2]


def test_the_agent_template_is_the_example_fleets() -> None:
    shipped = FILES / "templates" / "spoke" / "razee-agent.yaml.j2"
    assert shipped.read_text() == (REPO / "templates" / "spoke" / "razee-agent.yaml.j2").read_text()


@pytest.mark.parametrize(
    ("image", "allowed"),
    [
        ("registry.example.com/razee/razee:0.1.0", "registry.example.com/razee/*"),
        ("registry.example.com:5000/razee@sha256:abc", "registry.example.com:5000/*"),
        ("razee:0.1.0", "razee*"),
    ],
)
def test_the_agents_registry_is_allowed(image: str, allowed: str) -> None:
    assert FleetSettings(image=image).registry == allowed


def test_values_are_quoted_yaml_scalars(tmp_path: Path) -> None:
    write_fleet(tmp_path / "f", FleetSettings(fleet_repo="https://git.example.com/a: b #c.git"))
    assert 'fleetRepo: "https://git.example.com/a: b #c.git"' in (tmp_path / "f/environments/fleet.yaml").read_text()
