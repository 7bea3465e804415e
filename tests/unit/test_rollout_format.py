"""The rollout format of issue 27: checks, onFailure, windows; every mistake at its file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from razee.errors import InputError
from razee.fleet.cron import parse_cron
from razee.fleet.loader import load_fleet
from razee.fleet.promql import balance_problem
from tests.conftest import run_razee
from tests.fleetrepo import fleet_copy, region_copy, write_repo

QUERY = 'sum(rate(http_requests_total{code=~"5..",spoke="{{ spoke.name }}"}[5m]))'


def _fleet(checks: list[dict[str, Any]], **rollout: Any) -> dict[str, Any]:
    fleet = fleet_copy()
    fleet["rollout"] = {"waves": [{"name": "canary", "bakeTime": "1m", "checks": checks}, {"name": "main"}], **rollout}
    return fleet


def _errors(root: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        load_fleet(root)
    return [str(f) for f in info.value.findings]


def _line_of(root: Path, text: str) -> int:
    lines = (root / "environments/fleet.yaml").read_text().splitlines()
    return next(i + 1 for i, line in enumerate(lines) if text in line)


def test_the_issue_format_loads(tmp_path: Path) -> None:
    fleet = _fleet(
        [{"name": "error-rate", "query": QUERY, "max": 0.5, "interval": "30s"}],
        onFailure="rollback",
        windows=[{"cron": "0 2 * * 1-5", "duration": "4h", "timezone": "America/Chicago"}],
    )
    region = region_copy()
    region["windows"] = [{"cron": "0 3 * * *", "duration": "2h", "timezone": "Europe/Berlin"}]
    loaded = load_fleet(write_repo(tmp_path, fleet=fleet, regions=[region]))
    rollout = loaded.spec.rollout
    assert rollout.on_failure == "rollback" and rollout.windows[0].timezone == "America/Chicago"
    check = rollout.waves[0].checks[0]
    assert (check.max, check.min, check.missing, check.interval) == (0.5, None, "fail", "30s")
    assert loaded.regions[0].windows is not None and loaded.regions[0].windows[0].cron == "0 3 * * *"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('sum(rate(x{spoke="{{ spoke.nmae }}"}[5m]))', "check 'error-rate' for spoke spoke-a: "),
        ('sum(x{spoke="{{ spoke.name | }}"})', "check 'error-rate': Jinja syntax error"),
        ('sum(rate(x{spoke="a"}[5m])', "query is not valid PromQL: '(' opened at column 4 is never closed"),
        ('x{code="5..}', 'quote " opened at column 8 is never closed'),
        ("{{ values.nothing_here }}", "'dict object' has no attribute 'nothing_here'"),
    ],
)
def test_bad_check_queries_are_reported_at_their_line(tmp_path: Path, query: str, expected: str) -> None:
    root = write_repo(tmp_path, fleet=_fleet([{"name": "error-rate", "query": query, "max": 1}]))
    errors = _errors(root)
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"environments/fleet.yaml:{_line_of(root, 'query:')}: ")
    assert expected in errors[0]


@pytest.mark.parametrize(
    ("check", "field", "expected"),
    [
        ({"name": "e", "query": "up"}, "name: e", "needs a threshold"),
        ({"name": "e", "query": "up", "min": 2, "max": 1}, "name: e", "min 2.0 is above max 1.0"),
        ({"name": "e", "query": "up", "max": 1, "interval": "soon"}, "interval:", "invalid duration 'soon'"),
        ({"name": "e", "query": "up", "max": 1, "missing": "ignore"}, "missing:", "Input should be 'fail' or 'pass'"),
    ],
)
def test_bad_check_fields(tmp_path: Path, check: dict[str, Any], field: str, expected: str) -> None:
    root = write_repo(tmp_path, fleet=_fleet([check]))
    errors = _errors(root)
    assert len(errors) == 1 and expected in errors[0], errors
    assert errors[0].split(":")[:2] == ["environments/fleet.yaml", str(_line_of(root, field))]


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ({"cron": "0 2 * *", "duration": "4h"}, "needs 5 fields"),
        ({"cron": "0 25 * * *", "duration": "4h"}, "hour: '25' is outside 0-23"),
        ({"cron": "0 2 * * 1-5", "duration": "4h", "timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"cron": "0 2 * * 1-5", "duration": "9000h"}, "at most 7 days"),
    ],
)
def test_bad_windows(tmp_path: Path, window: dict[str, Any], expected: str) -> None:
    root = write_repo(tmp_path, fleet=_fleet([], windows=[window]))
    errors = _errors(root)
    assert len(errors) == 1 and expected in errors[0], errors
    assert errors[0].startswith(f"environments/fleet.yaml:{_line_of(root, 'cron:')}: rollout.windows[0]")


def test_validate_cli_reports_check_errors_with_file_and_line(tmp_path: Path) -> None:
    root = write_repo(tmp_path, fleet=_fleet([{"name": "error-rate", "query": "{{ spoke.nmae }}", "max": 1}]))
    proc = run_razee("validate", "--repo", str(root))
    assert proc.returncode == 2  # validate: input errors exit 2, as diff and apply
    assert f"environments/fleet.yaml:{_line_of(root, 'query:')}: rollout.waves[0].checks[0].query: " in proc.stderr
    assert "has no attribute 'nmae'" in proc.stderr


def test_cron_fields() -> None:
    cron = parse_cron("*/15 2-4 * jan,DEC mon-fri")
    assert cron.minutes == frozenset({0, 15, 30, 45}) and cron.hours == frozenset({2, 3, 4})
    assert cron.months == frozenset({1, 12}) and cron.weekdays == frozenset({1, 2, 3, 4, 5})
    assert parse_cron("0 0 * * 7").weekdays == frozenset({0})
    with pytest.raises(ValueError, match="step '0' is not a positive number"):
        parse_cron("*/0 * * * *")


def test_promql_balance() -> None:
    assert balance_problem(QUERY.replace("{{ spoke.name }}", "s")) == ""
    assert balance_problem('x{a="}"}') == ""  # brackets inside quotes do not count
    assert balance_problem("x)") == "unexpected ')' at column 2"
