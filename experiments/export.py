"""Exports a finished run as a serving SavedModel (user tower + ScaNN index).

    python experiments/export.py --config=experiments/configs/spine/mind.py:synthetic \
        --workdir=runs/demo/mind
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import mirec  # noqa: E402,F401
from absl import app, flags  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from mirec import train  # noqa: E402

_CONFIG = config_flags.DEFINE_config_file("config", None, "The run's config file[:arg].")
_WORKDIR = flags.DEFINE_string("workdir", None, "The finished run's workdir.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "Folder with the dataset files.")
_INDEX = flags.DEFINE_enum("index", "scann", ["scann", "brute_force"], "Item index.")
_K = flags.DEFINE_integer("k", 100, "Items returned per user.")
_OUT = flags.DEFINE_string("out", None, "Export path (default <workdir>/export).")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
    del argv
    path = train.export_serving_model(_CONFIG.value, _WORKDIR.value, path=_OUT.value,
                                      index=_INDEX.value, k=_K.value, data_dir=_DATA_DIR.value)
    print(f"exported to {path}")


if __name__ == "__main__":
    app.run(main)
