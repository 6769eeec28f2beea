"""The setting shared by every row of MGNM's Table 2 (Amazon columns), Sec. 4.1 of the paper.

``mgnm_table2_config(dataset, split_mode=None)`` pins what the paper states; model files set
``config.model`` (and may override the loss). Datasets (``mirec.configs.DATASETS``):

* ``toys`` / ``instruments``: the paper's Amazon 2014 ratings-only files (need downloading);
  ratings > 2 are positives, users with a single interaction removed; the timestamps allow
  the global chronological split (the official code's reading of "7:1:2 in time order").
* ``toys-s3rec`` / ``instruments-2018``: the closest data available offline. 5-core
  sequences in time order WITHOUT ratings or timestamps (S3-Rec's Toys and Games 2014;
  MQL4GRec's Musical Instruments 2018), so only the per-user 7:1:2 split is possible and
  far fewer (denser) users/items than the paper's Table 1. Results on them are labelled as
  such, never as the paper's setting.
* ``synthetic``: the built-in generator, for tests.

Protocol (stated): chronological 7:1:2 split, each validation/test interaction is one query
ranked against 1,000 sampled negatives the user never interacted with; GAUC, NDCG@5, HIT@5,
MRR@5; Adam lr 1e-3, batch 256, 5 sampled training negatives, d = 16; selection on
validation (the official code selects on test GAUC: we never do).

Choices the paper leaves open: history capacity m = 100 (the official SEQ_LEN); queries use
every earlier interaction of the user (any split) as history; ties between the positive and
a negative count half (``ties="average"``; GAUC always does); training samples are every
prefix of each training sequence (sliding window, at least one history item); at most 50
epochs (the official constant), early stopping after 5 without a better validation GAUC.
"""


import ml_collections

from mirec.configs import base_config
from mirec.paper_tables import MGNM_TABLE2

DATASETS = ("toys", "instruments", "toys-s3rec", "instruments-2018", "synthetic")
OFFLINE = {"toys": "toys-s3rec", "instruments": "instruments-2018"}
# The paper_tables key (MGNM_TABLE2 / MGNM_TABLE3) of the column a dataset stands for.
PAPER_KEY = {"toys": "toys", "toys-s3rec": "toys", "instruments": "instruments",
             "instruments-2018": "instruments"}
SPLIT_FLAGS = ("global", "per_user")
# Which column of the paper's table a dataset stands for.
PAPER_COLUMN = {"toys": "Toys and Games", "toys-s3rec": "Toys and Games",
                "instruments": "Musical Instruments", "instruments-2018": "Musical Instruments"}


def mgnm_table2_config(dataset: str = "toys-s3rec", split_mode: str | None = None):
    """Base config of an MGNM Table 2 row on ``dataset``."""
    if dataset not in DATASETS:
        raise ValueError(f"MGNM Table 2 datasets: {DATASETS}, got {dataset!r}")
    c = base_config(dataset)
    d = c.dataset
    d.protocol = "chronological"
    d.ratios = (0.7, 0.1, 0.2)
    has_clock = dataset in ("toys", "instruments")
    d.split_mode = split_mode or ("global" if has_clock else "per_user")
    if d.split_mode == "global" and not has_clock:
        raise ValueError(f"{dataset} has no timestamps: only split_mode='per_user' is possible")
    d.eval_negatives = 1000
    d.split_seed = 0
    d.max_len = 100
    if dataset == "synthetic":
        d.max_len = 20
        d.eval_negatives = 100
    c.model.embedding_dim = 16
    # Pointwise binary cross-entropy, 5 uniform negatives per positive (MGNM Eq. 16; the
    # SURGE/microsoft-recommenders framework its baselines come from trains the same way).
    c.loss.kind = "bce"
    c.loss.num_negatives = 5
    c.loss.shared_negatives = False
    c.loss.sampler = "uniform"
    c.loss.remove_accidental_hits = True
    c.train.batch_size = 256
    c.train.learning_rate = 1e-3
    c.train.sampling = "sliding_window"
    c.train.epochs = 50
    c.train.patience = 5
    c.train.selection_metric = "GAUC"
    c.eval.cutoffs = (5,)
    c.eval.ties = "average"
    c.paper_table = "mgnm_table2"
    c.paper_dataset = PAPER_COLUMN.get(dataset, dataset)
    c.data_note = ("paper setting" if has_clock else
                   "closest offline data (5-core, no ratings/timestamps, per-user split)")
    if dataset == "synthetic":
        c.train.epochs = 5
        c.train.patience = 2
    return c


def parse_arg(arg: str, flags=()):
    """``"toys-s3rec,global"`` -> (``"toys-s3rec"``, {"global"}); unknown flags raise."""
    dataset, *rest = [p.strip() for p in arg.split(",") if p.strip()] or ["toys-s3rec"]
    unknown = set(rest) - set(flags)
    if unknown:
        raise ValueError(f"unknown config flags {sorted(unknown)}; known: {sorted(flags)}")
    return dataset, set(rest)


def split_mode_of(flags):
    """The ``split_mode`` the ``global`` / ``per_user`` flags ask for (None: the dataset's)."""
    if set(SPLIT_FLAGS) <= set(flags):
        raise ValueError("flags 'global' and 'per_user' exclude each other")
    return "global" if "global" in flags else "per_user" if "per_user" in flags else None


def baseline_config(arg: str, model: str, label: str, flags=()):
    """``(config, flags)`` of the Table 2 row ``label`` (as the paper prints it, e.g.
    ``"ComiRec-DR"``) for registry model ``model``: the protocol of
    :func:`mgnm_table2_config` with the split flags, ``config.name``, ``config.paper_model``
    and ``config.paper`` (that row's numbers for the dataset's column, from
    :data:`mirec.paper_tables.MGNM_TABLE2`; empty on synthetic data). ``flags`` are the
    model's own extra flags."""
    dataset, flags = parse_arg(arg, SPLIT_FLAGS + tuple(flags))
    c = mgnm_table2_config(dataset, split_mode_of(flags))
    c.name = f"mgnm/{model}/" + ",".join([dataset] + sorted(flags))
    c.paper_model = label
    paper = MGNM_TABLE2.get(PAPER_KEY.get(dataset, ""), {}).get(label, {})
    c.paper = ml_collections.ConfigDict(dict(paper))
    c.model.name = model
    return c, flags
