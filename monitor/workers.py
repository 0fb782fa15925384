"""Worker identity: who holds a claim, and the settings every worker on one store shares."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta

DEFAULT_LEASE = timedelta(minutes=5)


def new_worker_id() -> str:
    """A unique id for one process: host, pid and a random suffix (a restarted pid gets a new one)."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


PROCESS_WORKER = new_worker_id()  # the owner of claims made outside ``monitor run`` (CLI commands, tests)
