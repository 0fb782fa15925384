"""E-mail delivery over SMTP (``alerts.notifier: email``): one thread of mails per incident.

Each message gets a Message-ID made from its notification key; replies (updates, escalations,
reminders, resolution) carry the alert's Message-ID in ``In-Reply-To`` and ``References``. The
alert has the spike chart attached. The care digest and the daily digest are mailed too, to the
recipients of their channel. The password is read from the environment variable named by
``password_env``; with ``starttls`` the connection is encrypted before logging in. What was sent
is kept in a journal (see :mod:`monitor.alerts.notify.email.journal`), so a message is sent at
most once per notification key.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from monitor.alerts.notify.base import AlertMessage
from monitor.alerts.notify.chart import chart_title, spike_chart
from monitor.alerts.notify.email.journal import SentJournal
from monitor.alerts.notify.email.digests import care_digest, daily_digest
from monitor.alerts.notify.email.render import RenderedEmail, render
from monitor.care.digest import Digest
from monitor.daily.digest import DailyDigest
from monitor.errors import ConfigError, DeliveryError

log = logging.getLogger(__name__)

MESSAGE_ID = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")
ADDRESS = r"^[^@\s]+@[^@\s]+$"


class EmailConfig(BaseModel):
    """The ``email:`` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    ca_certs: Path | None = None
    username: str | None = None
    password_env: str = "MONITOR_SMTP_PASSWORD"
    sender: str = Field(pattern=ADDRESS)
    to: list[str] = Field(min_length=1)
    channels: dict[str, list[str]] = Field(default_factory=dict)
    timeout: float = Field(default=30.0, gt=0)
    journal: Path = Path("email-sent.jsonl")

    def recipients(self, channel: str) -> list[str]:
        """Who gets a message for ``channel``: its own list, else ``to``."""
        return self.channels.get(channel) or self.to


def message_id(key: str, sender: str) -> str:
    """The Message-ID of the notification with ``key``: the same on every attempt."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{sender.rpartition('@')[2]}>"


def _refusal(exc: smtplib.SMTPException) -> DeliveryError:
    """A server's "no": permanent for 5xx codes, retryable for 4xx."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return DeliveryError(f"SMTP server refused every recipient ({', '.join(map(str, codes))})",
                             permanent=all(code >= 500 for code in codes))
    code = getattr(exc, "smtp_code", 0)
    reply = getattr(exc, "smtp_error", b"")
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    return DeliveryError(f"SMTP server refused the message ({code} {text[:200]})", permanent=code >= 500)


class EmailNotifier:
    """Sends incident messages as e-mail (plain text and HTML) through an SMTP server."""

    Config = EmailConfig

    def __init__(self, settings: EmailConfig, password: str | None = None):
        self.settings = settings
        self._password = password
        self.journal = SentJournal(settings.journal)

    @classmethod
    def from_config(cls, settings: EmailConfig) -> EmailNotifier:
        password = os.environ.get(settings.password_env) or None
        if settings.username and not password:
            raise ConfigError(f"email.username is set but the environment variable {settings.password_env} "
                              "(the SMTP password) is not")
        return cls(settings, password)

    def __repr__(self) -> str:
        return f"EmailNotifier(host={self.settings.host!r}, port={self.settings.port})"

    def compose(self, message: AlertMessage) -> EmailMessage:
        """The e-mail for ``message``: threaded under the alert's Message-ID, the chart attached to an alert."""
        thread = message.thread_ts if message.thread_ts and MESSAGE_ID.fullmatch(message.thread_ts) else None
        mail = self._mail(render(message), message.channel, message.key or f"{message.incident.id}:{message.kind}",
                          thread)
        chart = spike_chart(message.summary, chart_title(message.incident.brand)) if message.kind == "alert" else None
        if chart is not None:
            mail.add_attachment(chart, maintype="image", subtype="png", filename="spike.png")
        return mail

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        try:
            smtp.ehlo()
            if settings.starttls:
                context = ssl.create_default_context(cafile=str(settings.ca_certs) if settings.ca_certs else None)
                smtp.starttls(context=context)
                smtp.ehlo()
            if settings.username:
                smtp.login(settings.username, self._password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: AlertMessage) -> str:
        mail = self.compose(message)
        mail_id = self._deliver(mail, message.key or str(mail["Message-ID"]))
        log.info("mailed %s for incident %s to %s (%s)", message.kind, message.incident.id, mail["To"], mail_id)
        return mail_id

    def _mail(self, rendered: RenderedEmail, channel: str, key: str, reply_to: str | None = None) -> EmailMessage:
        """``rendered`` as text and HTML to ``channel``'s recipients, its Message-ID made from ``key``."""
        mail = EmailMessage()
        mail["Subject"] = rendered.subject
        mail["From"] = self.settings.sender
        mail["To"] = ", ".join(self.settings.recipients(channel))
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = message_id(key, self.settings.sender)
        if reply_to:
            mail["In-Reply-To"] = reply_to
            mail["References"] = reply_to
        mail.set_content(rendered.text)
        mail.add_alternative(rendered.html, subtype="html")
        return mail

    def post_digest(self, digest: Digest) -> str:
        """Mail the care digest (posts waiting for an answer) to its channel's recipients, once per key."""
        mail_id = self._deliver(self._mail(care_digest(digest), digest.channel, digest.key), digest.key)
        log.info("mailed the care digest for %s (%d posts, %s)", digest.channel, len(digest.items), mail_id)
        return mail_id

    def post_daily_digest(self, digest: DailyDigest) -> str:
        """Mail a brand's daily digest to its channel's recipients, once per key."""
        mail_id = self._deliver(self._mail(daily_digest(digest), digest.channel, digest.key), digest.key)
        log.info("mailed the daily digest of %s for %s (%s)", digest.brand, digest.day, mail_id)
        return mail_id

    def posted(self, channel: str, key: str) -> str | None:
        """The Message-ID of the digest with ``key`` if it was sent (keys name their channel)."""
        return self.journal.delivered(key)

    def _deliver(self, mail: EmailMessage, key: str) -> str:
        """Send ``mail`` over SMTP, journalled under ``key``; returns its Message-ID."""
        mail_id = str(mail["Message-ID"])
        try:
            smtp = self._connect()
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(f"SMTP server {self.settings.host} does not offer STARTTLS ({exc})",
                                permanent=True) from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP login refused ({exc.smtp_code})", permanent=True) from exc
        except smtplib.SMTPResponseException as exc:
            raise _refusal(exc) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP server {self.settings.host}:{self.settings.port} unreachable: "
                                f"{type(exc).__name__}: {exc}") from exc
        try:
            self.journal.write(key, mail_id, "sending")
            try:
                smtp.send_message(mail)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as exc:
                self.journal.write(key, mail_id, "refused")
                raise _refusal(exc) from exc
            except (OSError, smtplib.SMTPException) as exc:
                raise DeliveryError(f"SMTP connection lost while sending {mail_id}; it may have been accepted, "
                                    f"so it is not sent again: {type(exc).__name__}: {exc}") from exc
            self.journal.write(key, mail_id, "sent")
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        return mail_id

    def find(self, message: AlertMessage) -> str | None:
        return self.journal.delivered(message.key) if message.key else None
