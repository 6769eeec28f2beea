"""Prints each paper's data-set statistics table beside ours (the same filtering the table
configs apply), for every dataset whose files are present.

    python experiments/dataset_stats.py --paper=mgnm --data_dir=../shared/data

Offline stand-ins are listed under the paper dataset they replace (e.g. ``toys-s3rec`` for
MGNM's Toys and Games), so the gap in size is visible.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs"))

from absl import app, flags  # noqa: E402

_PAPER = flags.DEFINE_enum("paper", "mgnm", ["sine", "umi", "mgnm", "miracle"], "Paper.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "Folder with the dataset files.")


def dataset_sections(paper):
    """[(paper dataset key, our dataset key, config.dataset section)] of a paper's tables."""
    if paper == "mgnm":
        from mgnm.common import mgnm_table2_config as make
        pairs = [("toys", "toys"), ("toys", "toys-s3rec"), ("instruments", "instruments"),
                 ("instruments", "instruments-2018")]
    elif paper == "miracle":
        from miracle.common import miracle_table2_config as make
        pairs = [("scientific", "scientific")]
    elif paper == "umi":
        from umi.common import umi_table2_config as make
        pairs = [("ml-1m", "ml-1m")]
    else:
        from mirec.configs import sine_table1_config as make
        pairs = [("ml-1m", "ml-1m"), ("ml-1m", "ml-1m-sasrec")]
    return [(p, ours, make(ours).dataset) for p, ours in pairs]


def main(argv):
    del argv
    from mirec.data.errors import DatasetNotAvailableError
    from mirec.data.prepare import load_and_filter
    from mirec.paper_tables import DATASET_STATS

    paper_stats = DATASET_STATS[_PAPER.value]
    print(f"| {_PAPER.value} dataset | ours | paper users / items / interactions | "
          "ours users / items / interactions |")
    print("|---|---|---|---|")
    for pkey, ours, section in dataset_sections(_PAPER.value):
        p = paper_stats.get(pkey)
        pcell = " / ".join(f"{v:,}" for v in p) if p else "-"
        try:
            _, seqs, _ = load_and_filter(section, data_dir=_DATA_DIR.value)
            ocell = (f"{seqs.num_users:,} / {seqs.num_items:,} / "
                     f"{seqs.num_interactions():,}")
        except DatasetNotAvailableError:
            ocell = "files not present"
        print(f"| {pkey} | {ours} | {pcell} | {ocell} |", flush=True)


if __name__ == "__main__":
    app.run(main)
