"""Tests of SINE's layers (mirec.layers.sine) and tower (mirec.models.sine)."""

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)

# isort: split
import numpy as np
import pytest
import tensorflow as tf

from mirec.data.types import DatasetInfo
from mirec.layers.sine import (
    AttentionWeighting,
    ConceptActivation,
    IntentionAssignment,
    InterestAggregation,
    InterestEmbedding,
    prototype_covariance_loss,
)
from mirec.models.base import MultiInterestModel
from mirec.models.losses import LossConfig
from mirec.models.sine import SINETower, build_tower, default_model_config
from mirec.towers.item import ItemTower

B, N, D, K, L = 3, 5, 4, 2, 6
VARIANTS = ("paper", "official")


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _layer_norm(x, eps=1e-6):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    mask = np.ones((B, N), bool)
    mask[0, :2] = False  # first row left-padded
    mask[2, :4] = False
    x = rng.normal(size=(B, N, D)).astype(np.float32) * mask[..., None]
    assign = _softmax(rng.normal(size=(B, N, K))).astype(np.float32) * mask[..., None]
    att = _softmax(np.where(mask[:, None, :], rng.normal(size=(B, K, N)), -1e9)).astype(np.float32)
    return {"x": x, "mask": mask, "positions": rng.normal(size=(B, N, D)).astype(np.float32),
            "protos": rng.normal(size=(B, K, D)).astype(np.float32), "assign": assign,
            "att": att, "interests": rng.normal(size=(B, K, D)).astype(np.float32)}


# Each case: (layer factory, input names, call, expected output shapes).
CASES = {
    "concept": (
        lambda v: ConceptActivation(L, K, hidden_units=8, variant=v),
        ("x", "mask", "positions"),
        lambda layer, x, m, p: layer(x, mask=m, positions=p),
        [(B, K, D), (B, K), (B, L)]),
    "intention": (
        lambda v: IntentionAssignment(variant=v),
        ("x", "protos", "mask"),
        lambda layer, x, c, m: layer(x, c, mask=m),
        [(B, N, K)]),
    "attention": (
        lambda v: AttentionWeighting(K, hidden_units=8, variant=v),
        ("x", "mask", "positions", "assign"),
        lambda layer, x, m, p, a: layer(x, mask=m, positions=p, assignment=a),
        [(B, K, N)]),
    "interest": (
        lambda v: InterestEmbedding(variant=v),
        ("x", "att", "assign"),
        lambda layer, x, w, a: layer(x, w, assignment=a),
        [(B, K, D)]),
    "aggregation": (
        lambda v: InterestAggregation(hidden_units=8, variant=v,
                                      temperature=0.1 if v == "paper" else 1.0),
        ("interests", "assign", "protos", "mask", "x", "positions"),
        lambda layer, h, a, c, m, x, p: layer(h, a, c, mask=m, item_embeddings=x, positions=p),
        [(B, D), (B, K)]),
}
PARAMS = [pytest.param(name, v, id=f"{name}-{v}") for name in CASES for v in VARIANTS]


def _as_list(out):
    return [np.asarray(o) for o in (out if isinstance(out, (tuple, list)) else [out])]


def _model(layer, names, call, data):
    ins = [tf.keras.Input(shape=data[n].shape[1:], dtype=tf.as_dtype(data[n].dtype), name=n)
           for n in names]
    return tf.keras.Model(ins, call(layer, *ins))


def _feed(names, data):
    return [data[n] for n in names]


@pytest.mark.parametrize("name,variant", PARAMS)
def test_layer_call_shapes(name, variant):
    make, names, call, shapes = CASES[name]
    data = _inputs()
    outs = _as_list(call(make(variant), *[tf.constant(data[n]) for n in names]))
    assert [o.shape for o in outs] == shapes
    assert all(np.isfinite(o).all() for o in outs)


@pytest.mark.parametrize("name,variant", PARAMS)
def test_layer_predict_in_functional_model(name, variant):
    make, names, call, shapes = CASES[name]
    data = _inputs()
    layer = make(variant)
    model = _model(layer, names, call, data)
    outs = _as_list(model.predict(_feed(names, data), verbose=0))
    eager = _as_list(call(layer, *[tf.constant(data[n]) for n in names]))
    assert [o.shape for o in outs] == shapes
    for a, b in zip(outs, eager):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,variant", PARAMS)
