"""The brand query language, parsed once and matched locally against every mention.

Grammar (OR binds tighter than the implicit AND between neighbours, as in X and Google)::

    query   := all
    all     := any+                      # every part must match
    any     := unary ("OR" unary)*       # one of the alternatives
    unary   := "-" atom | atom           # "-" excludes
    atom    := "(" all ")" | "\\"phrase\\"" | #hashtag | @handle | term

Terms and phrases match whole words, ignoring case and Unicode width; hashtags match the
tag and handles match a mention of the account or its author.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from monitor.errors import ConfigError

_TOKEN = re.compile(r"""\s*(?:(\()|(\))|"([^"]*)"|(-)(?=\S)|([^\s()"]+))""")
_WORD = re.compile(r"[#@]?[\w][\w'’.-]*", re.UNICODE)


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


@dataclass(frozen=True)
class Term:
    kind: str  # "word", "phrase", "hashtag", "handle"
    value: str

    def __str__(self) -> str:
        if self.kind == "phrase":
            return f'"{self.value}"'
        return {"hashtag": "#", "handle": "@"}.get(self.kind, "") + self.value


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


class _Parser:
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
            open_, close, phrase, minus, word = match.groups()
            if open_:
                self.tokens.append(("(", "("))
            elif close:
                self.tokens.append((")", ")"))
            elif phrase is not None:
                self.tokens.append(("phrase", phrase))
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
        if kind == "phrase":
            words = tuple(w.lstrip("#@") for w in _WORD.findall(normalise(value)))
            if not words:
                raise ConfigError(f"query {self.text!r}: empty phrase")
            return Term("phrase", " ".join(words)) if len(words) > 1 else Term("word", words[0])
        value = normalise(value)
        if value.startswith("#") and len(value) > 1:
            return Term("hashtag", value[1:])
        if value.startswith("@") and len(value) > 1:
            return Term("handle", value[1:])
        word = value.strip("#@.,!?;:'’")
        if not re.search(r"\w", word):
            raise ConfigError(f"query {self.text!r}: {value!r} is not a term")
        return Term("word", word)


@dataclass(frozen=True)
class _Doc:
    words: tuple[str, ...]
    hashtags: frozenset[str]
    handles: frozenset[str]
    text: str


def _document(text: str, author: str | None) -> _Doc:
    tokens = [t.rstrip(".-'’") for t in _WORD.findall(normalise(text))]
    words = tuple(t.lstrip("#@") for t in tokens if t.lstrip("#@"))
    hashtags = frozenset(t[1:] for t in tokens if t.startswith("#") and len(t) > 1)
    handles = {t[1:] for t in tokens if t.startswith("@") and len(t) > 1}
    if author:
        handles.add(normalise(author).lstrip("@"))
    return _Doc(words, hashtags, frozenset(handles), " " + " ".join(words) + " ")


class Query:
    """A parsed brand query: ``Query.parse(text).match(post)`` lists the terms that matched."""

    def __init__(self, root: Node):
        self.root = root

    @classmethod
    def parse(cls, text: str) -> Query:
        return cls(_Parser(text).parse())

    def __str__(self) -> str:
        return str(self.root)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Query) and other.root == self.root

    def __hash__(self) -> int:
        return hash(self.root)

    def positive_terms(self) -> list[Term]:
        """Terms that can make a post match (excluded terms left out), in query order."""
        found: list[Term] = []

        def walk(node: Node) -> None:
            if isinstance(node, Term):
                if node not in found:
                    found.append(node)
            elif isinstance(node, (All, Any_)):
                for part in node.parts:
                    walk(part)

        walk(self.root)
        return found

    def match(self, text: str, author: str | None = None) -> list[str]:
        """The matched terms (as written in the query) or ``[]`` when the post does not match."""
        doc = _document(text, author)
        hits: list[str] = []
        return hits if _eval(self.root, doc, hits) else []


def _term_hit(term: Term, doc: _Doc) -> bool:
    if term.kind == "hashtag":
        return term.value in doc.hashtags
    if term.kind == "handle":
        return term.value in doc.handles
    return f" {term.value} " in doc.text


def _eval(node: Node, doc: _Doc, hits: list[str]) -> bool:
    if isinstance(node, Term):
        hit = _term_hit(node, doc)
        if hit and str(node) not in hits:
            hits.append(str(node))
        return hit
    if isinstance(node, Not):
        return not _eval(node.part, doc, [])
    if isinstance(node, Any_):
        results = [_eval(part, doc, hits) for part in node.parts]
        return any(results)
    return all([_eval(part, doc, hits) for part in node.parts])
