"""YouTube DNN (Covington et al., RecSys 2016) on the spine's datasets.

Command::

    python experiments/main.py --config=experiments/configs/spine/youtube_dnn.py:synthetic \
        --workdir=runs/spine/youtube_dnn_synthetic

Arg: dataset. Setting: mean-pooled history (one user vector), no hidden layers, D = 64 (128 on
MovieLens), batch 128, Adam 1e-3, sampled softmax with 5 uniform negatives per positive;
leave-one-out, full ranking with seen items excluded; selection on validation HR@50.
"""

from mirec.configs import base_config


def get_config(dataset="synthetic"):
    c = base_config(dataset)
    c.name = f"spine/youtube_dnn/{dataset}"
    c.model.name = "youtube_dnn"
    c.model.hidden_units = ()
    c.loss.readout = "single"
    if dataset.startswith("ml-"):
        c.model.embedding_dim = 128
    else:  # synthetic: small and quick to learn
        c.train.learning_rate = 5e-3
        c.train.epochs = 8
        c.train.patience = 3
    return c