def test_layer_config_round_trip(name, variant):
    make, names, call, _ = CASES[name]
    data = _inputs()
    layer = make(variant)
    model = _model(layer, names, call, data)
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    model2 = _model(clone, names, call, data)
    model2.set_weights(model.get_weights())
    for a, b in zip(_as_list(model(_feed(names, data))), _as_list(model2(_feed(names, data)))):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name,variant", PARAMS)
def test_layer_save_load(name, variant, tmp_path):
    make, names, call, _ = CASES[name]
    data = _inputs()
    model = _model(make(variant), names, call, data)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    for a, b in zip(_as_list(model.predict(_feed(names, data), verbose=0)),
                    _as_list(loaded.predict(_feed(names, data), verbose=0))):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- hand-computed maths


def test_concept_activation_top_k_and_sigmoid_gating():
    # One real position, so the masked pooling gives z = that item exactly; the padded row
    # holds garbage that must not leak in.
    x = np.array([[[9.0, -7.0], [1.0, 2.0]]], np.float32)
    mask = np.array([[False, True]])
    layer = ConceptActivation(num_prototypes=3, num_interests=2)
    layer(x, mask=mask)
    c = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]], np.float32)  # s = [1, 2, -3]
    layer.prototypes.assign(c)
    with tf.GradientTape() as tape:
        gated, idx, scores = layer(x, mask=mask)
        total = tf.reduce_sum(gated)
    np.testing.assert_allclose(scores, [[1.0, 2.0, -3.0]], rtol=1e-6)
    np.testing.assert_array_equal(idx, [[1, 0]])
    np.testing.assert_allclose(gated, [[[0.0, _sigmoid(2.0)], [_sigmoid(1.0), 0.0]]], rtol=1e-6)
    grad = tape.gradient(total, layer.prototypes).numpy()
    assert np.abs(grad[:2]).sum() > 0 and np.all(grad[2] == 0)  # unselected row: no gradient

    # Two prototypes, K = 1.
    layer2 = ConceptActivation(num_prototypes=2, num_interests=1)
    layer2(x, mask=mask)
    layer2.prototypes.assign(np.array([[2.0, 0.0], [0.0, -1.0]], np.float32))  # s = [2, -2]
    gated, idx, _ = layer2(x, mask=mask)
    np.testing.assert_array_equal(idx, [[0]])
    np.testing.assert_allclose(gated, [[[2.0 * _sigmoid(2.0), 0.0]]], rtol=1e-6)


