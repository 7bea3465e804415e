"""Watching a local fleet folder (watchdog): edits wake the agent, debounced so a save burst is one pass."""

from __future__ import annotations

import threading
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

DEBOUNCE = 1.0


class _Handler(FileSystemEventHandler):
    def __init__(self, wake: threading.Event) -> None:
        self.wake = wake
        self.timer: threading.Timer | None = None
        self.lock = threading.Lock()

    def on_any_event(self, event: FileSystemEvent) -> None:
        with self.lock:
            if self.timer is not None:
                self.timer.cancel()
            self.timer = threading.Timer(DEBOUNCE, self.wake.set)
            self.timer.daemon = True
            self.timer.start()


class Watcher:
    def __init__(self, observer: Observer) -> None:  # type: ignore[valid-type]
        self.observer = observer

    def stop(self) -> None:
        self.observer.stop()  # type: ignore[attr-defined]
        self.observer.join(timeout=5)  # type: ignore[attr-defined]


def watch_folder(root: Path, wake: threading.Event) -> Watcher:
    observer = Observer()
    handler = _Handler(wake)
    for part in ("environments", "templates", "charts", "kustomize"):  # as razee.agent.source.FLEET_PARTS
        if (root / part).is_dir():
            observer.schedule(handler, str(root / part), recursive=True)
    observer.start()
    return Watcher(observer)
