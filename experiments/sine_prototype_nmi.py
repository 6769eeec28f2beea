"""SINE Table 5 analysis on MovieLens: NMI between learned prototypes and item genres.

    python experiments/sine_prototype_nmi.py --config=experiments/configs/sine/sine.py:ml-1m \
        --workdir=runs/sine_table1/ml-1m/SINE/seed0 --data_dir=../shared/data

Each item is assigned to the prototype that concept activation would score highest for it
alone (``argmax_l C_l . e_item``); NMI is computed against the item's first listed genre (18
MovieLens genres) and against its full genre combination, for items that occur in training.
A random assignment with the same cluster sizes gives the chance level. The paper's Table 5
did this on ULarge's category levels (0.09 / 0.37 / 0.29), which is private data.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import mirec  # noqa: E402,F401
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from absl import app, flags  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from mirec import train  # noqa: E402
from mirec.metrics import normalized_mutual_info  # noqa: E402

_CONFIG = config_flags.DEFINE_config_file("config", None, "The SINE run's config[:arg].")
_WORKDIR = flags.DEFINE_string("workdir", None, "The finished SINE run.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "Dataset folder.")
flags.mark_flags_as_required(["config", "workdir"])


def prototype_nmi(model, sequences, item_features, popularity, seed=0):
    """NMI of prototype assignments vs first genre and genre combination."""
    tower = model.user_tower
    protos = tower.prototype_matrix().numpy()  # (L, D)
    items = model.item_embeddings().numpy()  # (M + 1, D)
    assign = np.argmax(items[1:] @ protos.T, axis=1)  # item id i -> row i - 1
    raw = sequences.item_ids[1:]
    genres = item_features["genres"].reindex(pd.Index(raw))
    first = genres.map(lambda g: g[0]).to_numpy()
    combo = genres.map(lambda g: "|".join(sorted(g))).to_numpy()
    seen = popularity[1:] > 0
    rng = np.random.default_rng(seed)
    out = {"num_prototypes": int(protos.shape[0]),
           "prototypes_used": int(len(np.unique(assign[seen]))), "items": int(seen.sum())}
    for name, lab in (("first_genre", first), ("genre_combination", combo)):
        out[f"nmi_{name}"] = normalized_mutual_info(assign[seen], lab[seen])
        out[f"nmi_{name}_random"] = normalized_mutual_info(rng.permutation(assign[seen]),
                                                           lab[seen])
    return out


def main(argv):
    del argv
    cfg = _CONFIG.value
    model, prepared = train.restore_run(cfg, _WORKDIR.value, _DATA_DIR.value)
    res = prototype_nmi(model, prepared.sequences, prepared.item_features,
                        prepared.info.item_popularity)
    print(json.dumps(res, indent=2))
    with open(os.path.join(_WORKDIR.value, "prototype_nmi.json"), "w") as f:
        json.dump(res, f, indent=2)


if __name__ == "__main__":
    app.run(main)
