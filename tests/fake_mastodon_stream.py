"""A Mastodon streaming server on loopback (``/api/v1/streaming`` over WebSocket), and statuses in the API's shape."""

import json
import socket
import threading

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve


def status(number: int, text: str, reblog: dict | None = None) -> dict:
    return {"id": str(number), "uri": f"https://social.example/users/a/statuses/{number}",
            "url": f"https://social.example/@a/{number}", "created_at": "2026-03-23T11:59:00.000Z",
            "content": f"<p>{text}</p>", "spoiler_text": "", "language": "en", "in_reply_to_id": None,
            "account": {"acct": "a", "display_name": "A", "followers_count": 10},
            "favourites_count": 0, "reblogs_count": 0, "replies_count": 0, "reblog": reblog}


class FakeStreaming:
    """``/api/v1/streaming``: records subscriptions, sends each published status to subscribed connections
    as ``{"stream": [...], "event": "update", "payload": "<status JSON>"}``; ``drop()`` cuts them."""

    def __init__(self):
        self.subscriptions: list[list[dict]] = []
        self.authorizations: list[str | None] = []
        self._outbox: list[tuple[str, list[str], str]] = []
        self._lock = threading.Lock()
        self._drop = threading.Event()
        self._server = serve(self._handle, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}/api/v1/streaming"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self):
        self._server.shutdown()

    def publish(self, stream: list[str], payload: dict | str, event: str = "update"):
        with self._lock:
            self._outbox.append((event, stream, payload if isinstance(payload, str) else json.dumps(payload)))

    def drop(self):
        self._drop.set()

    def connected(self) -> int:
        return len(self.subscriptions)

    def _handle(self, ws: ServerConnection):
        mine: list[dict] = []
        self.subscriptions.append(mine)
        self.authorizations.append(ws.request.headers.get("Authorization"))
        position = len(self._outbox)
        try:
            while True:
                try:
                    mine.append(json.loads(ws.recv(timeout=0.02)))
                except TimeoutError:
                    pass
                if self._drop.is_set():
                    self._drop.clear()
                    ws.socket.shutdown(socket.SHUT_RDWR)
                    return
                with self._lock:
                    fresh, position = self._outbox[position:], len(self._outbox)
                names = {s["stream"] + (":" + s["tag"] if "tag" in s else "") for s in mine}
                for event, stream, payload in fresh:
                    if ":".join(stream) in names or stream[0] in names:
                        ws.send(json.dumps({"stream": stream, "event": event, "payload": payload}))
        except ConnectionClosed:
            return
