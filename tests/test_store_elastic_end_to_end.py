"""The dashboard and the demo on ``storage: elasticsearch`` (a real server), compared with SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dashboard_seed import chart_data, fresh_caches_fixture, run_app, seed, write_config  # noqa: F401  (autouse fixture)
from monitor.demo.run import demo_config, run_demo
from monitor.demo.scenario import generate
from monitor.store.copy import copy_store
from monitor.store.sqlite import SqliteStore

PAGES = [None, "views/mentions.py", "views/incidents.py", "views/outcomes.py", "views/care.py", "views/health.py"]


def es_config(sqlite_config: Path, folder: Path, url: str, prefix: str) -> Path:
    config = yaml.safe_load(sqlite_config.read_text())
    config["storage"] = {"backend": "elasticsearch", "url": url, "index_prefix": prefix}
    folder.mkdir()
    path = folder / "monitor.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def comparable(frame) -> dict:
    """A data frame as plain lists, missing values spelled out (NaN never equals NaN)."""
    return frame.astype(object).where(frame.notna(), "<missing>").to_dict("list")


def page_contents(page: str | None) -> dict:
    at = run_app(page)
    return {
        "metrics": [(m.label, m.value) for m in at.metric],
        "tables": [comparable(df.value) for df in at.dataframe],
        "charts": [[comparable(frame) for frame in chart_data(at, i)]
                   for i in range(len(at.get("vega_lite_chart")))],
        "markdown": [m.value for m in at.markdown],
        "info": [i.value for i in at.info],
    }


def test_every_dashboard_page_shows_the_same_on_both_stores(tmp_path, monkeypatch, es_server, es_store_factory):
    db = tmp_path / "monitor.db"
    seed(db)
    sqlite_config = write_config(tmp_path, db)
    target = es_store_factory()
    with SqliteStore(db) as source:
        copy_store(source, target, str(db), progress=False)
    elastic_config = es_config(sqlite_config, tmp_path / "es", es_server, target.prefix)
    for page in PAGES:
        shown = {}
        for name, config in (("sqlite", sqlite_config), ("elasticsearch", elastic_config)):
            monkeypatch.setenv("MONITOR_CONFIG", str(config))
            import streamlit as st

            st.cache_data.clear()
            st.cache_resource.clear()
            shown[name] = page_contents(page)
        for part in shown["sqlite"]:
            assert shown["elasticsearch"][part] == shown["sqlite"][part], (page, part)
        assert shown["sqlite"]["metrics"] or shown["sqlite"]["tables"], page


@pytest.mark.slow
def test_the_demo_runs_on_elasticsearch(tmp_path, es_server, es_store_factory, offline_annotator):
    prefix = es_store_factory().prefix  # the factory drops the demo's indices afterwards
    scenario = generate(quiet_days=4)
    config = demo_config(tmp_path, scenario)
    config["storage"] = {"backend": "elasticsearch", "url": es_server, "index_prefix": prefix}
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "monitor.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    lines: list[str] = []
    pipeline = run_demo(tmp_path, quiet_days=4, echo=lines.append, annotator=offline_annotator)
    out = "\n".join(lines)
    assert f"Crisis started:  {scenario.crisis_start:%a %Y-%m-%d %H:%M} UTC" in out
    assert out.count("Incident detected at") >= 1  # how many: tests/test_demo_run.py pins that on SQLite
    assert "playbook: Service outage / travel disruption" in out
    assert "Slack alert to #aurora-air-alerts:" in out
    assert type(pipeline.store).__name__ == "ElasticsearchStore"
    assert pipeline.store.notifications() and pipeline.store.runs()
