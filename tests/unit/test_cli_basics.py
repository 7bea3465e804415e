"""The CLI's contract: version, help, usage errors and the single error boundary."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import run_razee


def test_version_and_help() -> None:
    v = run_razee("--version")
    assert v.returncode == 0
    assert v.stdout.startswith("razee, version ")
    h = run_razee("--help")
    assert h.returncode == 0
    for command in ("render", "validate"):
        assert command in h.stdout


def test_unknown_option_is_a_usage_error() -> None:
    r = run_razee("--no-such-option")
    assert r.returncode == 2
    assert "No such option" in r.stderr
    assert "Traceback" not in r.stderr


def test_razee_error_prints_one_line_and_exit_code(tmp_path: Path) -> None:
    r = run_razee("render", "--repo", str(tmp_path / "missing"))
    assert r.returncode == 2
    assert r.stderr.strip() == f"error: fleet repo {tmp_path / 'missing'}: no such directory"
    assert r.stdout == ""


def test_environment_variables_set_options(tmp_path: Path) -> None:
    r = run_razee("render", env={"RAZEE_RENDER_REPO": str(tmp_path / "nowhere")})
    assert r.returncode == 2
    assert "nowhere" in r.stderr


def test_unexpected_error_exits_3_with_log(tmp_path: Path) -> None:
    # Replace the command group with one that fails in a way no RazeeError covers, then go through main().
    code = (
        "import razee.cli as c\n"
        "def boom(*a, **k):\n    raise RuntimeError('kaboom')\n"
        "c.cli.main = boom\n"
        "c.main(['render'])\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "RAZEE_LOG_DIR": str(tmp_path)}
    )
    assert r.returncode == 3
    assert "unexpected error: RuntimeError: kaboom" in r.stderr
    assert "Traceback" not in r.stderr
    logs = list(tmp_path.glob("razee-crash-*.log"))
    assert len(logs) == 1 and "kaboom" in logs[0].read_text()


def test_interrupt_exits_130() -> None:
    code = (
        "import razee.cli as c\n"
        "def stop(*a, **k):\n    raise KeyboardInterrupt\n"
        "c.cli.main = stop\n"
        "c.main(['render'])\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 130
    assert "Traceback" not in r.stderr


def test_help_imports_no_command_module() -> None:
    """`razee --help` lists every command without importing one (the Kubernetes client alone costs 0.3 s)."""
    import subprocess
    import sys

    code = (
        "import sys, razee.cli as c\n"
        "try:\n    c.cli.main(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('kubernetes', 'rich', 'jinja2', 'pydantic',"
        " 'fastapi', 'sqlalchemy', 'git', 'httpx', 'yaml') or m.startswith('razee.cli.') and m not in"
        " ('razee.cli.context', 'razee.cli.lazy'))\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out, out
    for name in ("render", "validate", "diff", "apply", "secret", "agent", "hub", "rollout"):
        assert f"\n  {name} " in out
