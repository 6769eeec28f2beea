"""UniSRec (Hou et al., KDD 2022): item tower, encoder, pre-training losses, fine-tuning."""

import importlib.util
import json
import pathlib

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)

# isort: split
import numpy as np
import pytest
import tensorflow as tf

from mirec import retrieval, train
from mirec.data import synthetic
from mirec.data.text import save_item_text_features
from mirec.data.types import DatasetInfo
from mirec.models import registry
from mirec.models.unisrec import (PostLNBlock, UniSRecEncoder,
                                  UniSRecItemTower, UniSRecModel, build_model, contrastive_loss,
                                  item_drop, oldest_first_positions)

REPO = pathlib.Path(__file__).resolve().parents[1]
registry.register("unisrec", "mirec.models.unisrec")

M, F, N, D = 30, 6, 5, 8


def load_config_module():
    path = REPO / "experiments" / "configs" / "miracle" / "unisrec.py"
    spec = importlib.util.spec_from_file_location("unisrec_config", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _config(arg="synthetic", **model):
    cfg = load_config_module().get_config(arg)
    cfg.model.embedding_dim = D
    cfg.model.inner_dim = 16
    cfg.model.update(model)
    return cfg


def _info(seed=0):
    rng = np.random.default_rng(seed)
    table = np.vstack([np.zeros((1, F)), rng.normal(size=(M, F))]).astype(np.float32)
    return DatasetInfo("t", 10, M, N, item_text_features=table)


def _features(seed=0, batch=6):
    rng = np.random.default_rng(seed)
    hist = rng.integers(1, M + 1, size=(batch, N)).astype(np.int32)
    hist[0, :3] = 0
    hist[1, :1] = 0
    return {"history": hist, "target": rng.integers(1, M + 1, size=batch).astype(np.int32),
            "user": np.arange(batch, dtype=np.int32)}


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


# --------------------------------------------------------------------------------------
# Item tower and layers
# --------------------------------------------------------------------------------------


def test_item_tower_interface_moe_ids_and_swap():
    info = _info()
    tower = UniSRecItemTower(info.item_text_features, D, num_experts=2, use_id_embedding=True)
    ids = tf.constant([[1, 2], [3, 0]])
    assert tower.num_items == M and tower.embedding_dim == D
    out = tower(ids).numpy()
    assert out.shape == (2, 2, D)
    text_only = tower(ids, use_id=False).numpy()
    adaptor = tower.adaptor
    np.testing.assert_allclose(text_only, adaptor(tf.gather(info.item_text_features, ids)),
                               rtol=1e-6)
    # transductive: x_i + e_i (Eq. 12)
    np.testing.assert_allclose(out - text_only, tf.gather(tower.id_embeddings, ids), rtol=1e-5,
                               atol=1e-6)
    all_items = tower.all_items().numpy()
    assert all_items.shape == (M + 1, D)
    np.testing.assert_allclose(all_items, tower(tf.range(M + 1)).numpy(), rtol=1e-6)
    # swapping the text table (pre-training on another dataset): text-only use
    tower.set_item_text_features(np.ones((5, F), np.float32))
    assert tower.num_items == 4
    np.testing.assert_allclose(tower([4], use_id=False), adaptor(np.ones((1, F))), rtol=1e-6)
    with pytest.raises(ValueError, match="text table"):
        tower.set_item_text_features(np.ones((5, F + 1), np.float32))
    with pytest.raises(ValueError, match="augmented text table must have shape"):
        tower.set_augmented_text_features(np.ones((6, F), np.float32))


def test_item_tower_moe_by_hand():
    table = np.array([[0, 0], [1.0, -2.0]], np.float32)
    tower = UniSRecItemTower(table, 3, num_experts=2, noisy_gating=False, adaptor_dropout=0.0)
    tower.build()
    rng = np.random.default_rng(0)
    b = rng.normal(size=(2, 2)).astype(np.float32)
    w = rng.normal(size=(2, 2, 3)).astype(np.float32)
    wg = rng.normal(size=(2, 2)).astype(np.float32)
    bg = np.array([0.1, -0.3], np.float32)
    tower.adaptor.set_weights([b, w, wg, bg])
    t = table[1]
    g = _softmax(t @ wg + bg)
    want = sum(g[k] * ((t - b[k]) @ w[k]) for k in range(2))  # Eq. 1-4
    np.testing.assert_allclose(tower(tf.constant([1])).numpy()[0], want, rtol=1e-5, atol=1e-6)


def test_layer_configs_round_trip():
    tower = UniSRecItemTower(_info().item_text_features, D, num_experts=3, adaptor_dropout=0.1,
                             noisy_gating=False, use_id_embedding=True, name="items")
    cfg = tower.get_config()
    clone = UniSRecItemTower.from_config(cfg)
    assert clone.get_config() == cfg and clone.num_items == M and clone.feature_dim == F
    assert cfg["num_experts"] == 3 and cfg["use_id_embedding"] is True
    block = PostLNBlock(D, num_heads=2, inner_dim=12, dropout=0.1, attention_dropout=0.2)
    assert PostLNBlock.from_config(block.get_config()).get_config() == block.get_config()
    enc = UniSRecEncoder(tower, N, num_layers=1, inner_dim=12, dropout=0.1,
                         item_lookup="occurrence")
    ecfg = enc.get_config()
    keys = ("max_len", "num_layers", "num_heads", "inner_dim", "dropout", "attention_dropout",
            "epsilon", "initializer_range", "item_lookup")
    again = UniSRecEncoder(tower, **{k: ecfg[k] for k in keys})
    assert {k: again.get_config()[k] for k in keys} == {k: ecfg[k] for k in keys}
    with pytest.raises(ValueError, match="item_lookup"):
        UniSRecEncoder(tower, N, item_lookup="cache")


def test_post_ln_block_matches_numpy():
    tf.keras.utils.set_random_seed(1)
    block = PostLNBlock(4, num_heads=2, inner_dim=6, dropout=0.0, attention_dropout=0.0,
                        epsilon=1e-6)
    x = np.random.default_rng(0).normal(size=(1, 3, 4)).astype(np.float32)
    mask = np.array([[[1, 0, 0], [1, 1, 0], [1, 1, 1]]], bool)
    out = block(tf.constant(x), attention_mask=tf.constant(mask)).numpy()
    att = block.attention
    wq, bq = att._query_dense.kernel.numpy(), att._query_dense.bias.numpy()
    wk, bk = att._key_dense.kernel.numpy(), att._key_dense.bias.numpy()
    wv, bv = att._value_dense.kernel.numpy(), att._value_dense.bias.numpy()
    wo, bo = att._output_dense.kernel.numpy(), att._output_dense.bias.numpy()
    q = np.einsum("bnd,dhk->bnhk", x, wq) + bq
    k = np.einsum("bnd,dhk->bnhk", x, wk) + bk
    v = np.einsum("bnd,dhk->bnhk", x, wv) + bv
    s = np.einsum("bqhk,bshk->bhqs", q, k) / np.sqrt(2)
    a = _softmax(np.where(mask[:, None], s, -1e9))
    ctx = np.einsum("bhqs,bshk->bqhk", a, v)
    y = np.einsum("bqhk,hkd->bqd", ctx, wo) + bo

    def ln(z):
        return (z - z.mean(-1, keepdims=True)) / np.sqrt(z.var(-1, keepdims=True) + 1e-6)

    from math import erf
    h = ln(x + y)  # LayerNorm gamma 1, beta 0 at initialisation
    u = h @ block.ffn_in.kernel.numpy() + block.ffn_in.bias.numpy()
    u = 0.5 * u * (1 + np.vectorize(erf)(u / np.sqrt(2)))
    want = ln(h + u @ block.ffn_out.kernel.numpy() + block.ffn_out.bias.numpy())
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5)


