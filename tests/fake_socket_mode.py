"""Slack's Socket Mode on 127.0.0.1, for tests that drive ``slack_sdk``'s real Socket Mode client.

Usage::

    with FakeSlack() as slack, FakeSocketMode(slack) as socket:
        client = SocketModeClient(slack.app_token, web_client=WebClient(base_url=slack.base_url))
        client.connect()                         # apps.connections.open, then the WebSocket
        envelope = socket.send({"type": "block_actions", ...})
        socket.acknowledgement(envelope)         # {"envelope_id": ...} as the client sent it
        socket.disconnect()                      # Slack's "refresh_requested": the client reconnects

``apps.connections.open`` on the fake Web API hands out ``wss://127.0.0.1:PORT/link/?ticket=…``
URLs, each good for one connection (the SDK speaks plain WebSocket to a port other than 443).
Every connection is greeted with ``hello``; envelopes go to the newest connection.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from fake_slack import FakeSlack


class FakeSocketMode:
    def __init__(self, slack: FakeSlack):
        self.slack = slack
        self.opened = 0  # WebSocket connections accepted, reconnections included
        self.refused = 0  # connection attempts with an unknown or used ticket
        self.acknowledgements: dict[str, dict[str, Any]] = {}
        self._tickets: set[str] = set()
        self._current: ServerConnection | None = None
        self._changed = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-socket-mode", daemon=True)
        self._server: Server | None = None
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeSocketMode:
        self._thread.start()
        self._server = self._run(self._listen())
        self.port = self._server.sockets[0].getsockname()[1]
        self.slack.socket_urls = self.new_url
        return self

    def stop(self) -> None:
        self.slack.socket_urls = None
        if self._server is not None:
            self._server.close()
            self._run(self._server.wait_closed())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeSocketMode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _listen(self) -> Server:
        return await serve(self._serve, "127.0.0.1", 0)

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    # -- the protocol -----------------------------------------------------------------------

    def new_url(self) -> str:
        """What ``apps.connections.open`` answers: a URL with a fresh one-use ticket."""
        ticket = uuid.uuid4().hex
        with self._changed:
            self._tickets.add(ticket)
        return f"wss://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id=A0FAKE"

    async def _serve(self, connection: ServerConnection) -> None:
        ticket = parse_qs(urlsplit(connection.request.path).query).get("ticket", [""])[0]
        with self._changed:
            if ticket not in self._tickets:
                self.refused += 1
                self._changed.notify_all()
                await connection.close(1008, "invalid ticket")
                return
            self._tickets.discard(ticket)
        await connection.send(json.dumps({
            "type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0FAKE"},
            "debug_info": {"host": "applink-fake", "build_number": 1, "approximate_connection_time": 18060},
        }))
        with self._changed:
            self._current = connection
            self.opened += 1
            self._changed.notify_all()
        try:
            async for message in connection:
                reply = json.loads(message)
                with self._changed:
                    self.acknowledgements[reply["envelope_id"]] = reply
                    self._changed.notify_all()
        except ConnectionClosed:  # the client may leave without a closing handshake
            pass
        finally:
            with self._changed:
                self._changed.notify_all()

    def send(self, payload: Any, kind: str = "interactive") -> str:
        """Send one envelope to the client; returns its ``envelope_id``."""
        envelope_id = str(uuid.uuid4())
        self._send({"envelope_id": envelope_id, "type": kind, "payload": payload,
                    "accepts_response_payload": kind != "events_api"})
        return envelope_id

    def disconnect(self, reason: str = "refresh_requested") -> None:
        """Tell the client to reconnect, then close its connection as Slack does shortly after."""
        old = self._current
        self._send({"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}})
        self.wait(lambda: self._current is not old)
        if old is not None:
            self._run(old.close())

    def _send(self, message: dict[str, Any]) -> None:
        self.wait(lambda: self._current is not None)
        assert self._current is not None
        self._run(self._current.send(json.dumps(message)))

    # -- inspection -------------------------------------------------------------------------

    def wait(self, condition: Any, timeout: float = 10) -> None:
        with self._changed:
            if not self._changed.wait_for(condition, timeout):
                raise TimeoutError("the Socket Mode client did not get there in time")

    def connected(self) -> bool:
        """Whether the client's newest connection is still open."""
        return self._current is not None and self._current.state is State.OPEN

    def acknowledgement(self, envelope_id: str, timeout: float = 10) -> dict[str, Any]:
        self.wait(lambda: envelope_id in self.acknowledgements, timeout)
        return self.acknowledgements[envelope_id]
