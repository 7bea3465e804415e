"""`Shared.once`: what the declarations of one expansion fetch once between them, concurrently or not."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from razee.errors import InputError, ServiceError
from razee.sources.expander import Shared


def test_threads_asking_for_one_key_fetch_it_once_and_all_get_it() -> None:
    shared, calls = Shared(), []
    gate = threading.Event()

    def fetch() -> str:
        calls.append(1)
        gate.wait(5)
        return "chart"

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(shared.once, "k", fetch) for _ in range(8)]
        time.sleep(0.2)
        gate.set()
        assert [f.result() for f in futures] == ["chart"] * 8
    assert len(calls) == 1
    assert shared.once("other", lambda: "x") == "x"


def test_a_remembered_failure_is_raised_again_without_fetching_and_others_are_not_kept() -> None:
    shared, calls = Shared(), []

    def down() -> str:
        calls.append("down")
        raise ServiceError("repository down")

    for _ in range(3):
        with pytest.raises(ServiceError, match="repository down"):
            shared.once("repo", down, (ServiceError,))
    assert calls == ["down"]

    def unknown() -> str:
        calls.append("unknown")
        raise InputError([])

    for _ in range(2):
        with pytest.raises(InputError):
            shared.once("version", unknown, (ServiceError,))
    assert calls.count("unknown") == 2  # each declaration gets its own error, with its own file and line
