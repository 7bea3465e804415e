"""scripts/soak: the whole example fleet on one machine, commit after commit, checked against the clusters and the
hub, measured. See scripts/soak --help and docs/benchmarks.md ("Fleet soak")."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from tests.helpers.soak_audit import commits_accounted, reports_accounted
from tests.helpers.soak_fleet import REPO
from tests.helpers.soak_report import memory_growth, summary, table
from tests.helpers.soak_run import Options, Soak, SoakFailure
from tests.helpers.soak_steps import LONG, SHORT, STEPS

SHORT_IDLE = 30.0


def parse(argv: list[str]) -> tuple[Options, argparse.Namespace]:
    p = argparse.ArgumentParser(prog="scripts/soak", description=__doc__)
    p.add_argument("--short", action="store_true", help="a subset of the steps (about 5 minutes; what CI runs)")
    p.add_argument(
        "--minutes",
        type=float,
        default=0.0,
        help="after the steps, this many minutes of idle/rollout cycles (the long form: 30)",
    )
    p.add_argument("--json", type=Path, help="write the summary here as JSON")
    p.add_argument("--regions", default="", help="development only: run just these regions' spokes (comma list)")
    p.add_argument("--steps", default="", help="development only: these steps (comma list of " + ", ".join(STEPS) + ")")
    p.add_argument("--home", type=Path, default=None, help="working folder (default: .testenv/soak in the repo)")
    p.add_argument("--idle", type=float, default=None, help="seconds of each idle window (default 60; --short 30)")
    p.add_argument("--agent-interval", default="60s", help="razee agent --interval (default: the fleet's 60s)")
    p.add_argument("--agent-poll", default="5s", help="razee agent --poll (default 5s, the agent's default)")
    a = p.parse_args(argv)
    base = Path(os.environ.get("RAZEE_TESTENV_DIR", REPO / ".testenv"))
    opts = Options(
        home=a.home or base / "soak",
        short=a.short,
        minutes=a.minutes,
        regions=tuple(r for r in a.regions.split(",") if r),
        agent_interval=a.agent_interval,
        agent_poll=a.agent_poll,
        idle_seconds=a.idle if a.idle is not None else SHORT_IDLE if a.short else 60.0,
    )
    return opts, a


def cycles(soak: Soak, minutes: float) -> None:
    """The long form: a commit, its rollout, an idle window, again, for `minutes`; RSS at the start and the end."""
    soak.sampler.mark("cycles start")
    end = time.monotonic() + minutes * 60
    n = 0
    while time.monotonic() < end:
        n += 1
        soak.converge(soak.commit("cycle", f"cycle {n}: a new marker"))
        soak.idle(soak.opts.idle_seconds)
    soak.sampler.mark("cycles end")
    soak.event(f"{n} idle/rollout cycles", minutes * 60)


def run(soak: Soak, steps: list[str]) -> list[str]:
    soak.start()
    soak.say(f"step initial: the first rollout to all {len(soak.spokes)} spokes")
    soak.converge(soak.commits[0])
    soak.say(f"idle for {soak.opts.idle_seconds:.0f}s")
    soak.idle(soak.opts.idle_seconds)
    for name in steps:
        soak.say(f"step {name}: {(STEPS[name].__doc__ or '').splitlines()[0]}")
        started = time.monotonic()
        STEPS[name](soak)
        soak.event(f"step {name}", time.monotonic() - started)
    if soak.opts.minutes:
        soak.say(f"the long form: {soak.opts.minutes:g} minutes of idle/rollout cycles")
        cycles(soak, soak.opts.minutes)
    soak.say("audit: every commit's fate and every report")
    problems = commits_accounted(soak)
    soak.reports, more = reports_accounted(soak)
    return problems + more + memory_growth(soak)


def main(argv: list[str]) -> int:
    opts, args = parse(argv)
    steps = [s for s in args.steps.split(",") if s] or (SHORT if opts.short else LONG)
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        print(f"scripts/soak: unknown step(s) {', '.join(unknown)}; known: {', '.join(STEPS)}", file=sys.stderr)
        return 2

    def say(text: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {text}", flush=True)

    started = time.monotonic()
    try:
        soak = Soak(opts, say)
    except SoakFailure as e:
        print(f"scripts/soak: {e}", file=sys.stderr)
        return 2
    failure = ""
    problems: list[str] = []
    try:
        problems = run(soak, steps)
    except SoakFailure as e:
        failure = str(e)
    except KeyboardInterrupt:
        failure = "interrupted"
    finally:
        soak.close()
    doc: dict[str, Any] = summary(soak, steps, time.monotonic() - started, failure, problems)
    print(table(doc), flush=True)
    if args.json:
        args.json.write_text(json.dumps(doc, indent=2))
    if failure or problems:
        print(f"scripts/soak: FAILED: {failure or '; '.join(problems)} (logs in {opts.home})", file=sys.stderr)
        return 1
    return 0
