"""The demo's competitors: their own chatter, found by their own queries and never by Aurora Air's."""

from monitor.demo.competitors import COMPETITORS, competitor_rows, retold
from monitor.demo.scenario import generate, load_config
from monitor.query import Query

RIVALS = {rival["name"]: rival for rival in load_config()["care"]["rivals"]}


def test_a_post_is_retold_about_a_competitor():
    text = "Great crew with Aurora Air today @AuroraAir #AuroraAir"
    assert retold(text, "SkyLark", "SkyLarkAir") == "Great crew with SkyLark today @SkyLarkAir #SkyLark"


def test_each_competitor_gets_its_share_of_the_ordinary_chatter_matched_by_its_own_query():
    scenario = generate(quiet_days=7)
    rows = competitor_rows(scenario, {name: rival["handle"] for name, rival in RIVALS.items()})
    ordinary = sum(1 for kind in scenario.kinds.values() if kind == "ordinary")
    aurora = Query.parse(scenario.query)
    assert [r["created_at"] for r in rows] == sorted(r["created_at"] for r in rows)
    for name, share in COMPETITORS.items():
        query = Query.parse(RIVALS[name]["query"])
        mine = [r for r in rows if r["id"].endswith(name.replace(" ", "").casefold())]
        assert abs(len(mine) / ordinary - share) < 0.05
        assert sum(1 for r in mine if query.match(r["text"])) >= 0.95 * len(mine)
        assert not any(aurora.match(r["text"]) for r in mine)
        assert not any(other in r["text"] for r in mine for other in COMPETITORS if other != name)
    assert len({r["id"] for r in rows}) == len(rows) and not {r["id"] for r in rows} & {r["id"] for r in scenario.rows}
