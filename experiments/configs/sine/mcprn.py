"""MCPRN (Wang et al., IJCAI 2019) as a baseline of SINE's Table 1.

Command::

    python experiments/main.py --config=experiments/configs/sine/mcprn.py:ml-1m \
        --workdir=runs/sine_table1/ml-1m/MCPRN/seed0 --data_dir=../shared/data

Setting: SINE Table 1's (D 128, n 20, batch 128, Adam 1e-3, sampled softmax with 5 log-uniform
negatives per positive with logQ correction, leave-one-out, full ranking over unseen items,
selection on validation NDCG@50). Model: purpose routing over K = 3 channels (temperature
0.01), purpose-specific recurrent channels; the candidate attends over the channel states in
training (label-aware readout, p = 1); max over channels at retrieval. No public code: see
mirec/models/mcprn.py for what was inferred.

Paper's Table 1 (MovieLens, %): HR@10 15.82, NDCG@10 6.77, HR@50 44.21, NDCG@50 12.83.
"""

from mirec.configs import sine_table1_baseline
from mirec.models import mcprn


def get_config(arg="ml-1m"):
    return sine_table1_baseline(arg, mcprn)
