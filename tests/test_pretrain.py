"""Tests of the pre-training stage (mirec.pretrain) with MIRACLE and a minimal generic model,
and one end-to-end MIRACLE run through mirec.train.train_and_evaluate."""

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)

# isort: split
import json
import shutil

import numpy as np
import pytest
import tensorflow as tf

from experiments.configs.miracle import miracle as miracle_config
from mirec import configs, pretrain, train
from mirec.data import synthetic, text
from mirec.data.prepare import prepare
from mirec.models import registry
from mirec.models.miracle import build_model

registry.register("miracle", "mirec.models.miracle")

SMALL = dict(num_users=120, num_items=60, num_clusters=6, min_length=8, max_length=16)


def write_text_features(path, synthetic_kwargs, scale=5.0, noise=0.3, seed=0):
    """Item text vectors correlated with the synthetic topics: one-hot topic + noise."""
    raw = synthetic.generate(**synthetic_kwargs)
    cat = raw.item_features["category"]
    k = int(synthetic_kwargs["num_clusters"])
    rng = np.random.default_rng(seed)
    feats = np.eye(k)[cat.to_numpy() - 1] + noise * rng.normal(size=(len(cat), k))
    return text.save_item_text_features(path, cat.index.to_numpy(), scale * feats)


def small_config(tmp_path, **synthetic_kwargs):
    cfg = miracle_config.get_config("synthetic")
    cfg.dataset.synthetic.update(dict(SMALL, **synthetic_kwargs))
    cfg.dataset.text_features = write_text_features(tmp_path / "text.npz",
                                                    dict(cfg.dataset.synthetic))
    # tiny and without dropout, so that a few dozen steps show learning
    cfg.model.update(dict(embedding_dim=8, inner_dim=8, num_capsules=4, num_experts=2,
                          num_layers=1, iterations=2, dropout=0.0, attention_dropout=0.0,
                          adaptor_dropout=0.0, interest_dropout=0.0))
    cfg.pretrain.update(dict(epochs=3, batch_size=64, learning_rate=1e-2))
    cfg.train.verbose = 0
    return cfg


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pre")
    cfg = small_config(tmp)
    return cfg, prepare(cfg.dataset, seed=0)


def _fresh_model(cfg, prepared):
    model = build_model(cfg, prepared.info)
    model({"history": np.zeros((1, prepared.info.max_len), np.int32) + 1,
           "target": np.ones(1, np.int32), "user": np.zeros(1, np.int32)})
    return model


def _counting(monkeypatch, fail_at=None):
    calls = {"n": 0}
    real = pretrain._run_epoch

    def run_epoch(step, ds):
        calls["n"] += 1
        if calls["n"] == fail_at:
            raise KeyboardInterrupt
        return real(step, ds)

    monkeypatch.setattr(pretrain, "_run_epoch", run_epoch)
    return calls


