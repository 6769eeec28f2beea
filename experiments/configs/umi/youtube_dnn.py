"""YouTube DNN (Covington et al., RecSys 2016) with user profiles, a baseline of UMI's Table 2.

Command::

    python experiments/main.py --config=experiments/configs/umi/youtube_dnn.py:ml-1m \
        --workdir=runs/umi_table2/ml-1m/YoutubeDNN/seed0 --data_dir=../shared/data

Arg: dataset (``ml-1m`` or ``synthetic``). Protocol: ``common.py``.

Model as UMI describes it: mean of the T = 10 history item embeddings, concatenated with the
profile embeddings (gender, age, occupation, 8 units each), then the MLP [16 ReLU, 32
linear]; one user vector.

Paper's Table 2 (MovieLens, %): HitRate@10 7.164, Precision@10 6.887, HitRate@50 26.687,
Precision@50 5.417, HitRate@300 62.451, Precision@300 2.571.

Measured (seed 0, 2 shared CPU cores, 2 min), %: 7.39, 6.95, 24.57, 4.82, 59.22, 2.47.
"""

from experiments.configs.umi.common import parse_arg, umi_table2_config


def get_config(arg="ml-1m"):
    dataset, _ = parse_arg(arg)
    c = umi_table2_config(dataset)
    c.name = f"umi/youtube_dnn/{dataset}"
    c.model.name = "youtube_dnn"
    c.model.hidden_units = (16,)
    c.model.dropout = 0.0
    c.model.use_profile = True
    c.model.profile_dim = 8
    c.loss.readout = "single"
    return c