def test_positions_count_from_the_oldest_item_and_padding_is_free():
    np.testing.assert_array_equal(oldest_first_positions(tf.constant([[0, 0, 1, 1, 1],
                                                                      [1, 1, 1, 1, 1]]) > 0),
                                  [[0, 0, 0, 1, 2], [0, 1, 2, 3, 4]])
    tf.random.set_seed(0)
    model = build_model(_config(), _info())
    a = model({"history": tf.constant([[0, 0, 7, 8, 9]])}).numpy()
    b = model({"history": tf.constant([[0, 7, 8, 9]])}).numpy()  # less left padding
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    c = model({"history": tf.constant([[0, 0, 7, 8, 10]])}).numpy()
    assert np.abs(a - c).max() > 1e-4
    # causal: an item after the last one would not exist; earlier items do matter
    d = model({"history": tf.constant([[0, 0, 6, 8, 9]])}).numpy()
    assert np.abs(a - d).max() > 1e-4


# --------------------------------------------------------------------------------------
# Losses and augmentation
# --------------------------------------------------------------------------------------


def _numpy_contrast(a, p, same, tau, variant, per_row=False):
    logits = a @ p.T / tau
    if variant == "official":
        logits = np.where(same, 0.0, logits)
    elif variant == "masked":
        logits = np.where(same, -np.inf, logits)
    rows = np.array([-np.log(np.exp(logits[i, i]) / np.exp(logits[i]).sum())
                     for i in range(len(a))])
    return rows if per_row else rows.mean()


