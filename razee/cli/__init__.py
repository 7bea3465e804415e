"""The `razee` command line: a thin click layer over the library.

`main()` is the single error boundary: a `RazeeError` prints one line and exits with its code, Ctrl-C exits 130,
and anything unexpected exits 3 with the traceback written to a log file (or shown with `-v`).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from typing import NoReturn

import click

from razee import __version__
from razee.cli.context import CliState
from razee.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USER_ERROR, RazeeError
from razee.logs import configure_logging
from razee.output import error, note


@click.group(context_settings={"auto_envvar_prefix": "RAZEE", "help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="razee")
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug); show tracebacks.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Format of log lines on stderr.",
)
@click.pass_context
def cli(ctx: click.Context, verbose: int, log_format: str) -> None:
    """Pull-based GitOps for Kubernetes fleets: render, validate, diff and apply a fleet repo.

    Every option can also be set as RAZEE_<OPTION> (for example RAZEE_VERBOSE=1), and per command as
    RAZEE_<COMMAND>_<OPTION> (for example RAZEE_RENDER_REPO=/path/to/fleet).
    """
    configure_logging(verbose, "json" if log_format == "json" else "text")
    ctx.obj = CliState(verbosity=verbose)


def _register_commands() -> None:
    from razee.cli.agent_cmd import agent_cmd
    from razee.cli.apply_cmd import apply_cmd
    from razee.cli.diff_cmd import diff_cmd
    from razee.cli.hub_cmd import hub_group
    from razee.cli.providers_cmd import providers_cmd
    from razee.cli.render_cmd import render_cmd
    from razee.cli.rollout_cmd import rollout_group
    from razee.cli.secret_cmd import secret_group
    from razee.cli.validate_cmd import validate

    cli.add_command(render_cmd)
    cli.add_command(diff_cmd)
    cli.add_command(apply_cmd)
    cli.add_command(secret_group)
    cli.add_command(agent_cmd)
    cli.add_command(hub_group)
    cli.add_command(rollout_group)
    cli.add_command(validate)
    cli.add_command(providers_cmd)


_register_commands()


def _crash_log(exc: BaseException) -> str:
    directory = os.environ.get("RAZEE_LOG_DIR") or tempfile.gettempdir()
    path = os.path.join(directory, f"razee-crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(f"razee {__version__}\nargs: {sys.argv!r}\n\n")
        fh.write("".join(traceback.format_exception(exc)))
    return path


def main(argv: list[str] | None = None) -> NoReturn:
    verbose = any(a in ("-v", "--verbose") or (a.startswith("-vv")) for a in (argv or sys.argv[1:]))
    try:
        rv = cli.main(args=argv, prog_name="razee", standalone_mode=False)
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
        if verbose:
            traceback.print_exc()
        error(e.message)
        sys.exit(e.exit_code)
    except Exception as e:
        if verbose:
            traceback.print_exc()
            error(f"unexpected error: {type(e).__name__}: {e}")
        else:
            path = _crash_log(e)
            error(f"unexpected error: {type(e).__name__}: {e} (traceback in {path}; run with -v to show it)")
        sys.exit(EXIT_INTERNAL)
