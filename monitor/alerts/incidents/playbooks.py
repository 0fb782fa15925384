"""Crisis playbooks: load and validate ``playbooks/*.yaml``, and pick one for an incident.

Matching folds case, width and accents (``"odwolany"`` finds ``"odwołany"``) and compares
whole words; a word ending in ``*`` matches any word starting with it (``"awari*"``
finds ``"awaria"``, ``"awarii"``, ``"awarię"``), which covers Polish and German inflection.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Sequence

import yaml
from pydantic import ValidationError

from monitor.config_checks import format_path
from monitor.errors import PlaybookError
from monitor.models import Incident, Playbook, Severity

log = logging.getLogger(__name__)

Problem = tuple[str, str]

SUFFIXES = (".yaml", ".yml")
BUILT_IN_PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
"""The playbooks that ship with the package (``monitor init`` copies them beside a new config)."""
KEYWORD_POINTS = 1.0
REPEAT_POINTS = 0.1
MAX_REPEAT_POINTS = 1.0
CRISIS_TYPE_POINTS = 3.0
KIND_POINTS = 0.5

_FOLD = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ı": "i", "æ": "ae", "œ": "oe", "’": "'", "‘": "'"})
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_CHANNEL = re.compile(r"^(#[a-z0-9][a-z0-9_-]{0,79}|[CG][A-Z0-9]{6,})$")


def fold(text: str) -> str:
    """Casefold and strip accents so keywords and posts compare loosely."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_FOLD)


@lru_cache(maxsize=4096)
def keyword_pattern(keyword: str) -> re.Pattern[str]:
    """The whole-word pattern of ``keyword``; a ``*`` ending a word allows any word ending."""
    words = [re.escape(w.rstrip("*")) + (r"\w*" if w.endswith("*") else "") for w in fold(keyword).split()]
    body = r"\s+".join(words)
    return re.compile(rf"(?<!\w){body}(?!\w)")


# -- loading and validation ---------------------------------------------------------------


def _severity_words(data: dict[str, Any]) -> None:
    """Accept ``min_severity: high`` as well as ``min_severity: 3``."""
    triggers = data.get("triggers")
    if isinstance(triggers, dict) and isinstance(triggers.get("min_severity"), str):
        word = triggers["min_severity"].strip().upper()
        if word in Severity.__members__:
            triggers["min_severity"] = Severity[word].value


def _content_problems(playbook: Playbook) -> list[tuple[str, str]]:
    """Checks beyond the model's types: blank texts, language codes, channel names."""
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, keyword in enumerate(playbook.triggers.keywords):
        words = keyword.split()
        if not words or any(not w.rstrip("*") or "*" in w.rstrip("*") for w in words):
            found.append((f"triggers.keywords[{i}]", f"{keyword!r} is not a keyword ('*' only ends a word)"))
        elif " ".join(fold(keyword).split()) in seen:
            found.append((f"triggers.keywords[{i}]", f"{keyword!r} is listed twice (each hit would count twice)"))
        seen.add(" ".join(fold(keyword).split()))
    for field, languages in (
        ("holding_statement", playbook.holding_statement),
        ("response_templates", playbook.response_templates),
    ):
        for language, value in languages.items():
            if not _LANGUAGE.match(language):
                found.append((f"{field}.{language}", "keys are language codes such as en, pl, de, pt-BR"))
            texts = value.items() if isinstance(value, dict) else [("", value)]
            for name, text in texts:
                if not text.strip():
                    found.append((".".join(filter(None, (field, language, name))), "must not be blank"))
    for i, language in enumerate(playbook.triggers.languages):
        if not _LANGUAGE.match(language):
            found.append((f"triggers.languages[{i}]", f"{language!r} is not a language code"))
    if playbook.slack_channel and not _CHANNEL.match(playbook.slack_channel):
        found.append(("slack_channel", "write a channel as #name (lower case) or its ID such as C0123ABCD"))
    if not playbook.fallback and not playbook.triggers.keywords and not playbook.triggers.crisis_types:
        found.append(("triggers", "a non-fallback playbook needs keywords or crisis_types to be matched"))
    return found