def test_pretraining_loss_decreases_and_done_json_skips(setup, tmp_path, monkeypatch):
    cfg, prepared = setup
    tf.keras.utils.set_random_seed(0)
    model = _fresh_model(cfg, prepared)
    samples = pretrain.pretraining_samples(cfg, prepared)[0]
    fixed = {k: v[:512] for k, v in samples.items()}
    before = model.pretrain_losses(fixed, training=False)["rec"].numpy()
    done = pretrain.run_pretraining(model, cfg, prepared, str(tmp_path / "pre"))
    n = len(samples["target"])
    assert done["epochs"] == 3 and len(done["loss"]) == 3 and done["samples"] == n
    assert done["samples_per_second"] > 0 and done["datasets"] == ["self"]
    assert done["optimizer_steps"] == 3 * -(-n // 64)
    assert done["loss"][-1] < done["loss"][0] - 0.1, done["loss"]
    # the next-item loss of 512 fixed samples (512 in-batch candidates) went down
    after = model.pretrain_losses(fixed, training=False)["rec"].numpy()
    assert after < before - 0.2, (before, after)
    assert json.loads((tmp_path / "pre" / "done.json").read_text()) == done
    assert model.pretraining_finished and not model.user_tower.encoder.blocks[0].trainable
    # done.json: no training, the final pre-trained weights are restored, then finished
    calls = _counting(monkeypatch, fail_at=1)
    clone = _fresh_model(cfg, prepared)
    assert pretrain.run_pretraining(clone, cfg, prepared, str(tmp_path / "pre")) == done
    assert calls["n"] == 0
    for a, b in zip(model.variables, clone.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert clone.pretraining_finished


class LinearTextModel(tf.keras.Model):
    """A minimal model with the generic pre-training interface: in-batch softmax between the
    mean text vector of the history and the target's, through one linear map."""

    def __init__(self, table, dim=4):
        super().__init__()
        self.table = tf.constant(table)
        self.tables_seen = []
        self.dense = tf.keras.layers.Dense(dim, use_bias=False)
        self.finished = 0

    def finish_pretraining(self):
        self.finished += 1

    def set_item_text_features(self, table):
        self.tables_seen.append(np.asarray(table))
        self.table = tf.constant(table)

    def pretrain_loss(self, features, training=True):
        hist = tf.gather(self.table, features["history"])
        mask = tf.cast(features["history"] > 0, tf.float32)[..., None]
        user = self.dense(tf.reduce_sum(hist * mask, 1) / tf.reduce_sum(mask, 1))
        item = self.dense(tf.gather(self.table, features["target"]))
        logits = tf.matmul(user, item, transpose_b=True)
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            tf.range(tf.shape(logits)[0]), logits))