@pytest.mark.parametrize("variant", ["official", "paper", "masked"])
def test_contrastive_loss_matches_numpy(variant):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 3))
    p = rng.normal(size=(4, 3))
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    targets = np.array([5, 7, 5, 2])
    same = (targets[:, None] == targets[None]) & ~np.eye(4, dtype=bool)
    got = contrastive_loss(tf.constant(a, tf.float32), tf.constant(p, tf.float32),
                           tf.constant(same), 0.07, variant).numpy()
    np.testing.assert_allclose(got, _numpy_contrast(a, p, same, 0.07, variant), rtol=1e-4)
    # row 0 by hand: its duplicate (row 2) adds exp(0) = 1 (official), nothing (masked) or
    # exp(logit) (paper) to the denominator
    lg = a[0] @ p.T / 0.07
    dup = {"official": 1.0, "masked": 0.0, "paper": np.exp(lg[2])}[variant]
    row0 = -lg[0] + np.log(np.exp(lg[0]) + np.exp(lg[1]) + dup + np.exp(lg[3]))
    assert _numpy_contrast(a, p, same, 0.07, variant, per_row=True)[0] == pytest.approx(row0)
    # one row: nothing to contrast with, loss 0
    np.testing.assert_allclose(contrastive_loss(tf.constant(a[:1], tf.float32),
                                                tf.constant(p[:1], tf.float32)), 0.0, atol=1e-6)


def test_item_drop_keeps_order_and_the_oldest_item():
    ids = tf.constant([[0, 0, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 0, 9]])
    np.testing.assert_array_equal(item_drop(ids, 0.0), ids)
    np.testing.assert_array_equal(item_drop(ids, 1.0),
                                  [[0, 0, 0, 0, 0, 3], [0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 9]])
    tf.random.set_seed(3)
    big = tf.tile(tf.range(1, 41)[None], [200, 1])
    out = item_drop(big, 0.2).numpy()
    for row in out[:20]:
        kept = row[row > 0]
        assert kept[0] == 1 and (np.diff(kept) > 0).all()       # oldest kept, order kept
        assert (row[:len(row) - len(kept)] == 0).all()           # left-padded
    assert np.mean((out > 0).sum(1)) == pytest.approx(1 + 39 * 0.8, abs=0.5)


