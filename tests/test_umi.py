"""Tests of UMI's layers (mirec.layers.umi), towers (mirec.models.umi, mirec.models.dssm), the
HN loss readout and the Table 2 configs (experiments/configs/umi)."""

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)

# isort: split
import importlib.util
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from mirec import train
from mirec.data.types import DatasetInfo
from mirec.layers.umi import DualAttentionRouting, InterestRefinement, UserGuidedAttention
from mirec.models import registry
from mirec.models.base import MultiInterestModel
from mirec.models.dssm import DSSMTower
from mirec.models.losses import LossConfig, retrieval_loss
from mirec.models.umi import UMITower, build_tower, default_model_config
from mirec.towers.item import ItemTower

REPO = pathlib.Path(__file__).resolve().parents[1]
B, T, D, K, C, F = 3, 5, 4, 2, 3, 2  # batch, history, item dim, interests, fields, field dim


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _squash(z):
    sq = (z ** 2).sum(-1, keepdims=True)
    return sq / (1.0 + sq) * z / np.sqrt(sq + 1e-9)


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    mask = np.ones((B, T), bool)
    mask[0, :2] = False  # left padding
    mask[2, :4] = False
    x = rng.normal(size=(B, T, D)).astype(np.float32) * mask[..., None]
    return {"x": x, "mask": mask,
            "profile": rng.normal(size=(B, C * F)).astype(np.float32),
            "a": rng.uniform(0.1, 1.0, size=(B, T)).astype(np.float32) * mask,
            "interests": rng.normal(size=(B, K, D)).astype(np.float32)}


# Each case: (layer factory, input names, call, expected output shapes). The routing starts
# from zero logits here so that two calls agree; the Gaussian start is tested separately.
CASES = {
    "uganet": (lambda: UserGuidedAttention(hidden_units=8),
               ("x", "profile", "mask"),
               lambda layer, x, p, m: layer(x, p, mask=m), [(B, T)]),
    "dar": (lambda: DualAttentionRouting(K, init_stddev=0.0),
            ("x", "a", "mask"),
            lambda layer, x, a, m: layer(x, item_weights=a, mask=m), [(B, K, D)]),
    "ir": (lambda: InterestRefinement(num_fields=C, output_dim=D, attention_units=8,
                                      hidden_units=(3,)),
           ("interests", "profile"),
           lambda layer, h, p: layer(h, p), [(B, K, D)]),
}


def _as_list(out):
    return [np.asarray(o) for o in (out if isinstance(out, (tuple, list)) else [out])]


def _model(layer, names, call, data):
    ins = [tf.keras.Input(shape=data[n].shape[1:], dtype=tf.as_dtype(data[n].dtype), name=n)
           for n in names]
    return tf.keras.Model(ins, call(layer, *ins))


@pytest.mark.parametrize("name", list(CASES))
def test_layer_call_shapes(name):
    make, names, call, shapes = CASES[name]
    data = _inputs()
    outs = _as_list(call(make(), *[tf.constant(data[n]) for n in names]))
    assert [o.shape for o in outs] == shapes
    assert all(np.isfinite(o).all() for o in outs)


@pytest.mark.parametrize("name", list(CASES))
def test_layer_predict_in_functional_model(name):
    make, names, call, shapes = CASES[name]
    data = _inputs()
    layer = make()
    model = _model(layer, names, call, data)
    outs = _as_list(model.predict([data[n] for n in names], verbose=0))
    eager = _as_list(call(layer, *[tf.constant(data[n]) for n in names]))
    assert [o.shape for o in outs] == shapes
    for a, b in zip(outs, eager):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", list(CASES))
def test_layer_config_round_trip(name):
    make, names, call, _ = CASES[name]
    data = _inputs()
    layer = make()
    model = _model(layer, names, call, data)
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    model2 = _model(clone, names, call, data)
    model2.set_weights(model.get_weights())
    feed = [data[n] for n in names]
    for a, b in zip(_as_list(model(feed)), _as_list(model2(feed))):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", list(CASES))
def test_layer_save_load(name, tmp_path):
    make, names, call, _ = CASES[name]
    data = _inputs()
    model = _model(make(), names, call, data)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    feed = [data[n] for n in names]
    for a, b in zip(_as_list(model.predict(feed, verbose=0)),
                    _as_list(loaded.predict(feed, verbose=0))):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- hand-computed maths


