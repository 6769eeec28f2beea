"""MIND (Li et al., CIKM 2019) on the spine's datasets.

Command::

    python experiments/main.py --config=experiments/configs/spine/mind.py:synthetic \
        --workdir=runs/spine/mind_synthetic

Arg: dataset (``synthetic``, ``ml-1m``, ``ml-1m-sasrec``, ``ml-100k``). Setting: K = 4
interests, 3 routing iterations, dynamic interest number, D = 64 (128 on MovieLens), batch
128, Adam 1e-3, sampled softmax with 5 uniform negatives per positive, argmax (hard)
label-aware readout in training, max over interests at retrieval; leave-one-out, full
ranking with seen items excluded; selection on validation HR@50.
"""

from mirec.configs import base_config


def get_config(dataset="synthetic"):
    c = base_config(dataset)
    c.name = f"spine/mind/{dataset}"
    c.model.name = "mind"
    c.model.num_interests = 4
    c.model.iterations = 3
    c.model.dynamic_interests = True
    c.model.init_stddev = 1.0
    c.loss.readout = "argmax"
    if dataset.startswith("ml-"):
        c.model.embedding_dim = 128
    else:  # synthetic: small and quick to learn
        c.train.learning_rate = 5e-3
        c.train.epochs = 8
        c.train.patience = 3
    return c
