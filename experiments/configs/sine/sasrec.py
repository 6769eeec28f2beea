"""SASRec (Kang & McAuley, ICDM 2018) as a baseline of SINE's Table 1.

Command::

    python experiments/main.py --config=experiments/configs/sine/sasrec.py:ml-1m \
        --workdir=runs/sine_table1/ml-1m/SASRec/seed0 --data_dir=../shared/data

Setting: SINE Table 1's (D 128, n 20, batch 128, Adam 1e-3, sampled softmax with 5 log-uniform
negatives per positive with logQ correction, leave-one-out, full ranking over unseen items,
selection on validation NDCG@50). Model: 2 causal self-attention blocks, 1 head, dropout 0.2
(its ML-1M setting), learned positions, last position is the user vector; history n = 20 as in
the table (SASRec's own ML-1M setting used 200).

Paper's Table 1 (MovieLens, %): HR@10 17.34, NDCG@10 7.84, HR@50 46.01, NDCG@50 13.53.
"""

from mirec.configs import sine_table1_baseline
from mirec.models import sasrec


def get_config(arg="ml-1m"):
    return sine_table1_baseline(arg, sasrec)
