"""ScaNN vs exact brute force: queries/s and recall@50 with K = 4 query vectors per user.

    python experiments/benchmarks/retrieval_throughput.py --sizes=100000,1000000 \
        --out=runs/bench/retrieval.json
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import mirec  # noqa: E402,F401
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from experiments.benchmarks import common  # noqa: E402
from mirec.retrieval import BruteForceIndex, ScaNNIndex, recall_vs_exact  # noqa: E402

_SIZES = flags.DEFINE_list("sizes", ["100000", "1000000"], "Item counts.")
_USERS = flags.DEFINE_integer("users", 1000, "Users queried (K vectors each).")
_DIM = flags.DEFINE_integer("dim", 64, "Embedding size.")
_K = flags.DEFINE_integer("interests", 4, "Query vectors per user.")
_OUT = flags.DEFINE_string("out", "runs/bench/retrieval.json", "JSON output.")


def clustered(n, dim, seed):
    """Item vectors with cluster structure (as trained embeddings have), not pure noise."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((256, dim)).astype(np.float32)
    x = centers[rng.integers(0, 256, n)] + 0.5 * rng.standard_normal((n, dim)).astype(np.float32)
    return x


def main(argv):
    del argv
    results = {}
    for n in map(int, _SIZES.value):
        items = np.concatenate([np.zeros((1, _DIM.value), np.float32),
                                clustered(n, _DIM.value, 0)])
        rng = np.random.default_rng(1)
        queries = items[rng.integers(1, n + 1, (_USERS.value, _K.value))] + \
            0.1 * rng.standard_normal((_USERS.value, _K.value, _DIM.value)).astype(np.float32)
        exact = BruteForceIndex(items)
        exact.search(queries[:8], 50)
        t = time.perf_counter()
        _, ex_ids = exact.search(queries, 50)
        ex_qps = _USERS.value / (time.perf_counter() - t)
        t = time.perf_counter()
        index = ScaNNIndex(items)
        build_s = time.perf_counter() - t
        index.search(queries[:8], 50)
        t = time.perf_counter()
        _, ids = index.search(queries, 50)
        qps = _USERS.value / (time.perf_counter() - t)
        rec = recall_vs_exact(ids, ex_ids)
        results[str(n)] = {"brute_force_users_per_second": ex_qps,
                           "scann_users_per_second": qps, "scann_build_seconds": build_s,
                           "scann_recall_at_50_vs_exact": rec,
                           "queries_per_user": _K.value}
        print(f"{n:>9,} items: exact {ex_qps:8,.0f} users/s | ScaNN {qps:8,.0f} users/s, "
              f"recall@50 {rec:.4f}, build {build_s:.1f} s", flush=True)
    common.write_json(_OUT.value, results)


if __name__ == "__main__":
    app.run(main)
