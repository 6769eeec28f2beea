"""Re-evaluates a finished run's best checkpoint under evaluation variants (no retraining).

    python experiments/eval_variants.py --config=experiments/configs/sine/mind.py:ml-1m \
        --workdir=runs/sine_table1/ml-1m/MIND/seed0 --data_dir=../shared/data

Prints and saves (``<workdir>/eval_variants.json``) the test metrics with seen items excluded
from the ranking (the paper's text: "all the items that the user has not interacted with")
and without exclusion (the official code's ``evaluate_full``), so the protocol's effect is
measured on the same trained model.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import mirec  # noqa: E402,F401
from absl import app, flags  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from mirec import evaluation, train  # noqa: E402

_CONFIG = config_flags.DEFINE_config_file("config", None, "The run's config[:arg].")
_WORKDIR = flags.DEFINE_string("workdir", None, "The finished run.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "Dataset folder.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
    del argv
    cfg = _CONFIG.value
    model, split, _ = train.restore_for_eval(cfg, _WORKDIR.value, _DATA_DIR.value)
    out = {}
    for name, exclude in (("exclude_seen", True), ("no_exclusion", False)):
        ecfg = cfg.eval.copy_and_resolve_references()
        ecfg.exclude_seen = exclude
        out[name] = evaluation.evaluate(model, split.test, ecfg)
        print(name, " ".join(f"{k}={100 * v:.2f}" for k, v in out[name].items()))
    with open(os.path.join(_WORKDIR.value, "eval_variants.json"), "w") as f:
        json.dump(out, f, indent=2)


if __name__ == "__main__":
    app.run(main)
