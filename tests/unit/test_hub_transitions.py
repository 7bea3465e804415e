"""Transitions between two snapshots of the fleet: one event per change, none for what stays the same."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from razee.errors import UsageError
from razee.hub.notify import parse_target
from razee.hub.transitions import Event, Snapshot, SpokeView, Transitions, changes


def snap(
    spokes: dict[str, str] | None = None,
    drift: dict[str, int] | None = None,
    revision: str = "a" * 40,
    halted: str = "",
    complete: bool = False,
    rejected: dict[str, tuple[str, str]] | None = None,
) -> Snapshot:
    views = {
        name: SpokeView(state, "us-south", (drift or {}).get(name, 0), 0) for name, state in (spokes or {}).items()
    }
    return Snapshot(0.0, views, revision, halted, complete, False, rejected or {})


def kinds(events: Sequence[Event]) -> list[tuple[str, str]]:
    return [(e.kind, e.spoke or e.revision[:4]) for e in events]


def test_stale_and_back_once_each() -> None:
    t = Transitions(snap({"s1": "in-sync", "s2": "in-sync"}))
    assert kinds(t.advance(snap({"s1": "stale", "s2": "in-sync"}))) == [("spoke-stale", "s1")]
    assert t.advance(snap({"s1": "stale", "s2": "in-sync"})) == []  # still stale: nothing new
    assert kinds(t.advance(snap({"s1": "failed", "s2": "in-sync"}))) == [("spoke-back", "s1")]


def test_drift_by_counts_and_a_stale_spoke_does_not_clear_it() -> None:
    t = Transitions(snap({"s1": "in-sync"}))
    assert kinds(t.advance(snap({"s1": "drifted"}, {"s1": 2}))) == [("drift-appeared", "s1")]
    assert t.advance(snap({"s1": "drifted"}, {"s1": 3})) == []  # more drift is not a new transition
    assert kinds(t.advance(snap({"s1": "stale"}, {"s1": 3}))) == [("spoke-stale", "s1")]
    assert kinds(t.advance(snap({"s1": "in-sync"}))) == [("spoke-back", "s1"), ("drift-cleared", "s1")]


def test_halt_resume_complete_and_supersede() -> None:
    a, b = "a" * 40, "b" * 40
    t = Transitions(snap(revision=a))
    assert kinds(t.advance(snap(revision=a, halted="halted: wave canary"))) == [("rollout-halted", "aaaa")]
    assert t.advance(snap(revision=a, halted="halted: wave canary")) == []
    assert kinds(t.advance(snap(revision=a))) == [("rollout-resumed", "aaaa")]
    assert kinds(t.advance(snap(revision=a, complete=True))) == [("rollout-completed", "aaaa")]
    assert t.advance(snap(revision=a)) == [] and t.advance(snap(revision=a, complete=True)) == []  # once per rev
    assert kinds(t.advance(snap(revision=a, halted="x"))) == [("rollout-halted", "aaaa")]
    events = t.advance(snap(revision=b, halted="y"))  # a fix-forward: the old one ends, the new one halts
    assert kinds(events) == [("rollout-resumed", "aaaa"), ("rollout-halted", "bbbb")]
    assert "superseded by bbbbbbbbbbbb" in events[0].reason


def test_rejected_revision_once_and_baseline_announces_nothing() -> None:
    old, new = "c" * 40, "d" * 40
    t = Transitions(snap(rejected={old: ("hub", "fleet.yaml:1: broken")}))
    events = t.advance(snap(rejected={old: ("hub", "x"), new: ("s1", "policy: registry")}))
    assert kinds(events) == [("revision-rejected", "s1")] and events[0].revision == new
    assert t.advance(snap(rejected={})) == [] and t.advance(snap(rejected={new: ("s2", "again")})) == []
    assert changes(snap(), snap()) == []


def test_notify_urls() -> None:
    assert parse_target("https://hooks.slack.com/services/T/B/X").slack
    slack = parse_target("slack+https://chat.example.com/hook/SECRET")
    assert slack.slack and slack.url == "https://chat.example.com/hook/SECRET"
    assert "SECRET" not in slack.shown and slack.shown == "slack+https://chat.example.com"
    plain = parse_target("http://127.0.0.1:9000/events?token=SECRET")
    assert not plain.slack and "SECRET" not in plain.shown
    for bad in ("ftp://x/y", "hooks.slack.com/x", "https://user:pw@example.com/h", "slack+ftp://x"):
        with pytest.raises(UsageError):
            parse_target(bad)


def test_payloads() -> None:
    event = Event(
        "revision-rejected",
        "revision abc rejected by spoke s1: <!channel> & co",
        spoke="s1",
        revision="abc",
        reason="<!channel> & co",
    )
    assert parse_target("slack+https://x.example/h").payload(event) == {
        "text": ":no_entry: razee: revision abc rejected by spoke s1: &lt;!channel&gt; &amp; co"
    }
    body = parse_target("https://x.example/h").payload(event)
    assert body["event"] == "revision-rejected" and body["reason"] == "<!channel> & co" and body["id"] == event.id