def test_uganet_matches_eq2():
    items = np.array([[[1.0, 2.0], [0.5, -1.0], [7.0, 7.0]]], np.float32)
    mask = np.array([[True, True, False]])
    profile = np.array([[1.0, -1.0]], np.float32)
    layer = UserGuidedAttention(hidden_units=2)
    layer(items, profile, mask=mask)
    w1 = np.array([[1, 0], [0, 1], [1, 1], [0, -1]], np.float32)  # rows: [e_i, e_u]
    b1 = np.array([0.5, -0.5], np.float32)
    w2 = np.array([[2.0], [-1.0]], np.float32)
    b2 = np.array([0.25], np.float32)
    layer.hidden.set_weights([w1, b1])
    layer.score.set_weights([w2, b2])
    got = layer(items, profile, mask=mask).numpy()[0]
    # item 1: [1, 2, 1, -1] W1 = [2, 4], + b1 = [2.5, 3.5] -> 2 * 2.5 - 3.5 + 0.25 = 1.75
    # item 2: [0.5, -1, 1, -1] W1 = [1.5, 1], + b1 = [2, 0.5] -> 2 * 2 - 0.5 + 0.25 = 3.75
    # item 3 is padding: weight 0.
    np.testing.assert_allclose(got, [_sigmoid(1.75), _sigmoid(3.75), 0.0], rtol=1e-6)


def test_routing_one_item_one_capsule_by_hand():
    # K = 1: c = 1, z = a W e = 0.5 * [3, 4] = [1.5, 2]; |z|^2 = 6.25, |z| = 2.5,
    # v = 6.25 / 7.25 * [1.5, 2] / 2.5 = [0.51724, 0.68966] whatever the iterations.
    layer = DualAttentionRouting(1, iterations=3, init_stddev=1.0)
    x = np.array([[[3.0, 4.0]]], np.float32)
    layer(x)
    layer.bilinear.assign(np.eye(2, dtype=np.float32)[None])
    v = layer(x, item_weights=np.array([[0.5]], np.float32)).numpy()
    np.testing.assert_allclose(v, [[[6.25 / 7.25 * 0.6, 6.25 / 7.25 * 0.8]]], rtol=1e-6)


def _dar_reference(x, a, mask, w, b0, iterations, accumulate=False):
    """Algorithm 1 with explicit loops over users, items and capsules."""
    out = np.zeros((x.shape[0], w.shape[0], w.shape[2]))
    for u in range(x.shape[0]):
        items = [i for i in range(x.shape[1]) if mask[u, i]]
        uhat = {(i, j): x[u, i] @ w[j] for i in items for j in range(w.shape[0])}
        b = {(i, j): b0[u, j, i] for i in items for j in range(w.shape[0])}
        for it in range(iterations):
            v = []
            for j in range(w.shape[0]):
                z = np.zeros(w.shape[2])
                for i in items:
                    c_ij = np.exp(b[i, j]) / sum(np.exp(b[i, k]) for k in range(w.shape[0]))
                    z += a[u, i] * c_ij * uhat[i, j]
                v.append(_squash(z))
            for i in items:
                for j in range(w.shape[0]):
                    new = uhat[i, j] @ v[j]
                    b[i, j] = b[i, j] + new if accumulate else new
        out[u] = np.stack(v)
    return out


@pytest.mark.parametrize("iterations", [1, 3])
def test_dual_attention_routing_matches_algorithm1(iterations):
    data = _inputs(1)
    x, a, mask = data["x"], data["a"], data["mask"]
    x_garbage = x + 5.0 * (~mask)[..., None]  # padded rows must be ignored even if non-zero
    b0 = np.random.default_rng(2).normal(size=(B, K, T)).astype(np.float32)
    layer = DualAttentionRouting(K, iterations=iterations)
    v, c = layer(x_garbage, item_weights=a, mask=mask, initial_logits=b0, return_coupling=True)
    w = layer.bilinear.numpy()
    want = _dar_reference(x, a, mask, w, b0, iterations)
    np.testing.assert_allclose(v.numpy(), want, rtol=1e-4, atol=1e-6)
    assert np.all(c.numpy()[~np.broadcast_to(mask[:, None, :], c.shape)] == 0.0)
    if iterations == 3:  # logits are overwritten (UMI), not accumulated (MIND/ComiRec)
        acc = _dar_reference(x, a, mask, w, b0, iterations, accumulate=True)
        assert np.abs(acc - want).max() > 1e-3


