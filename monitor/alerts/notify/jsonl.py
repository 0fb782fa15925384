"""Reading an append-only JSON-lines file of records keyed by notification key (outbox, sent-log)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def records_with_key(path: Path, key: str) -> Iterator[dict[str, Any]]:
    """The records of ``path`` whose ``key`` is ``key``, in file order; a torn or broken line is skipped.

    A missing file has none; other read errors (``OSError``) are the caller's to word.
    """
    try:
        with path.open(encoding="utf-8") as existing:
            for line in existing:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict) and record.get("key") == key:
                    yield record
    except FileNotFoundError:
        return
