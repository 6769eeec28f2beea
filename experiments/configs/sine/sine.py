"""SINE (Tan et al., WSDM 2021), Table 1 setting.

Command::

    python experiments/main.py --config=experiments/configs/sine/sine.py:ml-1m \
        --workdir=runs/sine_table1/ml-1m/SINE/seed0 --data_dir=../shared/data

Args: ``<dataset>`` or ``<dataset>,<option>``. Datasets: ``ml-1m`` (paper setting: every
interaction, 3,706 items), ``ml-1m-sasrec`` (5-core, 3,416 items), ``amazon-books``,
``taobao``. Options: ``per_example`` (5 / 10 fresh negatives per positive instead of 640 /
1,280 shared per batch), ``few`` (5 / 10 negatives shared by the whole batch, the literal TF
reading, measured to cripple training) and ``official``, the official code's model (K 2, L 10,
no regulariser, 512-wide attention, temperatures 0.07/1) without masking of seen items
(``metrics_rs.evaluate_full``); its loss, ``neg_num * batch`` shared log-uniform negatives, is
also the paper setting's.

Paper setting (Sec. 4.1, Table 3): D 128, n 20, K 4, L 50 (MovieLens) / (4, 500) Amazon /
(8, 1000) Taobao, lambda 0.5, tau 0.1, batch 128, Adam 1e-3, sampled softmax with 5 / 10
negatives (read as the official code does: ``neg_num * batch_size`` shared negatives;
see :func:`mirec.configs.sine_table1_config`); retrieval with the single aggregated vector v^u.

Paper's Table 1 (MovieLens, %): HR@10 16.34, NDCG@10 7.06, HR@50 45.79, NDCG@50 13.50.
"""

from mirec.configs import sine_table1_config
from mirec.models.sine import default_model_config


def get_config(arg="ml-1m"):
    dataset, _, rest = arg.partition(",")
    variant = "official" if rest == "official" else "paper"
    c = sine_table1_config(dataset, rest if rest in ("few", "per_example") else "paper")
    c.name = f"sine/sine/{dataset}/{variant}"
    c.model = default_model_config(variant)
    c.model.embedding_dim = 128
    c.loss.readout = "single"
    if variant == "paper":
        c.model.num_interests = c.table_settings.K
        c.model.num_prototypes = c.table_settings.L
    else:
        c.eval.exclude_seen = False
    return c
