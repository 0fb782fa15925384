"""Responses recorded from the real services, read from ``../shared/data/api-recordings``.

They are never copied into the project: where the folder is missing (a clone without the
shared data), the replay tests that need it are skipped with a message.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest

RECORDINGS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "api-recordings"


def recorded_path(source: str, name: str) -> Path:
    """The recorded file ``source/name``; skips the test when the shared folder is missing."""
    path = RECORDINGS / source / name
    if not path.is_file():
        pytest.skip(f"recorded API responses not found at {path} (the shared data folder beside the repository)")
    return path


def recorded(source: str, name: str) -> Any:
    """A recorded JSON body (the first line of a JSONL file)."""
    text = recorded_path(source, name).read_text(encoding="utf-8")
    return json.loads(text.splitlines()[0] if name.endswith(".jsonl") else text)


_JS_TOKEN = re.compile(
    r"""'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"|[A-Za-z_$][\w$]*|-?[\d.]+(?:[eE][-+]?\d+)?|[{}\[\]:,]|\s+""")


def js_object(text: str) -> Any:
    """The object literal after ``export const x =`` in a JavaScript fixture, read as JSON would be
    (single-quoted strings, bare keys and trailing commas allowed)."""
    body = text[text.index("=") + 1:].strip().rstrip(";")
    out: list[str] = []
    for token in (m.group() for m in _JS_TOKEN.finditer(body)):
        if token.isspace():
            continue
        if token in "}]" and out and out[-1] == ",":
            out.pop()
        if token.startswith("'"):
            token = json.dumps(ast.literal_eval(token))
        elif token[0].isalpha() or token[0] in "_$":
            token = token if token in ("null", "true", "false") else json.dumps(token)
        out.append(token)
    return json.loads("".join(out))
