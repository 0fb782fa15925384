"""Choosing a sentiment backend from the config, and annotating mentions in one batched call."""

from __future__ import annotations

import logging
from collections.abc import Collection

from monitor.config import NlpConfig
from monitor.errors import NlpError
from monitor.models import Mention
from monitor.nlp.language import detect_language
from monitor.nlp.scoring import CachedScorer, SentimentScorer

log = logging.getLogger(__name__)

CACHE_ENTRIES = 100_000


def build_scorer(config: NlpConfig) -> CachedScorer:
    """The configured scorer, wrapped in the normalised-text cache.

    ``transformers`` loads ``config.model`` (failures raise :class:`NlpError`); ``offline`` uses
    the bundled fine-tuned encoder + head where the package ships one (else as ``offline-head``);
    ``offline-head`` the stock encoder + ``offline_head.npz``; ``auto`` tries the transformer and
    falls back to offline.
    """
    from monitor.nlp.offline import OfflineScorer, tuned_scorer
    from monitor.nlp.transformers_backend import TransformersScorer

    scorer: SentimentScorer
    if config.backend == "offline":
        scorer = tuned_scorer(config.uncertain_below, config.threads)
    elif config.backend == "offline-head":
        scorer = OfflineScorer(uncertain_below=config.uncertain_below, threads=config.threads)
    else:
        try:
            scorer = TransformersScorer(
                config.model,
                batch_size=config.batch_size,
                max_length=config.max_length,
                device=config.device,
                uncertain_below=config.uncertain_below,
                dtype=config.dtype,
                threads=config.threads,
                quantize=config.quantize,
            )
        except NlpError as exc:
            if config.backend == "transformers":
                raise
            log.warning(
                "sentiment model %s could not be loaded (%s); using the offline multilingual "
                "backend — accuracy is lower; see docs/nlp.md",
                config.model,
                getattr(exc, "reason", exc),
            )
            scorer = tuned_scorer(config.uncertain_below, config.threads)
    return CachedScorer(scorer, max_entries=CACHE_ENTRIES)


def _hint(value: str | None) -> str | None:
    """``en-US`` → ``en``; ``und``, empty or malformed hints → None."""
    code = (value or "").strip().lower().replace("_", "-").split("-")[0]
    return code if code.isalpha() and len(code) in (2, 3) and code not in {"und", "zxx"} else None


def mention_text(mention: Mention) -> str:
    """What is scored: the title and the text when there is a title."""
    if mention.title and mention.title.strip() and mention.title.strip() not in mention.text:
        return f"{mention.title.strip()}\n{mention.text}"
    return mention.text


def mention_language(mention: Mention, candidates: Collection[str] | None = None) -> str | None:
    """The mention's language: as already set, the source's hint, or identified from its text."""
    return mention.language or _hint(mention.language_hint) or detect_language(mention_text(mention), candidates)


class Annotator:
    """Sets ``language`` and ``sentiment`` on mentions; existing values are kept.

    ``languages`` restricts language detection to those candidates (see
    :func:`~monitor.nlp.language.detect_language`).
    """

    def __init__(self, scorer: SentimentScorer, languages: Collection[str] | None = None):
        self.scorer = scorer
        self.languages = languages or None

    @property
    def scorer_name(self) -> str:
        """The sentiment model's name, as recorded in each :class:`Sentiment`."""
        return self.scorer.name

    def annotate(self, mentions: list[Mention], languages: Collection[str] | None = None) -> list[Mention]:
        """Annotated copies of ``mentions``, in order; all texts go to the scorer in one call.

        ``languages`` (e.g. the brand's) overrides the candidate languages given at construction.
        """
        candidates = languages or self.languages
        todo = [i for i, mention in enumerate(mentions) if mention.sentiment is None]
        scores = self.scorer.score([mention_text(mentions[i]) for i in todo]) if todo else []
        sentiments = dict(zip(todo, scores))
        out = []
        for i, mention in enumerate(mentions):
            language = mention_language(mention, candidates)
            out.append(mention.model_copy(update={
                "language": language,
                "sentiment": sentiments.get(i, mention.sentiment),
            }))
        return out
