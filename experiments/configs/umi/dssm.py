"""DSSM (Huang et al., CIKM 2013) as a profile-only baseline of UMI's Table 2.

Command::

    python experiments/main.py --config=experiments/configs/umi/dssm.py:ml-1m \
        --workdir=runs/umi_table2/ml-1m/DSSM/seed0 --data_dir=../shared/data

Arg: dataset (``ml-1m`` or ``synthetic``). Protocol: ``common.py``.

Model: user tower = profile embeddings (gender, age, occupation, 8 units each) -> [16 ReLU,
32 linear]; no behaviour. Item tower: the id embedding shared by every row (UMI's DSSM uses an
item-profile MLP; see :mod:`mirec.models.dssm`).

Paper's Table 2 (MovieLens, %): HitRate@10 2.706, Precision@10 2.450, HitRate@50 11.006,
Precision@50 2.182, HitRate@300 40.552, Precision@300 1.644.

Measured (seed 0, 2 shared CPU cores, 30 s), %: 2.21, 2.12, 10.07, 2.16, 40.15, 1.66.
"""

from experiments.configs.umi.common import parse_arg, umi_table2_config
from mirec.models.dssm import default_model_config


def get_config(arg="ml-1m"):
    dataset, _ = parse_arg(arg)
    c = umi_table2_config(dataset)
    c.name = f"umi/dssm/{dataset}"
    c.model = default_model_config()
    c.loss.readout = "single"
    return c