def test_intention_assignment_softmax():
    x = np.array([[[1.0, 3.0, 2.0], [0.5, -1.0, 4.0], [0.0, 0.0, 0.0]]], np.float32)
    mask = np.array([[True, True, False]])
    c = np.array([[[2.0, 0.0, 1.0], [0.0, 5.0, -1.0]]], np.float32)

    paper = IntentionAssignment(variant="paper")
    paper(x, c, mask=mask)
    paper.w3.kernel.assign(np.eye(3, dtype=np.float32))
    got = paper(x, c, mask=mask).numpy()
    logits = np.einsum("nd,kd->nk", _layer_norm(x[0]), _layer_norm(c[0]))
    want = _softmax(logits) * mask[0][:, None]
    np.testing.assert_allclose(got[0], want, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(got[0, 2], [0.0, 0.0])

    official = IntentionAssignment(variant="official", temperature=0.5)
    got = official(x, c, mask=mask).numpy()
    xu = x[0, :2] / np.linalg.norm(x[0, :2], axis=-1, keepdims=True)
    cu = c[0] / np.linalg.norm(c[0], axis=-1, keepdims=True)
    want = _softmax(np.einsum("nd,kd->nk", xu, cu) / 0.5)
    np.testing.assert_allclose(got[0, :2], want, rtol=1e-5)
    np.testing.assert_allclose(got[0, :2].sum(-1), [1.0, 1.0], rtol=1e-6)
    np.testing.assert_array_equal(got[0, 2], [0.0, 0.0])


def test_attention_weighting_padding_gets_zero_weight():
    x = np.array([[[5.0, 5.0], [1.0, 0.0], [0.0, 1.0]]], np.float32)  # position 0 padded
    mask = np.array([[False, True, True]])
    layer = AttentionWeighting(num_interests=2, hidden_units=2)
    layer(x, mask=mask)
    layer.w1.assign(np.stack([np.eye(2), np.eye(2)], axis=1).astype(np.float32))  # (D, K, H)
    layer.w2.assign(np.eye(2, dtype=np.float32))  # interest k reads hidden unit k
    got = layer(x, mask=mask).numpy()[0]
    t = np.tanh(1.0)
    p = np.exp(t) / (np.exp(t) + 1.0)
    np.testing.assert_allclose(got, [[0.0, p, 1 - p], [0.0, 1 - p, p]], rtol=1e-6)
    assert got[0, 0] == 0.0 and got[1, 0] == 0.0

    # Official: shared tanh layer, logits multiplied by P_{k|t} before the softmax.
    off = AttentionWeighting(num_interests=2, hidden_units=2, variant="official")
    assign = np.array([[[0.5, 0.5], [0.2, 0.8], [0.9, 0.1]]], np.float32)
    off(x, mask=mask, assignment=assign)
    off.hidden.set_weights([np.eye(2, dtype=np.float32), np.zeros(2, np.float32)])
    off.logits.set_weights([np.eye(2, dtype=np.float32), np.zeros(2, np.float32)])
    got = off(x, mask=mask, assignment=assign).numpy()[0]
    logits = np.tanh(x[0]).T * assign[0].T  # (K, n)
    want = _softmax(logits[:, 1:])
    np.testing.assert_allclose(got[:, 1:], want, rtol=1e-6)
    np.testing.assert_array_equal(got[:, 0], [0.0, 0.0])


def test_interest_embedding_matches_eq5():
    data = _inputs(1)
    got = InterestEmbedding(variant="paper")(data["x"], data["att"],
                                             assignment=data["assign"]).numpy()
    raw = np.einsum("bkn,bnk,bnd->bkd", data["att"], data["assign"], data["x"])
    np.testing.assert_allclose(got, _layer_norm(raw), rtol=1e-4, atol=1e-5)
    got = InterestEmbedding(variant="official")(data["x"], data["att"]).numpy()
    np.testing.assert_allclose(got, np.einsum("bkn,bnd->bkd", data["att"], data["x"]),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("tau", [0.1, 1.0])
def test_interest_aggregation_with_tau(tau):
    # One real position: the pooled intention is Xhat_t = P_t C^u exactly.
    assign = np.array([[[0.0, 0.0], [0.25, 0.75]]], np.float32)
    protos = np.array([[[1.0, 0.0, 0.0], [0.0, 2.0, 1.0]]], np.float32)
    interests = np.array([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]], np.float32)
    mask = np.array([[False, True]])
    layer = InterestAggregation(temperature=tau)
    user, e = layer(interests, assign, protos, mask=mask)
    c_apt = _layer_norm(np.array([0.25, 1.5, 0.75]))
    want_e = _softmax(np.array([c_apt[0], c_apt[1]]) / tau)
    np.testing.assert_allclose(e.numpy()[0], want_e, rtol=1e-4)
    np.testing.assert_allclose(user.numpy()[0], want_e @ interests[0], rtol=1e-4, atol=1e-6)


def test_covariance_loss_by_hand():
    c = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 9.0]], np.float32)
    # Centred over prototypes: rows [-2,-3], [0,-1], [2,4]; M = Cc Cc^T / 2 =
    # [[6.5, 1.5, -8], [1.5, 0.5, -2], [-8, -2, 10]]; 0.5 * 2 * (1.5^2 + 8^2 + 2^2) = 70.25.
    assert float(prototype_covariance_loss(c)) == pytest.approx(70.25)
    # Centred per prototype: rows [-.5,.5], [-.5,.5], [-2,2]; off-diagonal M = .25, 1, 1.
    assert float(prototype_covariance_loss(c, center="features")) == pytest.approx(2.0625)
    assert float(prototype_covariance_loss(np.eye(3, 4) * 2.0)) >= 0.0


# ---------------------------------------------------------------- tower


def _cluster_data(num=640, n=8, seed=0):
    """30 items in 3 clusters of 10; history and target drawn from one cluster."""
    rng = np.random.default_rng(seed)
    hist = np.zeros((num, n), np.int32)
    target = np.zeros((num,), np.int32)
    for i in range(num):
        c = rng.integers(3)
        length = rng.integers(3, n + 1)
        hist[i, n - length:] = 1 + 10 * c + rng.integers(10, size=length)
        target[i] = 1 + 10 * c + rng.integers(10)
    return {"history": hist, "target": target}


