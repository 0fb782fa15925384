"""A Jetstream-like WebSocket server on loopback, speaking the real subscribe API's shapes.

Used by ``monitor demo --live`` (the crisis replayed as a stream), the tests and the latency benchmark.

``/subscribe?wantedCollections=…&cursor=…`` streams the events whose ``time_us`` is at or
after the cursor (inclusive, the worst case a client must handle), of the wanted collections,
then whatever is published later. Each connection follows the next :class:`Plan`: cut the
connection in the middle of a frame, send a malformed frame, stall, or replay from an older
cursor (a restarted server).
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

POST, LIKE, REPOST = "app.bsky.feed.post", "app.bsky.feed.like", "app.bsky.feed.repost"


def uri_of(did: str, rkey: str) -> str:
    return f"at://{did}/{POST}/{rkey}"


def commit(time_us: int, did: str, collection: str, rkey: str, record: dict[str, Any]) -> dict[str, Any]:
    return {"did": did, "time_us": time_us, "kind": "commit",
            "commit": {"rev": f"rev{time_us}", "operation": "create", "collection": collection, "rkey": rkey,
                       "record": {"$type": collection, **record}, "cid": f"bafy{time_us}"}}


def post(time_us: int, text: str, did: str = "did:plc:author", rkey: str | None = None, reply_to: str | None = None,
         quote: str | None = None, langs: tuple[str, ...] = ("en",)) -> dict[str, Any]:
    record: dict[str, Any] = {"text": text, "createdAt": "2026-03-23T11:59:00.000Z", "langs": list(langs)}
    if reply_to:
        record["reply"] = {"parent": {"uri": reply_to, "cid": "x"}, "root": {"uri": reply_to, "cid": "x"}}
    if quote:
        record["embed"] = {"$type": "app.bsky.embed.record", "record": {"uri": quote, "cid": "x"}}
    return commit(time_us, did, POST, rkey or f"p{time_us}", record)


def like(time_us: int, subject: str, did: str = "did:plc:fan") -> dict[str, Any]:
    return commit(time_us, did, LIKE, f"l{time_us}", {"subject": {"uri": subject, "cid": "x"},
                                                       "createdAt": "2026-03-23T11:59:30.000Z"})


def repost(time_us: int, subject: str, did: str = "did:plc:fan") -> dict[str, Any]:
    return commit(time_us, did, REPOST, f"r{time_us}", {"subject": {"uri": subject, "cid": "x"},
                                                         "createdAt": "2026-03-23T11:59:30.000Z"})


def delete(time_us: int, did: str, collection: str, rkey: str) -> dict[str, Any]:
    """A record taken back: an unlike (``collection`` LIKE), an undone repost, a deleted post; the key only."""
    return {"did": did, "time_us": time_us, "kind": "commit",
            "commit": {"rev": f"rev{time_us}", "operation": "delete", "collection": collection, "rkey": rkey}}


def identity(time_us: int, did: str = "did:plc:someone") -> dict[str, Any]:
    return {"did": did, "time_us": time_us, "kind": "identity", "identity": {"did": did, "seq": 1}}


@dataclass
class Plan:
    """What the server does on one connection (counted in events sent on it)."""

    cut_after: int | None = None
    """Send this many events, then half of the next frame, and drop the TCP connection."""
    malformed_after: int | None = None
    """Send a frame that is not JSON after this many events."""
    stall_after: int | None = None
    """Go silent after this many events (until the client gives up on the connection)."""
    rewind_us: int = 0
    """Replay from this much before the cursor asked for (a server restarted with an older position)."""


class FakeJetstream:
    """The server; ``url`` is its subscribe endpoint, ``connections`` the query of each connection."""

    def __init__(self, events: list[dict[str, Any]] | None = None, plans: list[Plan] | None = None):
        self.events = list(events or [])
        self.plans = list(plans or [])
        self.connections: list[dict[str, list[str]]] = []
        self._changed = threading.Condition()
        self._server = serve(self._handle, "127.0.0.1", 0)
        self.port = self._server.socket.getsockname()[1]
        self.url = f"ws://127.0.0.1:{self.port}/subscribe"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeJetstream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._thread.join(5)

    def publish(self, *events: dict[str, Any]) -> None:
        with self._changed:
            self.events.extend(events)
            self._changed.notify_all()

    def _handle(self, ws: ServerConnection) -> None:
        query = parse_qs(urlparse(ws.request.path).query)
        self.connections.append(query)
        plan = self.plans.pop(0) if self.plans else Plan()
        wanted = set(query.get("wantedCollections", []))
        start = int(query["cursor"][0]) - plan.rewind_us if "cursor" in query else 0
        sent, position = 0, 0
        try:
            while True:
                with self._changed:
                    if position >= len(self.events):
                        self._changed.wait(0.05)
                    fresh, position = self.events[position:], len(self.events)
                for event in fresh:
                    collection = event.get("commit", {}).get("collection")
                    if event["time_us"] < start or (collection and wanted and collection not in wanted):
                        continue
                    if sent == plan.cut_after:
                        self._cut(ws, json.dumps(event).encode())
                        return
                    if sent == plan.malformed_after:
                        ws.send('{"did": "did:plc:x", "time_us": ')
                    if sent == plan.stall_after:
                        self._wait_until_closed(ws)
                        return
                    ws.send(json.dumps(event))
                    sent += 1
                try:
                    ws.recv(timeout=0)
                except TimeoutError:
                    pass
        except ConnectionClosed:
            return

    @staticmethod
    def _cut(ws: ServerConnection, payload: bytes) -> None:
        """Half of a text frame, then the TCP connection dropped without a close frame."""
        header = bytes([0x81, 126]) + len(payload).to_bytes(2, "big")
        ws.socket.sendall(header + payload[: len(payload) // 2])
        ws.socket.shutdown(socket.SHUT_RDWR)

    @staticmethod
    def _wait_until_closed(ws: ServerConnection) -> None:
        try:
            for _ in ws:
                pass
        except ConnectionClosed:
            pass
