"""`make demo`: trains YoutubeDNN and MIND on the built-in synthetic dataset and prints

1. their test metrics (leave-one-out, full ranking, exact retrieval), and
2. MIND's retrieval through the ScaNN index against exact brute force.

Runs in a few minutes on 2 CPU cores; no download.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import mirec  # noqa: E402,F401
from absl import app, flags, logging  # noqa: E402

from mirec import evaluation, train  # noqa: E402
from mirec.retrieval import recall_vs_exact  # noqa: E402

_WORKDIR = flags.DEFINE_string("workdir", "runs/demo", "Where the two runs are written.")
_EPOCHS = flags.DEFINE_integer("epochs", 8, "Training epochs per model.")


def _config(module_name):
    import importlib.util

    path = os.path.join(os.path.dirname(__file__), "configs", "spine", f"{module_name}.py")
    spec = importlib.util.spec_from_file_location(module_name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    cfg = mod.get_config("synthetic")
    cfg.train.epochs = _EPOCHS.value
    cfg.train.patience = _EPOCHS.value
    cfg.train.verbose = 0
    return cfg


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    rows = []
    for name, label in (("youtube_dnn", "YoutubeDNN"), ("mind", "MIND")):
        t = time.time()
        wd = os.path.join(_WORKDIR.value, name)
        print(f"training {label} on synthetic data -> {wd}", flush=True)
        test = train.train_and_evaluate(_config(name), wd)
        final = train.load_final(wd)
        rows.append((label, test, final["train_samples_per_second"], time.time() - t))
    print("\nTest metrics (synthetic, leave-one-out, full ranking over 1,000 items, seen "
          "items excluded):\n")
    print("| Model | HR@10 | NDCG@10 | HR@50 | NDCG@50 | train samples/s | wall s |")
    print("|---|---|---|---|---|---|---|")
    for label, m, sps, wall in rows:
        print(f"| {label} | {m['HR@10']:.4f} | {m['NDCG@10']:.4f} | {m['HR@50']:.4f} | "
              f"{m['NDCG@50']:.4f} | {sps:,.0f} | {wall:.0f} |")

    # Retrieval of MIND's K=4 interest vectors per user: ScaNN vs exact.
    model, split, cfg = train.restore_for_eval(_config("mind"),
                                               os.path.join(_WORKDIR.value, "mind"))
    queries = model.encode_users(split.test.features())
    items = model.item_embeddings().numpy()
    exact = evaluation.make_index(items, "brute_force")
    t = time.time()
    _, ex_ids = exact.search(queries, 50, exclude=split.test.seen)
    ex_s = time.time() - t
    print("\nRetrieval of MIND's 4 interest vectors per user (top 50, "
          f"{len(queries):,} users):\n")
    print("| Index | recall@50 vs exact | queries/s |")
    print("|---|---|---|")
    print(f"| brute force (exact) | 1.0000 | {len(queries) / ex_s:,.0f} |")
    for label, kw in (("ScaNN exact config", dict(exact=True)),
                      ("ScaNN approximate", dict(num_leaves=32, num_leaves_to_search=16))):
        index = evaluation.make_index(items, "scann", kw)
        t = time.time()
        _, ids = index.search(queries, 50, exclude=split.test.seen)
        s = time.time() - t
        print(f"| {label} | {recall_vs_exact(ids, ex_ids):.4f} | {len(queries) / s:,.0f} |")


if __name__ == "__main__":
    app.run(main)
