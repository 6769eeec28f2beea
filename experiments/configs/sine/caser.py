"""Caser (Tang & Wang, WSDM 2018) as a baseline of SINE's Table 1.

Command::

    python experiments/main.py --config=experiments/configs/sine/caser.py:ml-1m \
        --workdir=runs/sine_table1/ml-1m/Caser/seed0 --data_dir=../shared/data

Setting: SINE Table 1's (D 128, n 20, batch 128, Adam 1e-3, sampled softmax with 5 log-uniform
negatives per positive with logQ correction, leave-one-out, full ranking over unseen items,
selection on validation NDCG@50). Model: last L = 5 items as an image, 16 horizontal filters
per height 1..5, 4 vertical filters, dropout 0.5, user embedding; trained with the table's
sampled softmax instead of Caser's BCE over T future targets.

Paper's Table 1 (MovieLens, %): HR@10 15.44, NDCG@10 6.13, HR@50 43.64, NDCG@50 11.53.
"""

from mirec.configs import sine_table1_baseline
from mirec.models import caser


def get_config(arg="ml-1m"):
    return sine_table1_baseline(arg, caser)
