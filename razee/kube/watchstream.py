"""One watch request as a stream of decoded events: the request, the newline framing, and the connection's fate.

The apiserver answers a watch with one JSON object per line, in chunks that split lines anywhere. `watch_events`
yields each event as it completes; closed early (the consumer stopped, or failed), it closes the connection,
because unread bytes would corrupt the next request on it; read to its end, the connection goes back to the pool.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from typing import Any

import orjson
import urllib3

from razee.kube.client import Kube
from razee.kube.errors import KubeError
from razee.kube.watchstate import Scope, WatchFailed

CHUNK = 1 << 16
"""Bytes read from the socket at a time."""


def open_watch(kube: Kube, scope: Scope, version: int, timeout: int) -> urllib3.BaseHTTPResponse:
    """Open a watch of `scope` from `version` that the server ends after `timeout` seconds (with bookmarks)."""
    resource, namespace, selector = scope
    query = {
        "watch": "1",
        "resourceVersion": str(version),
        "allowWatchBookmarks": "true",
        "timeoutSeconds": str(timeout),
    }
    if selector:
        query["labelSelector"] = selector
    try:
        return kube.stream("WATCH", resource.collection_path(namespace or None), query, read_timeout=timeout + 30)
    except KubeError as e:
        if e.status == 410:
            raise WatchFailed(e.message) from e
        raise


def frames(chunks: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    """The JSON objects of a newline-delimited stream, whatever the chunk boundaries (a last line may lack its
    newline)."""
    pending = bytearray()
    for chunk in chunks:
        pending += chunk
        start = 0
        while (end := pending.find(b"\n", start)) >= 0:
            if end > start:
                yield orjson.loads(pending[start:end])
            start = end + 1
        del pending[:start]
    if pending.strip():
        yield orjson.loads(pending)


def watch_events(response: urllib3.BaseHTTPResponse) -> Generator[dict[str, Any], None, None]:
    """The events of an open watch until the server ends it; use with contextlib.closing."""
    complete = False
    try:
        yield from frames(response.stream(CHUNK))
        complete = True
    finally:
        if complete:
            response.release_conn()  # read to its end: the connection can serve another request
        else:
            response.close()  # unread bytes would corrupt the next request on this connection
