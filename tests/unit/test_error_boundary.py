"""The CLI's error boundary decides by class: a server that refused the object is an input error (exit 2), and
RAZEE_VERBOSE=1 shows the traceback exactly as -v does (click reads both; nothing rescans the command line)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from razee.errors import EXIT_SERVICE, EXIT_USER_ERROR, RefusedError, ServiceError
from razee.kube.errors import Conflict, Invalid, KubeError, NotFound, Unavailable, from_response

REFUSED = b'{"message": "ConfigMap \\"x\\" is invalid: metadata.name: Invalid value: \\"X\\""}'


def test_a_422_is_an_input_error_by_its_class_and_the_service_failures_are_not() -> None:
    invalid = from_response(422, REFUSED, "PATCH /api/v1/namespaces/n/configmaps/X")
    assert isinstance(invalid, Invalid) and isinstance(invalid, KubeError) and isinstance(invalid, RefusedError)
    assert not isinstance(invalid, ServiceError)
    assert invalid.exit_code == EXIT_USER_ERROR and invalid.status == 422
    for status, cls in ((404, NotFound), (409, Conflict), (503, Unavailable)):
        failed = from_response(status, b"{}", "GET /x")
        assert isinstance(failed, cls) and isinstance(failed, ServiceError) and failed.exit_code == EXIT_SERVICE


def _main_raising(raise_line: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`razee render` through main(), with the command replaced by one that raises (as test_cli_basics does)."""
    code = (
        "import razee.cli as c, razee.cli.render_cmd as r\n"
        "from razee.kube.errors import from_response\n"
        "def boom(*a, **k):\n"
        f"    {raise_line}\n"
        "r.render_cmd.callback = boom\n"
        f"c.main([*{list(args)!r}, 'render'])\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env}, timeout=60
    )


def test_an_invalid_object_exits_2_through_the_error_boundary() -> None:
    r = _main_raising(f"raise from_response(422, {REFUSED!r}, 'PATCH /x')", {})
    assert r.returncode == EXIT_USER_ERROR, r.stderr
    assert r.stderr.startswith('error: PATCH /x: ConfigMap "x" is invalid')
    assert "Traceback" not in r.stderr


def test_razee_verbose_shows_the_traceback_like_dash_v(tmp_path: Path) -> None:
    raising = "raise from_response(503, b'{}', 'GET /x')"
    quiet = _main_raising(raising, {"RAZEE_LOG_DIR": str(tmp_path)})
    assert quiet.returncode == EXIT_SERVICE and "Traceback" not in quiet.stderr
    flag = _main_raising(raising, {}, "-v")
    env = _main_raising(raising, {"RAZEE_VERBOSE": "1"})
    for r in (flag, env):
        assert r.returncode == EXIT_SERVICE
        assert "Traceback (most recent call last)" in r.stderr and "Unavailable" in r.stderr
        assert r.stderr.rstrip().endswith("error: GET /x: HTTP 503")


def test_razee_verbose_shows_an_unexpected_error_s_traceback_instead_of_a_log(tmp_path: Path) -> None:
    r = _main_raising("raise RuntimeError('kaboom')", {"RAZEE_VERBOSE": "1", "RAZEE_LOG_DIR": str(tmp_path)})
    assert r.returncode == 3
    assert "Traceback (most recent call last)" in r.stderr and "unexpected error: RuntimeError: kaboom" in r.stderr
    assert list(tmp_path.glob("razee-crash-*.log")) == []
