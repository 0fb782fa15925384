"""The competitors' everyday chatter in the demo, so share of voice has something to compare.

Each competitor gets a share of Aurora Air's ordinary posts, retold with its own name, hashtag and
handle (the handle its care team answers from, ``care.rivals`` in scenario.yaml); their rows go to
a file of their own that only the competitors' sources read.
"""

from __future__ import annotations

import random
from typing import Any

from monitor.demo.scenario import Scenario, created_at

COMPETITORS = {"Nordwind Airways": 0.25, "SkyLark": 0.15}
"""Each competitor's volume as a share of Aurora Air's ordinary posts."""
NAMES = ("Aurora Air", "#AuroraAir", "@AuroraAir")


def retold(text: str, name: str, handle: str) -> str:
    """``text`` about ``name`` instead of Aurora Air (its name, hashtag and ``handle``)."""
    tag = name.replace(" ", "")
    return text.replace(NAMES[1], f"#{tag}").replace(NAMES[2], f"@{handle}").replace(NAMES[0], name)


def competitor_rows(scenario: Scenario, handles: dict[str, str], seed: int = 11) -> list[dict[str, Any]]:
    """Rows for every competitor in :data:`COMPETITORS` (``handles`` by name), sorted by ``created_at``;
    each about one brand only (posts comparing airlines are left out), so no row is stored for two brands."""
    rng = random.Random(seed)
    ordinary = [r for r in scenario.rows if scenario.kinds.get(r["id"]) == "ordinary"
                and not any(name in r["text"] for name in COMPETITORS)]  # comparisons would name one twice
    rows = []
    for name, share in COMPETITORS.items():
        slug = name.replace(" ", "").casefold()
        rows += [{**row, "id": f"{row['id']}-{slug}", "text": retold(row["text"], name, handles[name]),
                  "url": f"{row['url']}?about={slug}"}
                 for row in ordinary if rng.random() < share]
    return sorted(rows, key=created_at)