def test_pretrain_loss_terms_text_only_and_word_drop():
    tf.random.set_seed(0)
    model = build_model(_config(), _info())
    f = _features(1, batch=8)
    model(f)
    with tf.GradientTape() as tape:
        terms = model.pretrain_losses(f, training=True)
    np.testing.assert_allclose(terms["total"], terms["seq_item"] + 1e-3 * terms["seq_seq"],
                               rtol=1e-6)
    assert terms["seq_item"].numpy() > 0 and terms["seq_seq"].numpy() > 0
    grads = tape.gradient(terms["total"], {"ids": model.item_tower.id_embeddings,
                                           "moe": model.item_tower.adaptor.experts})
    assert grads["ids"] is None and grads["moe"] is not None  # pre-training is text only
    # Eval mode, seq-item term by hand: cos(s, v_target) / 0.07, duplicates at logit 0.
    terms = model.pretrain_losses(f, training=False)
    ids = f["history"]
    s = model.user_tower.sequence_vector(tf.gather(model.item_tower.all_items(use_id=False),
                                                   ids), ids > 0).numpy()
    v = model.item_tower(f["target"], use_id=False).numpy()
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    same = (f["target"][:, None] == f["target"][None]) & ~np.eye(8, dtype=bool)
    np.testing.assert_allclose(terms["seq_item"], _numpy_contrast(s, v, same, 0.07, "official"),
                               rtol=1e-4)
    # word drop only: the augmented view differs from the original only through the table
    model.item_drop_prob = 0.0
    model.set_augmented_text_features(model.item_tower.text_table.numpy())  # identical table
    terms = model.pretrain_losses(f, training=False)
    np.testing.assert_allclose(terms["seq_seq"], _numpy_contrast(s, s, same, 0.07, "official"),
                               rtol=1e-4)


def test_pretrain_loss_decreases_with_adam():
    tf.keras.utils.set_random_seed(0)
    model = build_model(_config(num_layers=1, dropout=0.1, attention_dropout=0.1), _info())
    # learnable: the next item is the last item + 1
    rng = np.random.default_rng(0)
    start = rng.integers(1, M - N, size=64)
    hist = (start[:, None] + np.arange(N)[None]).astype(np.int32)
    f = {"history": hist, "target": (hist[:, -1] + 1).astype(np.int32)}
    model(f)
    opt = tf.keras.optimizers.Adam(1e-2)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = model.pretrain_loss(f, training=True)
        variables = model.trainable_variables
        grads = tape.gradient(loss, variables)
        opt.apply_gradients([(g, v) for g, v in zip(grads, variables) if g is not None])
        return loss

    first = float(model.pretrain_loss(f, training=False))
    for _ in range(30):
        step()
    last = float(model.pretrain_loss(f, training=False))
    assert last < 0.7 * first, (first, last)


def test_item_lookup_modes_agree_in_evaluation():
    tf.random.set_seed(0)
    model = build_model(_config(), _info())
    f = _features(2, batch=8)
    model.item_drop_ratio = 0.0  # deterministic augmentation (the view is the sequence)
    table = model.pretrain_losses(f, training=False)
    s_table = model(f).numpy()
    model.user_tower.item_lookup = "occurrence"
    occ = model.pretrain_losses(f, training=False)
    for k in ("seq_item", "seq_seq"):
        np.testing.assert_allclose(occ[k], table[k], rtol=1e-5)
    np.testing.assert_allclose(model(f).numpy(), s_table, rtol=1e-5, atol=1e-6)