def test_routing_weights_reach_capsules_and_gradients():
    data = _inputs(3)
    layer = DualAttentionRouting(K, init_stddev=0.0)
    x = tf.constant(data["x"])
    a = tf.Variable(data["a"])
    with tf.GradientTape() as tape:
        v = layer(x, item_weights=a, mask=data["mask"])
        loss = tf.reduce_sum(v)
    g = tape.gradient(loss, [a, layer.bilinear])
    assert np.abs(g[0].numpy()[data["mask"]]).sum() > 0 and np.abs(g[1].numpy()).sum() > 0
    assert np.all(g[0].numpy()[~data["mask"]] == 0)
    # a_i = 0 for every item but one: that item alone makes every capsule (up to W_j).
    only = np.zeros_like(data["a"])
    only[:, -1] = 1.0
    v1 = layer(x, item_weights=only, mask=data["mask"]).numpy()
    w = layer.bilinear.numpy()
    for j in range(K):  # the direction of v_j is that of W_j e_last, whatever c_ij
        z = data["x"][:, -1] @ w[j]
        norms = np.linalg.norm(v1[:, j], axis=-1) * np.linalg.norm(z, axis=-1)
        cos = (v1[:, j] * z).sum(-1) / norms
        np.testing.assert_allclose(cos, 1.0, rtol=1e-5)


def test_gaussian_initial_logits_fresh_in_training_fixed_in_inference():
    data = _inputs()
    layer = DualAttentionRouting(K, init_stddev=1.0)
    t1 = layer(data["x"], mask=data["mask"], training=True).numpy()
    t2 = layer(data["x"], mask=data["mask"], training=True).numpy()
    assert t1.shape == (B, K, D) and not np.allclose(t1, t2)
    i1 = layer(data["x"], mask=data["mask"], training=False).numpy()
    i2 = layer(data["x"], mask=data["mask"]).numpy()
    np.testing.assert_array_equal(i1, i2)
    fresh = DualAttentionRouting(K, init_stddev=1.0, inference_seed=None)
    fresh.build(data["x"].shape)
    fresh.bilinear.assign(layer.bilinear)
    assert not np.allclose(fresh(data["x"], mask=data["mask"]).numpy(),
                           fresh(data["x"], mask=data["mask"]).numpy())


def test_interest_refinement_matches_eq7_to_9():
    v = np.array([[[1.0, 0.0], [0.0, 2.0]]], np.float32)  # (1, K=2, d=2)
    prof = np.array([[1.0, 2.0, -1.0, 3.0]], np.float32)  # C = 2 fields of 2 units
    layer = InterestRefinement(num_fields=2, output_dim=2, attention_units=2, hidden_units=(2,))
    layer(v, prof)
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=w.shape).astype(np.float32) for w in layer.get_weights()]
    layer.set_weights(weights)
    wa, ba, wb, bb, w1, b1, wo, bo = weights  # attention hidden/out, refine hidden/out
    out, d = layer(v, prof, return_weights=True)
    for k in range(2):
        att_in = np.concatenate([v[0, k], prof[0]])  # Eq. 7: f(v_k, e_u^(1..C))
        dk = _sigmoid(np.maximum(att_in @ wa + ba, 0) @ wb + bb)
        euk = np.concatenate([dk[0] * prof[0, :2], dk[1] * prof[0, 2:]])  # Eq. 8
        h = np.maximum(np.concatenate([euk, v[0, k]]) @ w1 + b1, 0)  # Eq. 9
        np.testing.assert_allclose(d.numpy()[0, k], dk, rtol=1e-5)
        np.testing.assert_allclose(out.numpy()[0, k], h @ wo + bo, rtol=1e-5, atol=1e-6)
    # w/o IR: d = 1, i.e. the static profile concatenated to every interest.
    static = InterestRefinement(num_fields=2, output_dim=2, hidden_units=(2,),
                                use_attention=False)
    static(v, prof)
    static.set_weights([w1, b1, wo, bo])
    out, d = static(v, prof, return_weights=True)
    assert d is None
    for k in range(2):
        h = np.maximum(np.concatenate([prof[0], v[0, k]]) @ w1 + b1, 0)
        np.testing.assert_allclose(out.numpy()[0, k], h @ wo + bo, rtol=1e-5, atol=1e-6)


