"""A fake Slack Web API on 127.0.0.1 for tests that drive the real ``slack_sdk.WebClient``.

Usage::

    with FakeSlack(token="xoxb-test") as slack:
        client = WebClient(token="xoxb-test", base_url=slack.base_url)
        client.chat_postMessage(channel="#alerts", text="hi")
        assert slack.messages[0]["text"] == "hi"

or as a fixture (``with FakeSlack() as slack: yield slack``). It speaks ``auth.test``,
``chat.postMessage``, ``chat.update``, ``chat.postEphemeral``, the external file upload flow
and ``apps.connections.open`` (for ``fake_socket_mode.FakeSocketMode``), checks the bearer token
(the app-level token for the last), rejects what Slack rejects (too many blocks, long texts,
unknown channels when ``channels`` is given) and can be scripted to fail the next calls.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit

DEFAULT_TOKEN = "xoxb-fake-token"
DEFAULT_APP_TOKEN = "xapp-1-A0FAKE-1-fake"
APP_TOKEN_METHODS = {"apps.connections.open"}
JSON_PARAMS = ("blocks", "attachments", "files", "metadata")
BLOCK_TYPES = {"section", "header", "divider", "context", "actions", "image", "input", "rich_text", "file", "video"}


def units(text: str) -> int:
    """Length in UTF-16 code units (the strict reading of Slack's character limits)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Request:
    """One request the fake received."""

    method: str
    headers: dict[str, str]
    params: dict[str, Any]
    raw: bytes


@dataclass
class Failure:
    """A scripted failure for the next call (of ``method``, or of any API method)."""

    status: int = 500
    error: str = "internal_error"
    retry_after: float | None = None
    method: str | None = None
    delay: float = 0.0
    html: bool = False


class SlackError(Exception):
    def __init__(self, error: str, *messages: str):
        super().__init__(error)
        self.error, self.messages = error, list(messages)


def _text(obj: Any) -> str:
    return obj.get("text", "") if isinstance(obj, dict) else ""


def _select_problems(select: dict[str, Any], where: str) -> list[str]:
    options = select.get("options") or []
    if not 0 < len(options) <= 100:
        return [f"a select needs 1 to 100 options [json-pointer:{where}/options]"]
    return [f"option over its limits [json-pointer:{where}/options/{k}]" for k, option in enumerate(options)
            if not 0 < units(_text(option.get("text"))) <= 75 or not 0 < len(option.get("value", "")) <= 150]


def block_problems(blocks: Any) -> list[str]:
    """What Slack's block validation would complain about (empty when acceptable)."""
    if not isinstance(blocks, list):
        return ["blocks must be an array"]
    problems = [f"no more than 50 items allowed [json-pointer:/blocks] ({len(blocks)})"] if len(blocks) > 50 else []
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"/blocks/{i}"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in BLOCK_TYPES:
            problems.append(f"unknown block type {kind!r} [json-pointer:{where}]")
            continue
        if "block_id" in block:
            if block["block_id"] in block_ids or len(block["block_id"]) > 255:
                problems.append(f"duplicate or long block_id [json-pointer:{where}/block_id]")
            block_ids.add(block["block_id"])
        if kind == "header" and (block["text"].get("type") != "plain_text" or units(_text(block["text"])) > 150):
            problems.append(f"header must be plain_text up to 150 characters [json-pointer:{where}/text]")
        if kind == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"section needs text or fields [json-pointer:{where}]")
            if units(_text(block.get("text"))) > 3000 or ("text" in block and not _text(block["text"])):
                problems.append(f"must be between 1 and 3000 characters [json-pointer:{where}/text/text]")
            fields = block.get("fields", [])
            if len(fields) > 10 or any(units(_text(f)) > 2000 for f in fields):
                problems.append(f"at most 10 fields of 2000 characters [json-pointer:{where}/fields]")
        if kind == "context" and (len(block.get("elements", [])) > 10 or not block.get("elements")):
            problems.append(f"context needs 1 to 10 elements [json-pointer:{where}/elements]")
        if kind == "actions":
            elements = block.get("elements", [])
            if not 0 < len(elements) <= 25:
                problems.append(f"actions needs 1 to 25 elements [json-pointer:{where}/elements]")
            for j, element in enumerate(elements):
                if units(_text(element.get("text"))) > 75 or len(element.get("action_id", "")) > 255 \
                        or len(element.get("value", "")) > 2000 or len(element.get("url", "")) > 3000:
                    problems.append(f"button over its limits [json-pointer:{where}/elements/{j}]")
                if element.get("type") == "static_select":
                    problems += _select_problems(element, f"{where}/elements/{j}")
    return problems


