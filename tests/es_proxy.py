"""A recording proxy in front of the real Elasticsearch test server, on 127.0.0.1 (port 0).

It forwards every request unchanged and keeps what the client sent (method, path, query and
headers), so tests see the authentication headers, ``refresh`` parameters and bulk sizes our
client really sends, while the real server answers. ``refuse`` makes it answer 403 for paths
starting with a prefix, as a cluster does for a key without that privilege. With ``tls`` (a
certificate and key) it speaks HTTPS; with ``client_ca`` it asks for a client certificate.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    size: int
    peer_cert: dict | None = None


@dataclass
class EsProxy:
    upstream: str
    tls: tuple[Path, Path] | None = None
    client_ca: Path | None = None
    refuse: tuple[str, ...] = ()
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        proxy = self
        target = urlsplit(self.upstream)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                peer = self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
                proxy.seen.append(Seen(self.command, parts.path, dict(parse_qsl(parts.query)),
                                       {k.lower(): v for k, v in self.headers.items()}, length, peer))
                if any(parts.path.startswith(prefix) for prefix in proxy.refuse):
                    error = {"error": {"type": "security_exception", "reason": "action is unauthorized"},
                             "status": 403}
                    self._reply(403, json.dumps(error).encode(), {"Content-Type": "application/json",
                                                                 "X-Elastic-Product": "Elasticsearch"})
                    return
                upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                upstream.request(self.command, self.path, body=body or None, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                upstream.close()
                kept = {k: v for k, v in answer.getheaders()
                        if k.lower() in ("content-type", "x-elastic-product", "warning")}
                self._reply(answer.status, data, kept)

            def _reply(self, status: int, data: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            if self.client_ca:
                context.verify_mode = ssl.CERT_REQUIRED
                context.load_verify_locations(self.client_ca)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        host = "localhost" if self.tls else "127.0.0.1"
        return f"{scheme}://{host}:{self.server.server_address[1]}"

    def paths(self, method: str | None = None) -> list[str]:
        return [s.path for s in self.seen if method is None or s.method == method]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