def test_fine_tune_loss_matches_numpy_and_outputs_are_unit_vectors():
    tf.random.set_seed(0)
    model = build_model(_config(), _info())
    assert isinstance(model, UniSRecModel)
    f = _features()
    s = model(f).numpy()
    assert s.shape == (6, 1, D)
    np.testing.assert_allclose(np.linalg.norm(s, axis=-1), 1.0, rtol=1e-5)
    items = model.item_embeddings().numpy()
    assert items.shape == (M + 1, D)
    np.testing.assert_allclose(np.linalg.norm(items, axis=-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(model.encode_users(f), s, rtol=1e-5, atol=1e-6)
    logits = s[:, 0] @ items[1:].T / 0.07  # Eq. 10-12: cos / tau over items 1..M
    want = np.mean([-np.log(_softmax(logits[u])[f["target"][u] - 1]) for u in range(6)])
    np.testing.assert_allclose(model.compute_loss(f, training=False), want, rtol=1e-4)
    assert np.isfinite(model.compute_loss(f, training=True).numpy())


@pytest.mark.parametrize("freeze", ["official", "paper", "none"])
def test_finish_pretraining_freezes_the_encoder(freeze):
    model = build_model(_config(finetune_freeze=freeze), _info())
    model(_features())
    before = {v.name for v in model.trainable_variables}
    model.finish_pretraining()
    after = {v.name for v in model.trainable_variables}
    frozen = before - after
    enc = model.user_tower
    if freeze == "none":
        assert not frozen
        return
    block_vars = {v.name for b in enc.blocks for v in b.weights}
    want = {v.name for v in enc.positions.weights} | block_vars
    if freeze == "paper":
        want |= {v.name for v in enc.input_norm.weights}
    assert frozen == want
    assert len(block_vars) == 2 * 16  # 2 layers x (8 attention + 4 FFN + 4 LayerNorm)
    # what stays trainable: the MoE adaptor, the ID table (+ input LayerNorm, official)
    rest = {v.name.split("/")[-1] for v in model.trainable_variables}
    assert {"centres:0", "experts:0", "gate:0", "item_id_embedding:0"} <= rest
    assert any("input_norm" in n for n in after) == (freeze == "official")
    assert model.pretraining_finished


def test_frozen_encoder_stays_frozen_in_fit_after_compile():
    # train.py compiles before pre-training; Keras 2 fit restores compile-time trainability
    tf.keras.utils.set_random_seed(0)
    model = build_model(_config(num_layers=1), _info())
    f = _features(batch=32)
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-2))
    model(f)
    model.item_embeddings()
    model.finish_pretraining()
    before = {v.name: v.numpy().copy() for v in model.variables}
    model.fit(tf.data.Dataset.from_tensor_slices(f).batch(16), epochs=1, verbose=0)
    changed = {v.name for v in model.variables
               if np.abs(v.numpy() - before[v.name]).max() > 0}
    frozen = {v.name for layer in model.trainable_after_freeze() for v in layer.weights}
    assert changed and not changed & frozen
    assert {v.name for v in model.item_tower.adaptor.weights} & changed


def test_inductive_has_no_id_table_and_checkpoint_round_trip(tmp_path):
    model = build_model(_config("synthetic,inductive"), _info())
    assert model.item_tower.use_id_embedding is False
    f = _features()
    out = model(f).numpy()
    assert not any("item_id_embedding" in v.name for v in model.variables)
    path = tf.train.Checkpoint(model=model).save(str(tmp_path / "ck"))
    clone = build_model(_config("synthetic,inductive"), _info())
    clone(f)
    tf.train.Checkpoint(model=clone).restore(path).assert_consumed()
    np.testing.assert_allclose(clone(f).numpy(), out, rtol=1e-6)
    np.testing.assert_allclose(clone.item_embeddings(), model.item_embeddings(), rtol=1e-6)


def test_build_model_needs_text_features():
    info = _info()
    info.item_text_features = None
    with pytest.raises(ValueError, match="text_features"):
        build_model(_config(), info)


# --------------------------------------------------------------------------------------
# Config and end to end
# --------------------------------------------------------------------------------------


def test_config_flags_and_paper_numbers():
    mod = load_config_module()
    c = mod.get_config("scientific")
    assert c.model.name == "unisrec" and c.model.mode == "transductive"
    assert (c.model.embedding_dim, c.model.num_experts, c.model.num_layers,
            c.model.num_heads) == (300, 8, 2, 2)
    assert c.model.temperature == 0.07 and c.model.lam == 1e-3
    assert c.pretrain.enabled and tuple(c.pretrain.datasets) == ("self",)
    assert (c.pretrain.batch_size, c.pretrain.epochs) == (2048, 300)
    assert c.dataset.text_features == "amazon-scientific/Scientific.minilm.npz"
    assert dict(c.paper) == {"Recall@10": 0.1237, "Recall@50": 0.2416, "NDCG@10": 0.0663,
                             "NDCG@50": 0.0919}
    assert (c.train.batch_size, c.dataset.max_len, c.loss.kind) == (1024, 20, "full_softmax")
    ind = mod.get_config("scientific,inductive")
    assert ind.model.mode == "inductive" and not dict(ind.paper)
    assert not mod.get_config("scientific,no_pretrain").pretrain.enabled
    with pytest.raises(ValueError, match="unknown config flags"):
        mod.get_config("scientific,zero_shot")