def test_hard_negatives_vs_argmax_loss_by_hand():
    # Two interests; the target matches interest 0, the two negatives match interest 1.
    interests = tf.constant([[[2.0, 0.0], [0.0, 1.0]]])
    table = tf.constant([[0.0, 0.0], [1.0, 0.0], [0.0, 3.0], [0.5, 2.0]])
    emb = lambda ids: tf.gather(table, ids)  # noqa: E731
    target, negs = tf.constant([1]), tf.constant([[2, 3]])
    # argmax: the target's interest (0) scores everything: logits [2, 0, 1].
    lo = retrieval_loss(LossConfig(readout="argmax"), interests, target, emb, 3, negatives=negs)
    np.testing.assert_allclose(lo, -np.log(_softmax(np.array([2.0, 0.0, 1.0]))[0]), rtol=1e-6)
    # HN ("max"): each candidate picks its best interest: logits [2, 3, max(1, 2)] = [2, 3, 2].
    hn = retrieval_loss(LossConfig(readout="max"), interests, target, emb, 3, negatives=negs)
    np.testing.assert_allclose(hn, -np.log(_softmax(np.array([2.0, 3.0, 2.0]))[0]), rtol=1e-6)
    assert float(hn) > float(lo)  # harder negatives


# ---------------------------------------------------------------- towers


def _info(num_items=30, max_len=6, vocab=None):
    return DatasetInfo(name="toy", num_users=10, num_items=num_items, max_len=max_len,
                       profile_vocab=vocab if vocab is not None else {"gender": 3, "age": 4})


