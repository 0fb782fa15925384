import random

from monitor.collectors.stream import Backoff, Bumps, StreamBatch, is_stream
from monitor.collectors.jetstream import JetstreamCollector
from monitor.collectors.rss import RssCollector


def test_bumps_add_up_per_post():
    bumps = Bumps()
    bumps.add("a", likes=1)
    bumps.add("a", shares=1)
    bumps.add("b", replies=2)
    bumps.add("a", likes=1, replies=1)
    assert bumps.counts == {"a": [2, 1, 1], "b": [0, 0, 2]} and len(bumps) == 2


def test_backoff_doubles_up_to_the_maximum_with_jitter_and_resets():
    backoff = Backoff(1.0, 8.0, random.Random(7))
    waits = [backoff.next() for _ in range(6)]
    for wait, full in zip(waits, [1, 2, 4, 8, 8, 8]):
        assert full / 2 <= wait <= full
    backoff.reset()
    assert backoff.next() <= 1.0


def test_streaming_sources_say_so():
    assert is_stream(JetstreamCollector) and not is_stream(RssCollector)
    batch = StreamBatch()
    assert (batch.mentions, batch.cursor, batch.events, batch.error, len(batch.bumps)) == ([], None, 0, None, 0)
