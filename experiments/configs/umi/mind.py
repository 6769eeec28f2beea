"""MIND (Li et al., CIKM 2019) with user profiles, a baseline of UMI's Table 2.

Command::

    python experiments/main.py --config=experiments/configs/umi/mind.py:ml-1m \
        --workdir=runs/umi_table2/ml-1m/MIND/seed0 --data_dir=../shared/data

Args: ``<dataset>`` (``ml-1m`` or ``synthetic``) or ``<dataset>,hn`` for MIND+HN (every
candidate picks its own best interest, UMI's Eq. 12-13). Protocol: ``common.py``.

Model as UMI describes it: capsule routing with one shared bilinear map, Gaussian initial
logits accumulated over 3 iterations, MIND's dynamic interest number (K_u = 3 for T = 10),
K = 3; the same profile vector (gender, age, occupation, 8 units each) concatenated to every
capsule, then the MLP [16 ReLU, 32 linear] (the width UMI uses); the interest chosen by the
target scores the positive and the negatives (hard label-aware attention, argmax).

Paper's Table 2 (MovieLens, %): MIND HitRate@10 6.210, Precision@10 6.060, HitRate@50
22.415, Precision@50 4.623, HitRate@300 59.440, Precision@300 2.385; MIND+HN 7.236, 6.407,
25.781, 5.123, 62.722, 2.519.

Measured (seed 0, 2 shared CPU cores, about 3 min each), %: MIND 5.65, 4.97, 19.54, 3.84,
54.62, 2.23; MIND+HN 6.60, 6.14, 24.79, 4.78, 59.88, 2.46. (MIND's routing draws fresh
Gaussian logits at inference too, so re-evaluating the same weights moves these by about
+-0.3 points.)
"""

from experiments.configs.umi.common import parse_arg, umi_table2_config


def get_config(arg="ml-1m"):
    dataset, flags = parse_arg(arg, ("hn", "noise"))
    c = umi_table2_config(dataset)
    c.name = "umi/mind/" + ",".join([dataset] + sorted(flags))
    c.model.name = "mind"
    c.model.num_interests = 3
    c.model.iterations = 3
    c.model.dynamic_interests = True
    c.model.init_stddev = 1.0
    c.model.use_profile = True
    c.model.profile_dim = 8
    c.model.mlp_units = (16,)
    c.loss.readout = "max" if "hn" in flags else "argmax"
    if "noise" in flags:  # Table 5: 10% of profile values replaced by random ones
        c.dataset.profile_noise = 0.1
    return c
