"""The setting shared by every row of MIRACLE's Table 2 (Sec. 4.1 of the paper).

``miracle_table2_config(dataset)`` pins what the paper states; model files set
``config.model`` (and the loss, pre-training and text features they need).

Data: the UniSRec release of the Amazon 2018 downstream sets (5-core, each user's items in
time order; the release's own train/valid/test files are the leave-one-out split, which
``leave_one_out`` over the full sequences reproduces). Offline only ``scientific`` is
available (with item text, no precomputed BERT features). ``synthetic`` is for tests.

Protocol (stated): leave-one-out (last item test, second-last validation), full ranking over
all items, Recall@10/50 and NDCG@10/50 (Recall with one held-out item = HR), max length 20,
fine-tuning batch 1024, lr 1e-3; mean of 5 runs.

Choices the paper leaves open: a user's earlier items are excluded from the ranking (RecBole's
full-sort evaluation, which the paper's baselines ran on; the official MIRACLE metrics do not
filter: ``eval.exclude_seen=False`` gives that); full softmax over all items for the models
trained from scratch (RecBole's ``loss_type=CE``); at most 100 epochs, early stopping after 10
without a better validation Recall@10 (the official ``flag_step``); selection on validation.
"""



from mirec.configs import base_config

DATASETS = ("scientific", "synthetic")
PAPER_COLUMN = {"scientific": "Scientific"}


def miracle_table2_config(dataset: str = "scientific"):
    """Base config of a MIRACLE Table 2 row on ``dataset``."""
    if dataset not in DATASETS:
        raise ValueError(f"MIRACLE Table 2 datasets: {DATASETS}, got {dataset!r}")
    c = base_config(dataset)
    c.dataset.max_len = 20
    c.dataset.protocol = "leave_one_out"
    c.loss.kind = "full_softmax"
    c.loss.readout = "max"
    c.train.batch_size = 1024
    c.train.learning_rate = 1e-3
    c.train.sampling = "sliding_window"
    c.train.epochs = 100
    c.train.patience = 10
    c.train.selection_metric = "Recall@10"
    c.eval.cutoffs = (10, 50)
    c.eval.metrics = ("recall", "ndcg")
    c.eval.metric_names = {"recall": "Recall"}
    c.eval.exclude_seen = True
    c.paper_table = "miracle_table2"
    c.paper_dataset = PAPER_COLUMN.get(dataset, dataset)
    if dataset == "synthetic":
        c.train.batch_size = 256
        c.train.epochs = 5
        c.train.patience = 2
    return c


def parse_arg(arg: str, flags=()):
    """``"scientific,inductive"`` -> (``"scientific"``, {"inductive"}); unknown flags raise."""
    dataset, *rest = [p.strip() for p in arg.split(",") if p.strip()] or ["scientific"]
    unknown = set(rest) - set(flags)
    if unknown:
        raise ValueError(f"unknown config flags {sorted(unknown)}; known: {sorted(flags)}")
    return dataset, set(rest)
