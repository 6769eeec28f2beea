"""MIND (Li et al., CIKM 2019) as a baseline of SINE's Table 1.

Command::

    python experiments/main.py --config=experiments/configs/sine/mind.py:ml-1m \
        --workdir=runs/sine_table1/ml-1m/MIND/seed0 --data_dir=../shared/data

Setting: SINE Table 1's (D 128, n 20, batch 128, Adam 1e-3, sampled softmax with 5 x 128 log-
uniform negatives shared per batch (the authors' convention), leave-one-out, full ranking);
MIND's own: K = 4 interests (SINE's K for MovieLens), 3 routing iterations, shared bilinear
map, dynamic interest number, hard label-aware attention (argmax, the p -> infinity limit) in
training, max over interests (K*N lists merged) at retrieval.

Paper's Table 1 (MovieLens, %): HR@10 15.62, NDCG@10 6.58, HR@50 43.98, NDCG@50 12.30.
"""

from mirec.configs import sine_table1_config


def get_config(arg="ml-1m"):
    dataset, _, negatives = arg.partition(",")
    c = sine_table1_config(dataset, negatives or "paper")
    c.name = f"sine/mind/{dataset}"
    c.model.name = "mind"
    c.model.num_interests = c.table_settings.K
    c.model.iterations = 3
    c.model.dynamic_interests = True
    c.model.init_stddev = 1.0
    c.loss.readout = "argmax"
    return c
