"""ComiRec (Cen et al., KDD 2020), a baseline of UMI's Table 2.

Command::

    python experiments/main.py --config=experiments/configs/umi/comirec.py:ml-1m \
        --workdir=runs/umi_table2/ml-1m/ComiRec/seed0 --data_dir=../shared/data

Args: ``<dataset>[,hn][,sa]``: ``hn`` = ComiRec+HN (every candidate picks its own best
interest); ``sa`` = the self-attentive variant instead of dynamic routing (UMI's table uses
the routing one: "follows the vanilla dynamic routing algorithm"). Protocol: ``common.py``.

Model: ComiRec-DR with a bilinear map per capsule, zero initial logits accumulated over 3
iterations, K = 3, width 32; no user profile (neither ComiRec's paper nor UMI's description
of it uses one, and :mod:`mirec.models.comirec` reads behaviours only); no diversity
re-ranking at serving (UMI does not mention it). Hard (argmax) interest selection by the
target in training.

Paper's Table 2 (MovieLens, %): ComiRec HitRate@10 6.117, Precision@10 5.778, HitRate@50
20.839, Precision@50 4.265, HitRate@300 56.024, Precision@300 2.289; ComiRec+HN 7.270,
6.358, 26.367, 5.195, 63.012, 2.534.

Measured (seed 0, 2 shared CPU cores, about 6 min each), %: ComiRec 6.54, 5.70, 23.73,
4.58, 55.07, 2.31; ComiRec+HN 8.02, 7.05, 26.18, 5.25, 61.37, 2.52.
"""

from experiments.configs.umi.common import parse_arg, umi_table2_config


def get_config(arg="ml-1m"):
    dataset, flags = parse_arg(arg, ("hn", "sa"))
    c = umi_table2_config(dataset)
    variant = "sa" if "sa" in flags else "dr"
    c.name = "umi/comirec/" + ",".join([dataset] + sorted(flags))
    c.model.name = f"comirec_{variant}"
    c.model.variant = variant
    c.model.num_interests = 3
    if variant == "dr":
        c.model.iterations = 3
    else:
        c.model.hidden_factor = 4
        c.model.use_positions = True
    c.loss.readout = "max" if "hn" in flags else "argmax"
    return c
