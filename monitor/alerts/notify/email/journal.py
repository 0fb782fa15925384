"""The e-mail notifier's sent-log: what was handed to the SMTP server, by notification key.

SMTP cannot be asked what it received, so each message is written here as ``sending`` (with its
Message-ID) just before it is handed over, then ``sent`` once the server accepted it, or
``refused`` when the server said no. A message left ``sending`` (the process died, or the
connection broke, while the server had it) counts as delivered: a message is sent at most once.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from monitor.alerts.notify.jsonl import records_with_key
from monitor.errors import DeliveryError

State = Literal["sending", "sent", "refused"]


class SentJournal:
    """JSON lines ``{"key", "message_id", "state", "at"}`` appended to ``path``; the last line of a key wins."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()

    def write(self, key: str, message_id: str, state: State) -> None:
        record = {"key": key, "message_id": message_id, "state": state, "at": datetime.now(timezone.utc).isoformat()}
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a+b") as out:  # appends wherever it last read
                    size = out.seek(0, 2)
                    torn = size > 0 and out.seek(size - 1) >= 0 and out.read(1) != b"\n"
                    line = json.dumps(record, ensure_ascii=False) + "\n"
                    out.write((f"\n{line}" if torn else line).encode())  # a torn last line stays on its own
            except OSError as exc:
                raise DeliveryError(f"cannot write the e-mail journal {self.path}: {exc.strerror or exc}") from exc

    def last(self, key: str) -> tuple[State, str] | None:
        """The last state and Message-ID written for ``key``, or None."""
        found = None
        try:
            for record in records_with_key(self.path, key):
                found = (record.get("state"), str(record.get("message_id")))
        except OSError as exc:
            raise DeliveryError(f"cannot read the e-mail journal {self.path}: {exc.strerror or exc}") from exc
        return found

    def delivered(self, key: str) -> str | None:
        """The Message-ID of the message with ``key`` if it was (or may have been) accepted, else None."""
        found = self.last(key)
        return found[1] if found and found[0] in ("sending", "sent") else None
