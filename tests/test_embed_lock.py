"""Issue 17, item 13: two runs embedding into one cache take turns, so the second
embeds only what the first did not (here, nothing)."""

import threading
import time

import numpy as np

from pluralist.encode import EmbeddingCache, get_encoder


class SlowEncoder:
    """The hashing encoder, slowed so that two runs overlap, counting what it encodes."""

    def __init__(self):
        self.inner, self.encoded = get_encoder("hashing:32"), 0
        self.id, self.dim = self.inner.id, self.inner.dim

    def encode(self, texts):
        time.sleep(0.02)
        self.encoded += len(texts)
        return self.inner.encode(texts)


def test_two_concurrent_runs_on_one_cache_embed_each_text_once(tmp_path):
    texts = [f"text number {i}" for i in range(400)]
    encoders, results = [SlowEncoder(), SlowEncoder()], {}
    # both runs open the cache before either has written anything, as two processes
    # started together would: each finds every text missing
    caches = [EmbeddingCache(encoder, tmp_path, flush_every=100) for encoder in encoders]

    def run(index):
        results[index] = caches[index].embed(texts)

    threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert sum(e.encoded for e in encoders) == len(texts)   # not twice
    assert sorted(c.last_stats.embedded for c in caches) == [0, len(texts)]
    np.testing.assert_array_equal(results[0], results[1])
    assert len(EmbeddingCache(encoders[0], tmp_path)) == len(texts)
