"""Training samples/s of the models on MovieLens-1M-sized synthetic data.

    python experiments/benchmarks/train_throughput.py --models=youtube_dnn,mind,sine \
        --out=runs/bench/train_throughput.json

Data: 6,040 users, 3,706 items, about 1M interactions (ML-1M's size), history 20,
D = 128, batch 128, sampled softmax with 5 negatives per positive (SINE Table 1 setting).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import mirec  # noqa: E402,F401
import ml_collections  # noqa: E402
from absl import app, flags  # noqa: E402

from experiments.benchmarks import common  # noqa: E402
from mirec import configs  # noqa: E402
from mirec.data import pipeline, prepare  # noqa: E402
from mirec.models.registry import build_model  # noqa: E402

_MODELS = flags.DEFINE_list("models", ["youtube_dnn", "mind"], "Models to time.")
_STEPS = flags.DEFINE_integer("steps", 200, "Timed batches per model.")
_OUT = flags.DEFINE_string("out", "runs/bench/train_throughput.json", "JSON output.")

READOUT = {"youtube_dnn": "single", "sine": "single", "gru4rec": "single", "caser": "single",
           "sasrec": "single", "mcprn": "label_aware"}


def ml1m_sized():
    c = configs.dataset_config("synthetic")
    c.synthetic = ml_collections.ConfigDict(dict(
        num_users=6040, num_items=3706, num_clusters=60, interests_per_user=4, min_length=20,
        max_length=311, seed=0))
    return c


def main(argv):
    del argv
    prepared = prepare.prepare(ml1m_sized())
    tr = prepared.split.train
    samples = pipeline.sliding_window_samples(tr[0], tr[1], tr[2], 20)
    results = {"dataset": {"users": prepared.info.num_users, "items": prepared.info.num_items,
                           "train_samples_per_epoch": int(len(samples["target"]))}}
    for name in _MODELS.value:
        cfg = configs.base_config("synthetic")
        cfg.model.name = name
        cfg.model.embedding_dim = 128
        cfg.loss.readout = READOUT.get(name, "argmax")
        model = build_model(cfg, prepared.info)
        sps = common.train_throughput(model, samples, 128, steps=_STEPS.value)
        results[name] = {"train_samples_per_second": sps,
                         "epoch_seconds_ml1m": results["dataset"]["train_samples_per_epoch"] / sps}
        print(f"{name:12s} {sps:10,.0f} samples/s  "
              f"({results[name]['epoch_seconds_ml1m']:.0f} s per ML-1M epoch)", flush=True)
    common.write_json(_OUT.value, results)


if __name__ == "__main__":
    app.run(main)