def _parse_file(path: Path) -> tuple[Playbook | None, list[Problem]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return None, [(str(path), f"cannot read: {exc.strerror or exc}")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return None, [(str(path), f"not valid YAML{where}: {getattr(exc, 'problem', exc)}")]
    if not isinstance(data, dict):
        return None, [(str(path), "expected a mapping with id, title, crisis_type, steps, holding_statement")]
    _severity_words(data)
    try:
        playbook = Playbook.model_validate(data)
    except ValidationError as exc:
        return None, [(f"{path}: {format_path(tuple(e['loc']))}", e["msg"]) for e in exc.errors()]
    return playbook, [(f"{path}: {where}", why) for where, why in _content_problems(playbook)]


def _read(directory: str | Path) -> tuple[list[Playbook], list[Problem]]:
    folder = Path(directory)
    if not folder.is_dir():
        return [], [(str(folder), "playbook folder does not exist")]
    files = sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file())
    if not files:
        return [], [(str(folder), "no playbook files (*.yaml) found")]
    playbooks: list[Playbook] = []
    problems: list[Problem] = []
    seen: dict[str, Path] = {}
    fallbacks: list[Path] = []
    unreadable = 0
    for path in files:
        playbook, found = _parse_file(path)
        problems += found
        if playbook is None:
            unreadable += 1
            continue
        if playbook.id in seen:
            problems.append((f"{path}: id", f"duplicate id {playbook.id!r} (also in {seen[playbook.id]})"))
            continue
        seen[playbook.id] = path
        if playbook.fallback:
            fallbacks.append(path)
        if not found:
            playbooks.append(playbook)
    if not fallbacks and not unreadable:
        problems.append((str(folder), "no playbook has 'fallback: true'; exactly one must"))
    for extra in fallbacks[1:]:
        problems.append((f"{extra}: fallback", f"only one playbook may be the fallback (also {fallbacks[0]})"))
    return playbooks, problems


def validate(directory: str | Path) -> list[Problem]:
    """Every problem in the playbook folder as ``(file: field path, message)``; empty when valid."""
    return _read(directory)[1]


def load_playbooks(directory: str | Path) -> list[Playbook]:
    """Load and validate every playbook in ``directory``, sorted by file name.

    Raises :class:`PlaybookError` listing each problem with its file and field path.
    """
    playbooks, problems = _read(directory)
    if problems:
        raise PlaybookError(f"{directory}: {len(problems)} playbook problem(s)", problems)
    log.debug("loaded %d playbooks from %s", len(playbooks), directory)
    return playbooks


def find(playbooks: Iterable[Playbook], playbook_id: str | None) -> Playbook | None:
    """The playbook with ``playbook_id``, if loaded."""
    return next((p for p in playbooks if playbook_id and p.id == playbook_id), None)


def fallback(playbooks: Iterable[Playbook]) -> Playbook:
    """The fallback playbook (``load_playbooks`` guarantees there is exactly one)."""
    found = next((p for p in playbooks if p.fallback), None)
    if found is None:
        raise PlaybookError("no fallback playbook loaded")
    return found


# -- matching -----------------------------------------------------------------------------


def incident_texts(incident: Incident) -> list[str]:
    """The incident's own words: its topic and each spike's topic and top terms."""
    texts = [incident.topic] if incident.topic else []
    for spike in incident.spikes:
        texts += [t for t in (spike.topic, *spike.top_terms) if t]
    return texts


def _allowed(playbook: Playbook, incident: Incident, language: str | None, source: str | None) -> bool:
    triggers = playbook.triggers
    if incident.severity < triggers.min_severity:
        return False
    if triggers.languages and language and language not in triggers.languages:
        return False
    return not (triggers.sources and source and source not in triggers.sources)


def score(playbook: Playbook, incident: Incident, texts: Sequence[str]) -> float:
    """How well ``playbook`` fits: keyword hits, crisis type in the topic, spike kind."""
    folded = [fold(t) for t in texts if t]
    points = 0.0
    for keyword in playbook.triggers.keywords:
        hits = sum(1 for text in folded if keyword_pattern(keyword).search(text))
        if hits:
            points += KEYWORD_POINTS + min(REPEAT_POINTS * (hits - 1), MAX_REPEAT_POINTS)
    topics = [fold(t) for t in (incident.topic, *(s.topic for s in incident.spikes)) if t]
    for crisis_type in playbook.triggers.crisis_types:
        pattern = keyword_pattern(crisis_type.replace("_", " ").replace("-", " "))
        if any(pattern.search(t.replace("_", " ").replace("-", " ")) for t in topics):
            points += CRISIS_TYPE_POINTS
            break
    kinds = {incident.kind, *(s.kind for s in incident.spikes)}
    if points and kinds & set(playbook.triggers.kinds):
        points += KIND_POINTS
    return points


def rank(
    incident: Incident,
    playbooks: Sequence[Playbook],
    texts: Sequence[str] = (),
    language: str | None = None,
    source: str | None = None,
) -> list[tuple[float, Playbook]]:
    """Non-fallback playbooks that fit the incident, best first (ties keep file order)."""
    corpus = [*texts, *incident_texts(incident)]
    scored = [
        (round(score(p, incident, corpus), 3), p)
        for p in playbooks
        if not p.fallback and _allowed(p, incident, language, source)
    ]
    return sorted((s for s in scored if s[0] > 0), key=lambda s: -s[0])


def match(
    incident: Incident,
    playbooks: Sequence[Playbook],
    texts: Sequence[str] = (),
    language: str | None = None,
    source: str | None = None,
) -> Playbook:
    """The best playbook for ``incident`` given sample ``texts``; the fallback when none fits."""
    ranked = rank(incident, playbooks, texts, language, source)
    chosen = ranked[0][1] if ranked else fallback(playbooks)
    log.info("incident %s matched playbook %s (score %s)", incident.id, chosen.id,
             ranked[0][0] if ranked else 0)
    return chosen