class FakeSlack:
    """The fake server; thread-safe, records every request in :attr:`requests`."""

    def __init__(self, token: str = DEFAULT_TOKEN, channels: Iterable[str] | dict[str, str] | None = None,
                 app_token: str = DEFAULT_APP_TOKEN):
        self.token = token
        self.app_token = app_token
        self.socket_urls: Callable[[], str] | None = None  # set by a FakeSocketMode attached to this fake
        given = channels if isinstance(channels, dict) else {c: self._channel_id(c) for c in channels or ()}
        self.channels: dict[str, str] | None = None if channels is None else {
            name.lstrip("#"): cid for name, cid in given.items()
        }
        self.requests: list[Request] = []
        self.messages: list[dict[str, Any]] = []
        self.ephemeral: list[dict[str, Any]] = []
        self.uploads: dict[str, dict[str, Any]] = {}
        self.files: list[dict[str, Any]] = []
        self.names: dict[str, str] = {}
        self._failures: list[Failure] = []
        self._lock = threading.Lock()
        self._seq = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "conversations.list": self._list_channels,
            "conversations.history": self._history,
            "conversations.replies": self._replies,
            "apps.connections.open": self._open_connection,
        }

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        fake = self

        class Handler(_Handler):
            slack = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True,
                                        name="fake-slack")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    @property
    def base_url(self) -> str:
        """What to give ``WebClient(base_url=...)``; ends with a slash as the SDK requires."""
        return self.url + "api/"

    # -- scripting and inspection ---------------------------------------------------------

    def fail_next(self, times: int = 1, status: int = 500, error: str = "internal_error",
                  retry_after: float | None = None, method: str | None = None, html: bool = False) -> None:
        """Make the next ``times`` calls (of ``method``, or of any method) fail."""
        with self._lock:
            self._failures += [Failure(status, error, retry_after, method, 0.0, html) for _ in range(times)]

    def rate_limit_next(self, times: int = 1, retry_after: float = 1, method: str | None = None) -> None:
        """Answer the next ``times`` calls with HTTP 429 and ``Retry-After``."""
        self.fail_next(times, 429, "ratelimited", retry_after, method)

    def delay_next(self, seconds: float, times: int = 1, method: str | None = None) -> None:
        """Answer the next calls only after ``seconds`` (to test client timeouts)."""
        with self._lock:
            self._failures += [Failure(200, "", None, method, seconds) for _ in range(times)]

    def action_payload(self, message: dict[str, Any], action_id: str, user: str = "dana", stamp: str = "1",
                       option: int | None = None) -> dict[str, Any]:
        """The ``block_actions`` payload Slack sends when ``user`` presses a button of a posted
        ``message`` (for a select menu, ``option`` picks the option chosen, by position)."""
        button, block_id = None, None
        for block in message.get("blocks") or []:
            for element in block.get("elements") or []:
                if isinstance(element, dict) and element.get("action_id") == action_id:
                    button, block_id = element, block.get("block_id")
        if button is None:
            raise SlackError("no_such_button", action_id)
        if button.get("type") == "static_select":
            action = {"type": "static_select", "action_id": action_id, "block_id": block_id,
                      "selected_option": button["options"][option or 0], "placeholder": button.get("placeholder"),
                      "action_ts": stamp}
        else:
            action = {"type": "button", "action_id": action_id, "block_id": block_id, "value": button.get("value"),
                      "text": button.get("text"), "action_ts": stamp}
        return {
            "type": "block_actions", "api_app_id": "A0FAKE", "trigger_id": "1.2.3",
            "user": {"id": "U0" + user.upper(), "username": user, "name": user, "team_id": "T0FAKE"},
            "team": {"id": "T0FAKE", "domain": "fake"},
            "container": {"type": "message", "message_ts": message["ts"], "channel_id": message["channel"]},
            "channel": {"id": message["channel"]}, "message": {"ts": message["ts"], "text": message.get("text", "")},
            "response_url": f"{self.url}/actions/response", "actions": [action],
        }

    def press(self, message: dict[str, Any], action_id: str, request_url: str, signing_secret: str,
              user: str = "dana", timestamp: float | None = None, tamper: bool = False,
              option: int | None = None, retry: int | None = None) -> int:
        """Press a button of a posted ``message`` as Slack does over HTTP: a signed
        ``block_actions`` POST to the app's request URL (``retry``: Slack's retry number).
        Returns the HTTP status the app answered."""
        stamp = str(int(timestamp if timestamp is not None else time.time()))
        payload = self.action_payload(message, action_id, user, stamp, option)
        body = urlencode({"payload": json.dumps(payload)}).encode()
        base = b"v0:" + stamp.encode() + b":" + body
        signature = "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
        if tamper:
            body = body.replace(b"incident", b"incidenT", 1)
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}
        if retry is not None:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        request = urllib.request.Request(request_url, data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def calls(self, method: str | None = None) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if method is None or r.method == method]

    def _take_failure(self, method: str) -> Failure | None:
        with self._lock:
            for index, failure in enumerate(self._failures):
                if failure.method in (None, method):
                    return self._failures.pop(index)
        return None

    # -- the API --------------------------------------------------------------------------

    @staticmethod
    def _channel_id(name: str) -> str:
        return "C" + hashlib.sha1(name.lstrip("#").encode()).hexdigest()[:8].upper()

    def _resolve_channel(self, channel: Any) -> str:
        if not channel:
            raise SlackError("channel_not_found")
        name = str(channel).lstrip("#")
        if self.channels is None:
            if name[:1] in "CGD" and name.isupper():
                return name
            self.names[self._channel_id(name)] = name
            return self._channel_id(name)
        if name in self.channels:
            return self.channels[name]
        if name in self.channels.values():
            return name
        raise SlackError("channel_not_found")

    def _next_ts(self) -> str:
        with self._lock:
            self._seq += 1
            return f"{int(time.time())}.{self._seq:06d}"

    @staticmethod
    def _check_content(params: dict[str, Any]) -> None:
        text, blocks = params.get("text"), params.get("blocks")
        if not text and not blocks:
            raise SlackError("no_text")
        if text and units(str(text)) > 40000:
            raise SlackError("msg_too_long")
        if blocks is not None:
            problems = block_problems(blocks)
            if problems:
                raise SlackError("invalid_blocks", *(f"[ERROR] {p}" for p in problems))

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": "https://fake.slack.com/", "team": "Fake Team", "user": "monitor", "team_id": "T0FAKE",
                "user_id": "U0MONITOR", "bot_id": "B0MONITOR", "is_enterprise_install": False}

    def _post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(params.get("channel"))
        self._check_content(params)
        message = {**params, "channel": channel, "ts": self._next_ts()}
        with self._lock:
            self.messages.append(message)
        return {"channel": channel, "ts": message["ts"], "message": {"text": params.get("text", ""),
                                                                      "ts": message["ts"]}}

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(params.get("channel"))
        self._check_content(params)
        with self._lock:
            found = next((m for m in self.messages if m["channel"] == channel and m["ts"] == params.get("ts")), None)
            if found is None:
                raise SlackError("message_not_found")
            found.update({k: v for k, v in params.items() if k in ("text", "blocks")})
        return {"channel": channel, "ts": found["ts"], "text": found.get("text", "")}

    def _post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(params.get("channel"))
        if not params.get("user"):
            raise SlackError("user_not_in_channel")
        self._check_content(params)
        ts = self._next_ts()
        with self._lock:
            self.ephemeral.append({**params, "channel": channel, "message_ts": ts})
        return {"message_ts": ts}

    def _list_channels(self, params: dict[str, Any]) -> dict[str, Any]:
        known = self.names if self.channels is None else {cid: name for name, cid in self.channels.items()}
        return {"channels": [{"id": cid, "name": name} for cid, name in sorted(known.items())],
                "response_metadata": {"next_cursor": ""}}

    @staticmethod
    def _shown(message: dict[str, Any], metadata: bool) -> dict[str, Any]:
        shown = {k: message[k] for k in ("ts", "text", "thread_ts") if k in message}
        if metadata and message.get("metadata"):
            shown["metadata"] = message["metadata"]
        return shown

    def _history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(params.get("channel"))
        metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
        with self._lock:
            found = [m for m in self.messages if m["channel"] == channel
                     and (not m.get("thread_ts") or str(m.get("reply_broadcast")).lower() in ("1", "true"))]
        return {"messages": [self._shown(m, metadata) for m in reversed(found)], "has_more": False}

    def _replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(params.get("channel"))
        metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
        ts = params.get("ts")
        with self._lock:
            found = [m for m in self.messages if m["channel"] == channel and ts in (m["ts"], m.get("thread_ts"))]
        if not found:
            raise SlackError("thread_not_found")
        return {"messages": [self._shown(m, metadata) for m in found], "has_more": False}

    def _open_connection(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.socket_urls is None:
            raise SlackError("socket_mode_not_enabled")
        return {"url": self.socket_urls()}

    def _get_upload_url(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("filename") or not str(params.get("length", "")).isdigit():
            raise SlackError("invalid_arguments")
        with self._lock:
            file_id = f"F{len(self.uploads) + 1:08d}"
            self.uploads[file_id] = {"filename": params["filename"], "length": int(params["length"]), "data": None}
        return {"upload_url": f"{self.url}upload/{file_id}", "file_id": file_id}

    def _complete_upload(self, params: dict[str, Any]) -> dict[str, Any]:
        files = params.get("files")
        if not isinstance(files, list) or not files:
            raise SlackError("invalid_arguments")
        channel = self._resolve_channel(params["channel_id"]) if params.get("channel_id") else None
        done = []
        with self._lock:
            for entry in files:
                upload = self.uploads.get(entry.get("id", ""))
                if upload is None or upload["data"] is None:
                    raise SlackError("file_not_found")
                done.append({"id": entry["id"], "title": entry.get("title") or upload["filename"],
                             "name": upload["filename"], "size": len(upload["data"])})
            self.files += [{**d, "channel": channel, "thread_ts": params.get("thread_ts"),
                            "initial_comment": params.get("initial_comment"),
                            "data": self.uploads[d["id"]]["data"]} for d in done]
        return {"files": done}

    def handle(self, method: str, headers: dict[str, str], params: dict[str, Any]) -> dict[str, Any]:
        """Run one API method; raises :class:`SlackError` for ``ok: false`` answers."""
        handler = self.handlers.get(method)
        if handler is None:
            raise SlackError("unknown_method")
        auth = headers.get("authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else params.get("token")
        if not token:
            raise SlackError("not_authed")
        expected, other = (self.app_token, self.token) if method in APP_TOKEN_METHODS else (self.token, self.app_token)
        if token == other:
            raise SlackError("not_allowed_token_type")
        if token != expected:
            raise SlackError("invalid_auth")
        return handler(params)


class _Handler(BaseHTTPRequestHandler):
    slack: FakeSlack
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _reply(self, status: int, body: bytes, content_type: str = "application/json; charset=utf-8",
               headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._reply(status, json.dumps(data).encode(), headers=headers)

    def _params(self, raw: bytes) -> dict[str, Any]:
        params: dict[str, Any] = dict(parse_qsl(urlsplit(self.path).query))
        content_type = self.headers.get("Content-Type", "")
        if "application/json" in content_type and raw:
            params.update(json.loads(raw))
        elif raw:
            params.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        for key in JSON_PARAMS:
            if isinstance(params.get(key), str):
                try:
                    params[key] = json.loads(params[key])
                except ValueError:
                    pass
        return params

    def do_GET(self) -> None:
        self.do_POST()

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = urlsplit(self.path).path
        headers = {k.lower(): v for k, v in self.headers.items()}
        if path.startswith("/upload/"):
            self._upload(path.rsplit("/", 1)[-1], raw, headers)
            return
        if not path.startswith("/api/"):
            self._reply(404, b"not found", "text/plain")
            return
        method = path[len("/api/"):]
        try:
            params = self._params(raw)
        except ValueError:
            self._json(200, {"ok": False, "error": "invalid_json"})
            return
        slack = self.slack
        with slack._lock:
            slack.requests.append(Request(method, headers, params, raw))
        failure = slack._take_failure(method)
        if failure is not None and failure.delay:
            time.sleep(failure.delay)
        elif failure is not None:
            self._fail(failure)
            return
        try:
            self._json(200, {"ok": True, **slack.handle(method, headers, params)})
        except SlackError as exc:
            body: dict[str, Any] = {"ok": False, "error": exc.error}
            if exc.messages:
                body["response_metadata"] = {"messages": exc.messages}
            self._json(200, body)

    def _fail(self, failure: Failure) -> None:
        headers = {"Retry-After": str(int(failure.retry_after))} if failure.retry_after is not None else None
        if failure.html:
            self._reply(failure.status, b"<html><body>Service unavailable</body></html>", "text/html", headers)
        else:
            self._json(failure.status, {"ok": False, "error": failure.error}, headers)

    def _upload(self, file_id: str, raw: bytes, headers: dict[str, str]) -> None:
        slack = self.slack
        with slack._lock:
            slack.requests.append(Request("upload", headers, {"file_id": file_id}, raw))
            upload = slack.uploads.get(file_id)
            if upload is not None:
                upload["data"] = raw
        if upload is None:
            self._reply(404, b"unknown upload", "text/plain")
        else:
            self._reply(200, f"OK - {len(raw)}".encode(), "text/plain")

