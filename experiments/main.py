"""Runs one experiment config: trains, selects on validation, tests, writes the workdir.

    python experiments/main.py --config=experiments/configs/spine/mind.py:synthetic \
        --workdir=runs/mind --data_dir=../shared/data --config.train.epochs=5
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import mirec  # noqa: E402,F401  (selects Keras 2 before TensorFlow is imported)
from absl import app, flags, logging  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from mirec import train  # noqa: E402

_CONFIG = config_flags.DEFINE_config_file("config", None, "Experiment config file[:arg].")
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for all outputs of the run.")
_DATA_DIR = flags.DEFINE_string(
    "data_dir", None, "Folder with the dataset files (default: $MIREC_DATA or ~/.cache/mirec).")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
    del argv
    logging.set_verbosity(logging.INFO)
    result = train.train_and_evaluate(_CONFIG.value, _WORKDIR.value, data_dir=_DATA_DIR.value)
    print(" ".join(f"{k}={v:.4f}" for k, v in result.items()))


if __name__ == "__main__":
    app.run(main)
