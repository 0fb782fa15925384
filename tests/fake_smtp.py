"""A real SMTP server (aiosmtpd) on 127.0.0.1, on a free port, that keeps what it receives.

``reply`` makes it answer the end of DATA with that reply instead of accepting the message;
``drop`` makes it close the connection at the end of DATA without answering (the client cannot
tell whether the message arrived). With ``tls`` it offers STARTTLS and requires it; with
``users`` it requires a login.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage
    login: str | None


@dataclass
class FakeSmtp:
    tls: ssl.SSLContext | None = None
    users: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    reply: str | None = None
    drop: bool = False
    port: int = 0
    host: str = "127.0.0.1"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook name)
        if self.drop:
            server.transport.close()
            return "250 never seen"
        if self.reply:
            return self.reply
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        login = session.auth_data.decode() if isinstance(session.auth_data, bytes) else None
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message, login))
        return "250 OK queued"

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword) and self.users.get(data.login.decode()) == data.password.decode():
            return AuthResult(success=True, auth_data=data.login)
        return AuthResult(success=False, handled=False)

    def _protocol(self) -> SMTP:
        return SMTP(self, hostname="fake-smtp.test", tls_context=self.tls, require_starttls=self.tls is not None,
                    authenticator=self._authenticate if self.users else None, auth_required=bool(self.users),
                    auth_require_tls=self.tls is not None, loop=self._loop)

    def start(self) -> FakeSmtp:
        self._loop = asyncio.new_event_loop()
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(self._loop.create_server(self._protocol, self.host, 0))
            self.port = self._server.sockets[0].getsockname()[1]
            started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        started.wait(10)
        return self

    def stop(self) -> None:
        async def close() -> None:
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