def test_pretraining_resumes_after_interruption_and_with_more_epochs(setup, tmp_path,
                                                                     monkeypatch):
    cfg, prepared = setup
    work = str(tmp_path / "pre")
    cfg = cfg.copy_and_resolve_references()
    cfg.pretrain.epochs = 1
    table = prepared.info.item_text_features
    steps = -(-len(pretrain.pretraining_samples(cfg, prepared)[0]["target"]) // 64)
    tf.keras.utils.set_random_seed(0)
    first = pretrain.run_pretraining(LinearTextModel(table), cfg, prepared, work)
    assert first["epochs"] == 1 and first["optimizer_steps"] == steps
    # more epochs than done.json records: continue from epoch 1; die during epoch 2 of 3
    cfg.pretrain.epochs = 3
    calls = _counting(monkeypatch, fail_at=2)
    with pytest.raises(KeyboardInterrupt):
        pretrain.run_pretraining(LinearTextModel(table), cfg, prepared, work)
    assert calls["n"] == 2
    progress = json.loads((tmp_path / "pre" / "progress.json").read_text())
    assert progress["loss"][0] == first["loss"][0] and len(progress["loss"]) == 2
    assert tf.train.latest_checkpoint(work + "/ckpt").endswith("ckpt-2")
    assert not (tmp_path / "pre" / "done.json").exists() or json.loads(
        (tmp_path / "pre" / "done.json").read_text())["epochs"] == 1
    calls = _counting(monkeypatch)
    model = LinearTextModel(table)
    done = pretrain.run_pretraining(model, cfg, prepared, work)
    assert calls["n"] == 1  # only epoch 3 was left
    assert done["epochs"] == 3 and done["loss"][:2] == progress["loss"]
    assert done["optimizer_steps"] == 3 * steps  # the optimizer state was restored too
    assert model.finished == 1
    assert done["loss"][2] < done["loss"][0]


def test_other_datasets_get_their_own_id_range_in_a_swapped_table(setup, tmp_path,
                                                                   monkeypatch):
    cfg, prepared = setup
    other = dict(num_users=50, num_items=40, num_clusters=6, min_length=8, max_length=12,
                 seed=3)
    monkeypatch.setitem(configs.DATASETS, "synthetic-b",
                        dict(name="synthetic", max_len=5, protocol="leave_one_out",
                             synthetic=other))
    cfg = cfg.copy_and_resolve_references()
    cfg.pretrain.datasets = ("self", "synthetic-b")
    cfg.pretrain.text_features = {"synthetic-b": write_text_features(tmp_path / "b.npz",
                                                                     other, scale=1.0)}
    cfg.pretrain.epochs = 2
    samples, union, counts = pretrain.pretraining_samples(cfg, prepared)
    m1 = prepared.info.num_items
    other_prep = prepare(configs.dataset_config("synthetic-b"))
    m2 = other_prep.info.num_items
    assert union.shape == (1 + m1 + m2, prepared.info.item_text_features.shape[1])
    np.testing.assert_array_equal(union[:m1 + 1], prepared.info.item_text_features)
    n1 = counts["self"]
    assert counts["synthetic-b"] == len(samples["target"]) - n1
    assert samples["target"][:n1].max() <= m1 < samples["target"][n1:].min()
    assert samples["history"].shape[1] == prepared.info.max_len  # the downstream max_len
    hist_b = samples["history"][n1:]
    assert (hist_b[hist_b > 0] > m1).all()  # never merged with the downstream items
    model = LinearTextModel(prepared.info.item_text_features)
    done = pretrain.run_pretraining(model, cfg, prepared, str(tmp_path / "pre"))
    assert done["datasets"] == ["self", "synthetic-b"] and len(done["loss"]) == 2
    # swapped in for pre-training, restored afterwards
    assert [len(t) for t in model.tables_seen] == [1 + m1 + m2, 1 + m1]
    np.testing.assert_array_equal(model.table.numpy(), prepared.info.item_text_features)


def test_pretraining_rejects_models_without_the_interface(setup, tmp_path):
    cfg, prepared = setup
    with pytest.raises(TypeError, match="pretrain_loss"):
        pretrain.run_pretraining(tf.keras.Model(), cfg, prepared, str(tmp_path / "x"))


def test_end_to_end_pretrain_fine_tune_and_zero_shot(tmp_path):
    cfg = small_config(tmp_path, num_users=300, num_items=200, num_clusters=10,
                       min_length=20, max_length=40)
    cfg.pretrain.epochs = 1
    cfg.pretrain.batch_size = 256
    cfg.train.epochs = 1
    cfg.train.batch_size = 256
    test = train.train_and_evaluate(cfg, str(tmp_path / "ft"))
    assert set(test) == {"Recall@10", "NDCG@10", "Recall@50", "NDCG@50"}
    done = json.loads((tmp_path / "ft" / "pretrain" / "done.json").read_text())
    assert done["epochs"] == 1
    # Random ranking of the unseen items on this data: Recall@10 0.025, Recall@50 0.12.
    assert test["Recall@10"] > 0.05 and test["Recall@50"] > 0.2, test
    # Fine-tuning left the sequence encoder (Eq. 23-24) as pre-trained, the rest moved.
    pre = tf.train.load_checkpoint(str(tmp_path / "ft" / "pretrain" / "ckpt"))
    best = tf.train.load_checkpoint(str(tmp_path / "ft" / "best"))
    keys = [k for k in best.get_variable_to_shape_map()
            if k.startswith("model/user_tower/") and "OPTIMIZER" not in k]
    frozen = [k for k in keys if "/encoder/" in k or "/mask_token/" in k]
    assert len(frozen) == 1 + 2 + 16 + 1
    for k in keys:
        same = np.array_equal(pre.get_tensor(k), best.get_tensor(k))
        assert same == (k in frozen), k
    # Zero-shot (Figure 4): pre-trained weights, no fine-tuning (train.epochs = 0). The
    # pre-training is reused through its done.json (skipped, weights restored).
    zs = cfg.copy_and_resolve_references()
    zs.train.epochs = 0
    shutil.copytree(tmp_path / "ft" / "pretrain", tmp_path / "zs" / "pretrain")
    res = train.train_and_evaluate(zs, str(tmp_path / "zs"))
    final = train.load_final(str(tmp_path / "zs"))
    assert final["epochs_run"] == 0 and set(res) == set(test)
    assert res["Recall@50"] > 0.2, res
