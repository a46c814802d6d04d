"""Cold vs warm cache: embed 2,000 SciFact documents twice.

Cold: a fresh cache directory, the model already loaded (its load time is not
counted, which makes the ratio conservative). Warm: a new Embedder over the
filled cache, nothing loaded: the time a second run of the same job costs.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import report, scifact_documents
from semkit import Embedder
from semkit.embedding.registry import resolve

N = 2000


def main() -> None:
    docs = scifact_documents(N)
    with tempfile.TemporaryDirectory() as cache_dir:
        cold_embedder = Embedder(resolve("default"), cache=cache_dir)
        cold_embedder.provider.model  # noqa: B018 - load outside the timing
        t = time.perf_counter()
        cold = cold_embedder.encode(docs, show_progress_bar=True)
        cold_s = time.perf_counter() - t
        t = time.perf_counter()
        warm_embedder = Embedder("default", cache=cache_dir)
        warm = warm_embedder.encode(docs)
        warm_s = time.perf_counter() - t
        assert warm_embedder.last_stats.embedded == 0
        assert warm_embedder.provider._model is None, "a warm run must not load the model"
        assert (cold == warm).all()
    report(
        "cache",
        f"Embedding cache: {N} SciFact documents, cold vs warm",
        ["run", "seconds", "texts/s"],
        [
            ["cold (model loaded, empty cache)", cold_s, N / cold_s],
            ["warm (new Embedder, filled cache)", warm_s, N / warm_s],
            ["speed-up", cold_s / warm_s, ""],
        ],
        notes=[
            "Target: warm >= 50x faster than cold (issue 2).",
            "The warm run loads no model weights and imports no torch.",
        ],
        extra={"cold_s": cold_s, "warm_s": warm_s, "speedup": cold_s / warm_s},
    )


if __name__ == "__main__":
    main()
