"""X's filtered stream on loopback, speaking the real API's shapes.

``GET /2/tweets/search/stream`` answers with a chunked response of newline-delimited JSON
(``\\r\\n`` after each message): ``{"data": post, "includes": {...}, "matching_rules": [{"id", "tag"}]}``
for every published post that a rule matches (a rule matches when one of its words is in the
post's text: enough for the tests, whose rules X would match the same way), and a blank
line every ``keepalive`` seconds. ``backfill_minutes`` resends everything published (the
worst case a client must handle). ``GET/POST /2/tweets/search/stream/rules`` list (in pages), add
(``DuplicateRule`` for a value already there) and delete rules, ``dry_run`` changing nothing.
Each stream connection follows the next :class:`Plan`.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "x-stream-test-token"
OPERATOR_WORDS = {"OR", "from"}


@dataclass
class Plan:
    """What the server does on one stream connection (counted in messages sent on it)."""

    status: int = 200
    """An HTTP error instead of the stream (429: too many connections)."""
    cut_after: int | None = None
    """Send this many messages, then half of the next line, and drop the TCP connection."""
    malformed_after: int | None = None
    """Send a line that is not JSON after this many messages."""
    stall_after: int | None = None
    """Go silent (no keep-alive either) after this many messages, until the client gives up."""


def sent_at() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class FakeXStream:
    """The server; ``base_url`` is the API's base, ``connections`` the query of each stream connection."""

    def __init__(self, posts: list[dict[str, Any]] | None = None, plans: list[Plan] | None = None,
                 rules: list[dict[str, str]] | None = None, keepalive: float = 0.2):
        self.published = [dict(p) for p in posts or []]
        self.plans = list(plans or [])
        self.rules = [dict(r) for r in rules or []]
        self.keepalive = keepalive
        self.rules_page = 1000
        """Rules listed per page at most (X's own limit; lower to make the list span pages)."""
        self.connections: list[dict[str, list[str]]] = []
        self.rule_requests: list[tuple[str, dict[str, Any] | None]] = []
        self._next_id = 1_500_000_000_000_000_000
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeXStream:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def publish(self, message: dict[str, Any]) -> None:
        """Send ``message`` (``{"data": post, "includes": ...}``) to every open stream it matches."""
        with self._changed:
            self.published.append(message)
            self._changed.notify_all()

    def matching(self, message: dict[str, Any]) -> list[dict[str, str]]:
        post = message["data"] if isinstance(message.get("data"), dict) else {}
        texts = [str(post.get("text", ""))] + [str(t.get("text", "")) for t in
                                                (message.get("includes") or {}).get("tweets", [])]
        text = " ".join(texts).lower()
        found = []
        for rule in self.rules:
            words = [w for w in re.findall(r"[\w']+", rule["value"]) if w not in OPERATOR_WORDS]
            if any(re.search(rf"\b{re.escape(w.lower())}\b", text) for w in words):
                found.append({"id": rule["id"], **({"tag": rule["tag"]} if rule.get("tag") else {})})
        return found

    def _new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    def change_rules(self, body: dict[str, Any], dry_run: bool) -> tuple[int, dict[str, Any]]:
        """What ``POST …/rules`` answers (and does, unless ``dry_run``)."""
        meta: dict[str, Any] = {"sent": sent_at()}
        if "delete" in body:
            ids = [str(i) for i in body["delete"]["ids"]]
            known = {r["id"] for r in self.rules}
            if not dry_run:
                self.rules = [r for r in self.rules if r["id"] not in ids]
            meta["summary"] = {"deleted": sum(i in known for i in ids), "not_deleted": sum(i not in known for i in ids)}
            errors = [{"value": i, "title": "Not Found Error", "detail": "rule not found"}
                      for i in ids if i not in known]
            return 200, {"meta": meta, **({"errors": errors} if errors else {})}
        created, errors = [], []
        for rule in body["add"]:
            same = next((r for r in self.rules + created if r["value"] == rule["value"]), None)
            if same is not None:
                errors.append({"value": rule["value"], "id": same["id"], "title": "DuplicateRule",
                               "type": "https://api.twitter.com/2/problems/duplicate-rules"})
                continue
            created.append({"id": self._new_id(), "value": rule["value"], **({"tag": rule["tag"]} if "tag" in rule
                                                                               else {})})
        if not dry_run:
            self.rules += created
        meta["summary"] = {"created": len(created), "not_created": len(errors), "valid": len(created),
                           "invalid": len(errors)}
        return 201, {"data": created, "meta": meta, **({"errors": errors} if errors else {})}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _authorized(self) -> bool:
                if self.headers.get("Authorization") == f"Bearer {TOKEN}":
                    return True
                self._reply(401, {"title": "Unauthorized", "type": "about:blank", "status": 401,
                                  "detail": "Unauthorized"})
                return False

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if not self._authorized():
                    return
                if url.path == "/2/tweets/search/stream/rules":
                    fake.rule_requests.append(("GET", None))
                    query = parse_qs(url.query)
                    size = min(int(query.get("max_results", ["1000"])[0]), fake.rules_page)
                    start = int(query.get("pagination_token", ["0"])[0])
                    rules = fake.rules[start:start + size]
                    meta: dict[str, Any] = {"sent": sent_at(), "result_count": len(rules)}
                    if start + size < len(fake.rules):
                        meta["next_token"] = str(start + size)
                    self._reply(200, {"data": rules, "meta": meta} if rules else {"meta": meta})
                elif url.path == "/2/tweets/search/stream":
                    self._stream(parse_qs(url.query))
                else:
                    self._reply(404, {"title": "Not Found Error", "detail": url.path})

            def do_POST(self) -> None:
                url = urlsplit(self.path)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                if not self._authorized():
                    return
                dry_run = parse_qs(url.query).get("dry_run") == ["true"]
                fake.rule_requests.append(("POST" + (" dry_run" if dry_run else ""), body))
                self._reply(*fake.change_rules(body, dry_run))

            def _line(self, text: bytes) -> None:
                self.wfile.write(f"{len(text):x}\r\n".encode() + text + b"\r\n")
                self.wfile.flush()

            def _stream(self, query: dict[str, list[str]]) -> None:
                plan = fake.plans.pop(0) if fake.plans else Plan()
                with fake._changed:
                    position = 0 if "backfill_minutes" in query else len(fake.published)
                    fake.connections.append(query)
                if plan.status != 200:
                    self._reply(plan.status, {"title": "ConnectionException", "type":
                                              "https://api.twitter.com/2/problems/streaming-connection",
                                              "detail": "This stream is currently at the maximum allowed "
                                                        "connection limit."})
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                sent = 0
                try:
                    while True:
                        with fake._changed:
                            if position >= len(fake.published):
                                fake._changed.wait(fake.keepalive)
                            fresh, position = fake.published[position:], len(fake.published)
                        if not fresh:
                            self._line(b"\r\n")
                        for message in fresh:
                            rules = fake.matching(message)
                            if not rules:
                                continue
                            line = json.dumps({**message, "matching_rules": rules}).encode() + b"\r\n"
                            if plan.stall_after is not None and sent >= plan.stall_after:
                                time.sleep(60)
                                return
                            if plan.cut_after is not None and sent >= plan.cut_after:
                                self._line(line[: len(line) // 2])
                                self.connection.shutdown(socket.SHUT_RDWR)
                                return
                            if plan.malformed_after is not None and sent == plan.malformed_after:
                                self._line(b'{"data": {"id": "12", "text": \r\n')
                            self._line(line)
                            sent += 1
                except (BrokenPipeError, ConnectionResetError, OSError):
                    return

        return Handler