def _synthetic_text_config(tmp_path, pretrain=False, epochs=2):
    cfg = _config("synthetic" if pretrain else "synthetic,no_pretrain", embedding_dim=16,
                  inner_dim=32, num_layers=1, dropout=0.1, attention_dropout=0.1,
                  adaptor_dropout=0.1)
    syn = cfg.dataset.synthetic
    syn.num_users, syn.num_items, syn.num_clusters = 200, 100, 8
    syn.max_length = 30
    cfg.dataset.max_len = 10
    # cluster-correlated item text: a centre per topic + noise, keyed by the raw ids
    data = synthetic.generate(**dict(syn))
    cluster = data.item_features["category"].to_numpy()
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(cluster.max() + 1, 24))
    feats = centres[cluster] + 0.3 * rng.normal(size=(len(cluster), 24))
    path = save_item_text_features(tmp_path / "syn_text.npz", data.item_features.index, feats)
    cfg.dataset.text_features = path
    cfg.train.epochs = epochs
    cfg.train.patience = epochs
    cfg.train.verbose = 0
    cfg.train.learning_rate = 3e-3
    # synthetic users re-consume popular items: keep seen items rankable so that a
    # model's recall can be compared with a random ranking's
    cfg.eval.exclude_seen = False
    cfg.pretrain.epochs = 2
    cfg.pretrain.batch_size = 512
    return cfg


def test_train_and_evaluate_end_to_end_without_pretraining(tmp_path):
    cfg = _synthetic_text_config(tmp_path)
    test = train.train_and_evaluate(cfg, str(tmp_path / "run"))
    assert set(test) == {"Recall@10", "Recall@50", "NDCG@10", "NDCG@50"}
    # a random ranking of 100 items gives Recall@10 = 0.1
    assert test["Recall@10"] > 0.4, test
    losses = [r["loss"] for r in train.read_jsonl(str(tmp_path / "run" / "metrics.jsonl"))
              if r["split"] == "valid"]
    assert losses[-1] < losses[0]
    # the user tower + an index export as a SavedModel that answers like the model
    path = train.export_serving_model(cfg, str(tmp_path / "run"), index="brute_force", k=10)
    model, split, _ = train.restore_for_eval(cfg, str(tmp_path / "run"))
    hist = split.test.history[:8]
    _, want = retrieval.BruteForceIndex(model.item_embeddings().numpy()).search(
        model.encode_users({"history": hist}), 10)
    loaded = retrieval.load_retrieval_model(path)  # keep a reference while serving
    got = loaded.serve(history=tf.constant(hist))["ids"].numpy()
    np.testing.assert_array_equal(got, want)


@pytest.mark.skipif(importlib.util.find_spec("mirec.pretrain") is None,
                    reason="mirec.pretrain not available")
def test_train_and_evaluate_with_pretraining_freezes_the_encoder(tmp_path):
    cfg = _synthetic_text_config(tmp_path, pretrain=True, epochs=1)
    test = train.train_and_evaluate(cfg, str(tmp_path / "run"))
    done = json.loads((tmp_path / "run" / "pretrain" / "done.json").read_text())
    assert done["epochs"] == 2 and done["loss"][1] < done["loss"][0]
    assert test["Recall@10"] > 0.4, test
    # fine-tuning changed the adaptor but not the frozen encoder (positions + Transformer)
    tuned, prepared = train.restore_run(cfg, str(tmp_path / "run"))
    pre = build_model(cfg, prepared.info)
    pre(prepared.split.valid.features(prepared.user_features))
    pre.item_embeddings()
    ckpt = tf.train.latest_checkpoint(str(tmp_path / "run" / "pretrain" / "ckpt"))
    tf.train.Checkpoint(model=pre).restore(ckpt).expect_partial()
    for a, b in zip([pre.user_tower.positions] + pre.user_tower.blocks,
                    [tuned.user_tower.positions] + tuned.user_tower.blocks):
        for va, vb in zip(a.weights, b.weights):
            np.testing.assert_array_equal(va.numpy(), vb.numpy())
    assert np.abs(pre.item_tower.adaptor.experts.numpy()
                  - tuned.item_tower.adaptor.experts.numpy()).max() > 1e-6
