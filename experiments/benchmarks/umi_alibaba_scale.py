"""UMI at the paper's Alibaba scale on synthetic data: samples/s and peak memory.

    python experiments/benchmarks/umi_alibaba_scale.py --out=runs/bench/umi_alibaba.json

Setting (UMI Sec. 4.1, Alibaba): 2,000,000 items, 37 categorical profile fields, user tower
width 128, attention width 64, K = 6 interests, history T = 50, batch 1024, sampled softmax
with 10,240 log-uniform negatives shared by the batch, hard negatives (max readout), Adam
1e-3. Histories and targets are drawn from a Zipf law over the items (the code path is the
same as for real data; the numbers are a throughput/memory check, not a quality result).
"""

import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import mirec  # noqa: E402,F401
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from experiments.benchmarks import common  # noqa: E402
from mirec import configs  # noqa: E402
from mirec.data.types import DatasetInfo  # noqa: E402
from mirec.models.registry import build_model  # noqa: E402
from mirec.models.umi import default_model_config  # noqa: E402

_ITEMS = flags.DEFINE_integer("items", 2_000_000, "Catalogue size.")
_FIELDS = flags.DEFINE_integer("fields", 37, "Profile fields.")
_SAMPLES = flags.DEFINE_integer("samples", 102_400, "Synthetic training samples.")
_STEPS = flags.DEFINE_integer("steps", 20, "Timed batches.")
_OUT = flags.DEFINE_string("out", "runs/bench/umi_alibaba.json", "JSON output.")


def main(argv):
    del argv
    rng = np.random.default_rng(0)
    m, n, t = _ITEMS.value, _SAMPLES.value, 50
    zipf = lambda size: np.minimum(rng.zipf(1.2, size=size), m).astype(np.int32)  # noqa: E731
    samples = {"history": zipf((n, t)), "target": zipf(n), "user": np.arange(n, dtype=np.int32)}
    fields = {f"f{i}": rng.integers(1, 10, n).astype(np.int32) for i in range(_FIELDS.value)}
    samples.update(fields)
    info = DatasetInfo(name="alibaba-like-synthetic", num_users=n, num_items=m, max_len=t,
                       profile_vocab={k: 10 for k in fields})
    cfg = configs.base_config("synthetic")
    cfg.model = default_model_config()
    cfg.model.embedding_dim = 128
    cfg.model.attention_units = 64
    cfg.model.refine_attention_units = 64
    cfg.model.refine_units = (64,)
    cfg.model.num_interests = 6
    cfg.loss.kind = "sampled_softmax"
    cfg.loss.num_negatives = 10_240
    cfg.loss.shared_negatives = True
    cfg.loss.sampler = "log_uniform"
    cfg.loss.readout = "max"
    model = build_model(cfg, info)
    t0 = time.perf_counter()
    sps = common.train_throughput(model, samples, 1024, steps=_STEPS.value, warmup=4,
                                  steps_per_execution=1)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    res = {"items": m, "profile_fields": _FIELDS.value, "K": 6, "T": t, "batch": 1024,
           "negatives": 10_240, "train_samples_per_second": sps, "peak_rss_gb": peak_gb,
           "seconds": time.perf_counter() - t0,
           "item_table_gb": (m + 1) * 128 * 4 / 1024 ** 3}
    print(f"UMI at Alibaba scale: {sps:,.0f} samples/s, peak memory {peak_gb:.1f} GB "
          f"(item table {res['item_table_gb']:.2f} GB)")
    common.write_json(_OUT.value, res)


if __name__ == "__main__":
    app.run(main)