def _toy_batch(n=64, num_items=30, max_len=6, seed=0):
    """Gender decides the item range a user watches: profile-dependent interests."""
    rng = np.random.default_rng(seed)
    gender = rng.integers(1, 3, size=n)
    lo = np.where(gender == 1, 1, num_items // 2 + 1)
    hist = lo[:, None] + rng.integers(0, num_items // 2, size=(n, max_len))
    hist[: n // 4, :2] = 0  # some left padding
    target = lo + rng.integers(0, num_items // 2, size=n)
    return {"history": hist.astype(np.int32), "target": target.astype(np.int32),
            "gender": gender.astype(np.int32), "age": rng.integers(0, 4, size=n).astype(np.int32)}


@pytest.mark.parametrize("use_dar,use_ir", [(True, True), (False, True), (True, False)])
def test_umi_tower_shapes_and_explain(use_dar, use_ir):
    cfg = default_model_config()
    cfg.embedding_dim = 8
    cfg.use_dar, cfg.use_ir = use_dar, use_ir
    tower = build_tower(ItemTower(30, 8), _info(), cfg)
    assert isinstance(tower, UMITower) and tower.num_interests == 3
    batch = {k: tf.constant(v[:5]) for k, v in _toy_batch().items()}
    assert tower(batch).shape == (5, 3, 8)
    e = tower.explain(batch)
    assert e["capsules"].shape == (5, 3, 8) and e["coupling"].shape == (5, 3, 6)
    assert (e["item_weights"] is None) == (not use_dar)
    assert (e["field_weights"] is None) == (not use_ir)
    if use_dar:
        w = e["item_weights"].numpy()
        assert np.all(w[batch["history"].numpy() == 0] == 0) and np.all(w >= 0) and np.all(w <= 1)
    if use_ir:
        assert e["field_weights"].shape == (5, 3, 2)


def test_dssm_tower_ignores_history():
    tower = DSSMTower(ItemTower(30, 8), 6, profile_vocab={"gender": 3})
    b = _toy_batch(4)
    out1 = tower({"history": b["history"], "gender": b["gender"]})
    out2 = tower({"history": np.zeros_like(b["history"]), "gender": b["gender"]})
    assert out1.shape == (4, 1, 8)
    np.testing.assert_array_equal(out1, out2)
    with pytest.raises(ValueError, match="profile"):
        DSSMTower(ItemTower(30, 8), 6)


def test_umi_tower_trains():
    tf.keras.utils.set_random_seed(0)
    cfg = default_model_config()
    cfg.embedding_dim = 8
    item_tower = ItemTower(30, 8)
    model = MultiInterestModel(item_tower, build_tower(item_tower, _info(), cfg),
                               LossConfig(readout="max", num_negatives=5))
    model.compile(optimizer=tf.keras.optimizers.Adam(0.01))
    ds = tf.data.Dataset.from_tensor_slices(_toy_batch(256)).batch(32)
    hist = model.fit(ds, epochs=8, verbose=0)
    losses = hist.history["loss"]
    assert losses[-1] < 0.8 * losses[0], losses
    grads_seen = [v.name for v in model.trainable_variables]
    assert any("uganet" in n for n in grads_seen) and any("interest_refinement" in n
                                                          for n in grads_seen)


# ---------------------------------------------------------------- configs, end to end


def _load_config(model, arg):
    path = REPO / "experiments" / "configs" / "umi" / f"{model}.py"
    spec = importlib.util.spec_from_file_location(f"umi_cfg_{model}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.get_config(arg)


def _register():
    registry.register("umi", "mirec.models.umi")
    registry.register("dssm", "mirec.models.dssm")


CONFIG_ARGS = [("umi", "ml-1m"), ("umi", "ml-1m,no_dar"), ("umi", "ml-1m,no_ir"),
               ("umi", "ml-1m,no_hn"), ("mind", "ml-1m"), ("mind", "ml-1m,hn"),
               ("comirec", "ml-1m"), ("comirec", "ml-1m,hn"), ("comirec", "ml-1m,sa,hn"),
               ("youtube_dnn", "ml-1m"), ("dssm", "ml-1m")]


@pytest.mark.parametrize("model,arg", CONFIG_ARGS)
def test_table2_configs_build(model, arg):
    _register()
    c = _load_config(model, arg)
    assert c.dataset.item_core == 10 and c.dataset.max_len == 10
    assert c.train.batch_size == 128 and c.train.learning_rate == 5e-3
    assert c.loss.num_negatives == 5 and tuple(c.eval.cutoffs) == (10, 50, 300)
    hn = "hn" in arg.split(",") or (model == "umi" and "no_hn" not in arg)
    assert c.loss.readout == ("max" if hn else "single" if model in ("dssm", "youtube_dnn")
                              else "argmax")
    info = _info(num_items=40, max_len=10, vocab={"gender": 3, "age": 8, "occupation": 22})
    m = registry.build_model(c, info)
    feats = {"history": np.ones((2, 10), np.int32), "gender": np.ones(2, np.int32),
             "age": np.ones(2, np.int32), "occupation": np.ones(2, np.int32)}
    out = m(feats)
    assert out.shape[0] == 2 and out.shape[2] == 32
    assert out.shape[1] == (1 if model in ("dssm", "youtube_dnn") else 3)


def test_config_rejects_unknown_flag():
    with pytest.raises(ValueError, match="unknown config flags"):
        _load_config("umi", "ml-1m,nope")


@pytest.mark.parametrize("model", ["umi", "dssm"])
def test_end_to_end_synthetic_with_profiles(model, tmp_path):
    _register()
    cfg = _load_config(model, "synthetic")
    cfg.dataset.synthetic.update(num_users=300, num_items=400, num_clusters=10)
    cfg.train.update(epochs=2, patience=2, targets_per_user=3, verbose=0)
    cfg.model.embedding_dim = 16
    test = train.train_and_evaluate(cfg, str(tmp_path))
    assert set(test) == {f"{m}@{n}" for m in ("HitRate", "Precision") for n in (10, 50, 300)}
    for n in (10, 50, 300):
        assert 0 <= test[f"Precision@{n}"] <= 1 and 0 <= test[f"HitRate@{n}"] <= 1
    assert test["HitRate@10"] <= test["HitRate@50"] <= test["HitRate@300"]
    final = train.load_final(str(tmp_path))
    assert final["train_samples"] == 3 * 240  # 80% of 300 users, 3 random targets each
    assert final["dataset"]["split"]["test_users"] == 30
