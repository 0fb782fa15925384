"""The brand query language: its syntax tree and parser.

Grammar (OR binds tighter than the implicit AND between neighbours, as in X and Google)::

    query   := all
    all     := any+                      # every part must match
    any     := unary ("OR" unary)*       # one of the alternatives
    unary   := "-" atom | atom           # "-" excludes
    atom    := "(" all ")" | ["="] "\\"phrase\\"" | #hashtag | @handle | =term | term* | term

``term`` matches the word and its inflected forms in the post's language, ``=term`` and
``="phrase"`` the exact form only, ``term*`` any word starting with ``term``
(see :mod:`monitor.query.matcher`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from monitor.errors import ConfigError

_TOKEN = re.compile(r"""\s*(?:(\()|(\))|(=?)"([^"]*)"|(-)(?=\S)|([^\s()"]+))""")
WORD = re.compile(r"[#@]?[\w][\w'.-]*", re.UNICODE)
_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "‘": "'", "`": "'", "´": "'"})


def normalise(text: str) -> str:
    """Case-folded NFKC text with every apostrophe spelled ``'``."""
    return unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHES)


@dataclass(frozen=True)
class Term:
    kind: str  # "word", "phrase", "exact", "prefix", "hashtag", "handle"
    value: str

    def __str__(self) -> str:
        if self.kind == "phrase":
            return f'"{self.value}"'
        if self.kind == "exact":
            return f'="{self.value}"' if " " in self.value else f"={self.value}"
        if self.kind == "prefix":
            return f"{self.value}*"
        return {"hashtag": "#", "handle": "@"}.get(self.kind, "") + self.value

    @property
    def words(self) -> tuple[str, ...]:
        """The words a term or phrase must match, in order."""
        return tuple(self.value.split(" "))


@dataclass(frozen=True)
class Not:
    part: Node

    def __str__(self) -> str:
        return f"-{_wrap(self.part)}"


@dataclass(frozen=True)
class Any_:
    parts: tuple[Node, ...]

    def __str__(self) -> str:
        return " OR ".join(_wrap(p) for p in self.parts)


@dataclass(frozen=True)
class All:
    parts: tuple[Node, ...]

    def __str__(self) -> str:
        return " ".join(_wrap(p) if isinstance(p, All) else str(p) for p in self.parts)


Node = Term | Not | Any_ | All


def _wrap(node: Node) -> str:
    return f"({node})" if isinstance(node, (Any_, All)) else str(node)


class Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            match = _TOKEN.match(text, pos)
            if not match or match.end() == pos:
                raise ConfigError(f"query {text!r}: cannot read from position {pos + 1} (unclosed quote?)")
            open_, close, exact, phrase, minus, word = match.groups()
            if open_:
                self.tokens.append(("(", "("))
            elif close:
                self.tokens.append((")", ")"))
            elif phrase is not None:
                self.tokens.append(("exact_phrase" if exact else "phrase", phrase))
            elif minus:
                self.tokens.append(("-", "-"))
            else:
                self.tokens.append(("OR", word) if word == "OR" else ("word", word))
            pos = match.end()
        self.index = 0

    def peek(self) -> str | None:
        return self.tokens[self.index][0] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> Node:
        if not self.tokens:
            raise ConfigError("query is empty: give at least one term, phrase, #hashtag or @handle")
        node = self.all()
        if self.peek() is not None:
            raise ConfigError(f"query {self.text!r}: unexpected {self.tokens[self.index][1]!r}")
        return node

    def all(self) -> Node:
        parts = [self.any()]
        while self.peek() not in (None, ")"):
            parts.append(self.any())
        return parts[0] if len(parts) == 1 else All(tuple(parts))

    def any(self) -> Node:
        parts = [self.unary()]
        while self.peek() == "OR":
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else Any_(tuple(parts))

    def unary(self) -> Node:
        if self.peek() == "-":
            self.take()
            return Not(self.atom())
        return self.atom()

    def atom(self) -> Node:
        kind = self.peek()
        if kind is None or kind in (")", "OR"):
            found = "the end" if kind is None else repr(self.tokens[self.index][1])
            raise ConfigError(f"query {self.text!r}: expected a term but found {found}")
        _, value = self.take()
        if kind == "(":
            inner = self.all()
            if self.peek() != ")":
                raise ConfigError(f"query {self.text!r}: missing ')'")
            self.take()
            return inner
        if kind in ("phrase", "exact_phrase"):
            words = tuple(w.lstrip("#@").rstrip(".-'") for w in WORD.findall(normalise(value)))
            if not words:
                raise ConfigError(f"query {self.text!r}: empty phrase")
            if kind == "exact_phrase":
                return Term("exact", " ".join(words))
            return Term("phrase", " ".join(words)) if len(words) > 1 else Term("word", words[0])
        value = normalise(value)
        if value.startswith("#") and len(value) > 1:
            return Term("hashtag", value[1:])
        if value.startswith("@") and len(value) > 1:
            return Term("handle", value[1:])
        kind = "word"
        if value.startswith("=") and len(value) > 1:
            kind, value = "exact", value[1:]
        elif value.endswith("*") and len(value) > 1:
            kind, value = "prefix", value[:-1]
        word = value.strip("#@.,!?;:'*=")
        if not re.search(r"\w", word) or (kind != "word" and word != value):
            raise ConfigError(f"query {self.text!r}: {value!r} is not a term")
        return Term(kind, word)