@pytest.mark.parametrize("variant", VARIANTS)
def test_tower_trains_on_clusters(variant):
    tf.keras.utils.set_random_seed(0)
    data = _cluster_data()
    items = ItemTower(30, 16)
    tower = SINETower(items, max_len=8, num_interests=2, num_prototypes=6, reg_weight=0.5,
                      variant=variant, hidden_units=16 if variant == "paper" else 32,
                      tau=0.1 if variant == "paper" else 1.0)
    model = MultiInterestModel(items, tower, LossConfig(kind="sampled_softmax", readout="single",
                                                        num_negatives=5))
    model.compile(optimizer=tf.keras.optimizers.Adam(0.01))
    ds = tf.data.Dataset.from_tensor_slices(data).batch(64)
    initial = model.evaluate(ds, verbose=0, return_dict=True)["loss"]
    model.fit(ds, epochs=6, verbose=0)
    final = model.evaluate(ds, verbose=0, return_dict=True)["loss"]
    assert final < 0.8 * initial, (initial, final)
    out = tower({"history": data["history"][:5]})
    assert out.shape == (5, 1, 16)
    assert len(tower.losses) == 1  # the covariance regulariser
    want = 0.5 * prototype_covariance_loss(tower.prototype_matrix())
    np.testing.assert_allclose(float(tower.losses[0]), float(want), rtol=1e-5)


def test_tower_without_regulariser_adds_no_loss():
    tower = SINETower(ItemTower(30, 8), 8, num_interests=2, num_prototypes=4, reg_weight=0.0)
    tower({"history": _cluster_data(4)["history"]})
    assert tower.losses == []


def test_sine_label_outputs_interests_and_trains():
    data = _cluster_data(128)
    items = ItemTower(30, 8)
    tower = SINETower(items, 8, num_interests=3, num_prototypes=5, output="interests")
    assert tower({"history": data["history"][:4]}).shape == (4, 3, 8)
    assert tower.aggregate is None
    model = MultiInterestModel(items, tower, LossConfig(readout="label_aware"))
    model.compile(optimizer=tf.keras.optimizers.Adam(0.01))
    hist = model.fit(tf.data.Dataset.from_tensor_slices(data).batch(64), epochs=1, verbose=0)
    assert np.isfinite(hist.history["loss"][0])


@pytest.mark.parametrize("variant", VARIANTS)
def test_sine_cate_prototypes_are_category_centroids(variant):
    cat = np.array([0] + [1] * 10 + [2] * 10 + [3] * 9 + [0], np.int32)  # item 30: none
    info = DatasetInfo(name="toy", num_users=10, num_items=30, max_len=8, item_category=cat)
    cfg = default_model_config(variant)
    cfg.update({"use_category_prototypes": True, "num_interests": 2, "hidden_units": 8})
    items = ItemTower(30, 8)
    tower = build_tower(items, info, cfg)
    out = tower({"history": _cluster_data(4)["history"]})
    assert out.shape == (4, 1, 8) and tower.num_prototypes == 3
    table = items.all_items().numpy()
    want = np.stack([table[1:11].mean(0), table[11:21].mean(0), table[21:30].mean(0)])
    np.testing.assert_allclose(tower.prototype_matrix().numpy(), want, rtol=1e-5, atol=1e-6)
    d = tower.details({"history": _cluster_data(4)["history"]})
    assert d["prototype_scores"].shape == (4, 3)


def test_build_tower_from_default_configs():
    info = DatasetInfo(name="toy", num_users=10, num_items=30, max_len=20)
    paper, official = default_model_config("paper"), default_model_config("official")
    assert (paper.num_interests, paper.num_prototypes, paper.reg_weight, paper.tau) == (
        4, 50, 0.5, 0.1)
    assert (official.num_interests, official.num_prototypes, official.reg_weight,
            official.hidden_units, official.assignment_temperature) == (2, 10, 0.0, 512, 0.07)
    for cfg in (paper, official):
        cfg.embedding_dim = 8
        tower = build_tower(ItemTower(30, 8), info, cfg)
        hist = np.zeros((2, 20), np.int32)
        hist[:, -3:] = [[1, 2, 3], [4, 5, 6]]
        assert tower({"history": hist}).shape == (2, 1, 8)
        assert tower.variant == cfg.variant
        assert tower.attend.hidden_units == (None if cfg.variant == "paper" else 512)
