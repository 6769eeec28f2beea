"""GRU4Rec (Hidasi et al., ICLR 2016) as a baseline of SINE's Table 1.

Command::

    python experiments/main.py --config=experiments/configs/sine/gru4rec.py:ml-1m \
        --workdir=runs/sine_table1/ml-1m/GRU4Rec/seed0 --data_dir=../shared/data

Setting: SINE Table 1's (D 128, n 20, batch 128, Adam 1e-3, sampled softmax with 5 log-uniform
negatives per positive with logQ correction, leave-one-out, full ranking over unseen items,
selection on validation NDCG@50). Model: GRU over the history (hidden = D), final state is the
user vector.

Paper's Table 1 (MovieLens, %): HR@10 14.61, NDCG@10 5.66, HR@50 41.61, NDCG@50 10.66.
"""

from mirec.configs import sine_table1_baseline
from mirec.models import gru4rec


def get_config(arg="ml-1m"):
    return sine_table1_baseline(arg, gru4rec)
