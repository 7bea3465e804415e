"""The `razee` command line: a thin click layer over the library.

`main()` is the single error boundary: a `RazeeError` prints one line and exits with its code, Ctrl-C exits 130,
and anything unexpected exits 3 with the traceback written to a log file (or shown with `-v` or RAZEE_VERBOSE=1:
click parses both, once).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import click

from razee.cli.context import CliState, default_cache_dir
from razee.cli.lazy import LazyGroup
from razee.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USER_ERROR, RazeeError
from razee.logs import configure_logging
from razee.output import error, note
from razee.render.settings import RenderSettings

COMMANDS: dict[str, tuple[str, str]] = {
    "render": ("razee.cli.render_cmd:render_cmd", "Render the fleet's templates for a spoke, a region or the fleet."),
    "validate": ("razee.cli.validate_cmd:validate", "Check the fleet files, templates and policies."),
    "diff": ("razee.cli.diff_cmd:diff_cmd", "Dry-run diff of a spoke, or preview a change across the fleet."),
    "apply": ("razee.cli.apply_cmd:apply_cmd", "Apply a spoke's desired state: Kubernetes, then infrastructure."),
    "secret": ("razee.cli.secret_cmd:secret_group", "Encrypted secrets in the fleet repo (age)."),
    "agent": ("razee.cli.agent_cmd:agent_cmd", "Follow the fleet repo and reconcile one spoke, reporting to the hub."),
    "hub": ("razee.cli.hub_cmd:hub_group", "The hub: reports of every agent and fleet-wide views."),
    "rollout": ("razee.cli.rollout_cmd:rollout_group", "Progressive rollout: status, pause, resume, approve."),
    "providers": ("razee.cli.providers_cmd:providers_cmd", "Installed infrastructure providers and their settings."),
    "init": ("razee.cli.init_cmd:init_cmd", "Write a minimal fleet repo of one's own: one region, spoke and wave."),
    "bootstrap": ("razee.cli.bootstrap_cmd:bootstrap_cmd", "Put the first agent on a spoke; register it with the hub."),
}


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"auto_envvar_prefix": "RAZEE", "help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="razee", prog_name="razee")
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug); show tracebacks.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Format of log lines on stderr.",
)
@click.option(
    "--cache-dir",
    envvar="RAZEE_CACHE_DIR",
    default=None,
    type=click.Path(path_type=Path),
    help="Folder of the render cache. Default: $XDG_CACHE_HOME/razee/render, else ~/.cache/razee/render.",
)
@click.option(
    "--no-cache",
    envvar="RAZEE_NO_CACHE",
    is_flag=True,
    help="Render every time: no render cache (or set RAZEE_NO_CACHE=1).",
)
@click.option(
    "--age-identity",
    envvar="RAZEE_AGE_IDENTITY",
    default=None,
    metavar="FILE",
    help="age identity file that decrypts the fleet's secrets (or set RAZEE_AGE_IDENTITY).",
)
@click.option(
    "--processes",
    envvar="RAZEE_PROCESSES",
    type=click.IntRange(1),
    default=None,
    metavar="N",
    help="Worker processes for whole-fleet renders and previews. Default: one per core; 1: no fork.",
)
@click.pass_context
def cli(
    ctx: click.Context,
    verbose: int,
    log_format: str,
    cache_dir: Path | None,
    no_cache: bool,
    age_identity: str | None,
    processes: int | None,
) -> None:
    """Pull-based GitOps for Kubernetes fleets: render, validate, diff and apply a fleet repo.

    Every option can also be set as RAZEE_<OPTION> (for example RAZEE_VERBOSE=1), and per command as
    RAZEE_<COMMAND>_<OPTION> (for example RAZEE_RENDER_REPO=/path/to/fleet).
    """
    configure_logging(verbose, "json" if log_format == "json" else "text")
    if isinstance(ctx.obj, Boundary):
        ctx.obj.verbose = verbose
    ctx.obj = CliState(
        verbosity=verbose,
        cache_dir=None if no_cache else cache_dir or default_cache_dir(),
        render=RenderSettings(age_identity or None, processes),
    )


def _crash_log(exc: BaseException) -> str:
    directory = os.environ.get("RAZEE_LOG_DIR") or tempfile.gettempdir()
    path = os.path.join(directory, f"razee-crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log")
    with open(path, "w", encoding="utf-8") as fh:
        from razee import __version__

        fh.write(f"razee {__version__}\nargs: {sys.argv!r}\n\n")
        fh.write("".join(traceback.format_exception(exc)))
    return path


@dataclass
class Boundary:
    """What the error boundary learns from the command line, as click parsed it (the root's options)."""

    verbose: int = 0


def main(argv: list[str] | None = None) -> NoReturn:
    boundary = Boundary()  # filled in by the root command: -v, or RAZEE_VERBOSE
    try:
        rv = cli.main(args=argv, prog_name="razee", standalone_mode=False, obj=boundary)
        sys.exit(rv if isinstance(rv, int) else 0)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(EXIT_USER_ERROR if e.exit_code == 1 else e.exit_code)
    except click.exceptions.Abort:
        note("aborted")
        sys.exit(EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        note("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except RazeeError as e:
        if boundary.verbose:
            traceback.print_exc()
        error(e.message)
        sys.exit(e.exit_code)
    except Exception as e:
        if boundary.verbose:
            traceback.print_exc()
            error(f"unexpected error: {type(e).__name__}: {e}")
        else:
            path = _crash_log(e)
            error(f"unexpected error: {type(e).__name__}: {e} (traceback in {path}; run with -v to show it)")
        sys.exit(EXIT_INTERNAL)
