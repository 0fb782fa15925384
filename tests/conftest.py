"""Fixtures shared by several test modules."""

from __future__ import annotations

import pytest

from monitor.config import NlpConfig
from monitor.nlp.annotate import Annotator, build_scorer


@pytest.fixture(scope="session")
def offline_annotator() -> Annotator:
    """The bundled offline scorer, built once; its text cache makes repeated replays cheap."""
    return Annotator(build_scorer(NlpConfig(backend="offline")))
