"""Tests of MIRACLE's layers (mirec.layers.miracle), model (mirec.models.miracle) and configs
(experiments/configs/miracle/miracle.py)."""

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)

# isort: split
import numpy as np
import pytest
import tensorflow as tf

from experiments.configs.miracle import miracle as miracle_config
from mirec.data.types import DatasetInfo
from mirec.layers.miracle import (ContextualEncoder, InterestRouting, PositionAttention,
                                  SparseCapsuleActivation, activation_counts, compact_interests,
                                  fill_inactive)
from mirec.models import registry
from mirec.models.miracle import (MiracleModel, TextItemTower, balance_loss,
                                  base_vector_contrast, build_model, interest_contrast,
                                  mask_items)

registry.register("miracle", "mirec.models.miracle")

B, N, D, C, L = 3, 5, 4, 3, 6  # batch, history, width, capsules, max_len


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _squash(z):
    sq = (z ** 2).sum(-1, keepdims=True)
    return sq / (1.0 + sq) * z / np.sqrt(sq + 1e-9)


def _layer_norm(x, eps=1e-12):
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps)


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    mask = np.ones((B, N), bool)
    mask[0, :2] = False  # left padding
    mask[2, :4] = False
    h = rng.normal(size=(B, N, D)).astype(np.float32) * mask[..., None]
    weights = rng.uniform(0.1, 1.0, size=(B, N)).astype(np.float32) * mask
    activated = np.array([[True, False, True], [True, True, True], [False, True, False]])
    return {"h": h, "mask": mask, "weights": weights, "activated": activated,
            "logits": rng.normal(size=(B, N, C)).astype(np.float32)}


# Each case: (layer factory, input names, call, expected output shapes); inference mode, so
# every layer is deterministic.
CASES = {
    "encoder": (lambda: ContextualEncoder(L, D, num_layers=2, num_heads=2, inner_dim=8),
                ("h", "mask"), lambda layer, h, m: layer(h, mask=m), [(B, N, D)]),
    "activation": (lambda: SparseCapsuleActivation(C), ("h", "mask"),
                   lambda layer, h, m: layer(h, mask=m), [(B, N, C), (B, N), (B, C)]),
    "position_paper": (lambda: PositionAttention(L, variant="paper"), ("h", "mask"),
                       lambda layer, h, m: layer(h, mask=m), [(B, N)]),
    "position_official": (lambda: PositionAttention(L, variant="official"), ("h", "mask"),
                          lambda layer, h, m: layer(h, mask=m), [(B, N)]),
    "routing": (lambda: InterestRouting(C, iterations=3, variant="paper"),
                ("h", "weights", "mask", "activated", "logits"),
                lambda layer, h, o, m, a, s: layer(h, o, mask=m, activated=a, initial_logits=s),
                [(B, C, D)]),
}


def _as_list(out):
    return [np.asarray(o) for o in (out if isinstance(out, (tuple, list)) else [out])]


def _model(layer, names, call, data):
    ins = [tf.keras.Input(shape=data[n].shape[1:], dtype=tf.as_dtype(data[n].dtype), name=n)
           for n in names]
    return tf.keras.Model(ins, call(layer, *ins))


@pytest.mark.parametrize("name", list(CASES))
def test_layer_shapes_predict_config_and_save(name, tmp_path):
    make, names, call, shapes = CASES[name]
    data = _inputs()
    feed = [data[n] for n in names]
    layer = make()
    eager = _as_list(call(layer, *[tf.constant(x) for x in feed]))
    assert [o.shape for o in eager] == shapes
    assert all(np.isfinite(o.astype(np.float64)).all() for o in eager)
    model = _model(layer, names, call, data)
    for a, b in zip(_as_list(model.predict(feed, verbose=0)), eager):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    model2 = _model(clone, names, call, data)
    model2.set_weights(model.get_weights())
    for a, b in zip(_as_list(model2(feed)), eager):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    for a, b in zip(_as_list(loaded.predict(feed, verbose=0)), eager):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- hand-computed maths


def test_activation_mask_three_items_three_capsules():
    layer = SparseCapsuleActivation(3)
    h = np.array([[[0.0, 5.0, 0.0],    # padding: would activate capsule 1, must not count
                   [1.0, 0.2, 0.0],    # -> capsule 0
                   [0.1, 0.0, 2.0]]],  # -> capsule 2
                 np.float32)
    mask = np.array([[False, True, True]])
    layer(h, mask=mask)
    layer.base_vectors.assign(np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32) * 2.0)
    s, top, act = layer(h, mask=mask)
    np.testing.assert_allclose(s.numpy()[0], 2.0 * h[0], rtol=1e-6)  # s_ij = h_i . a_j
    assert top.numpy().tolist() == [[1, 0, 2]]
    assert act.numpy().tolist() == [[True, False, True]]
    counts = activation_counts(top, mask, 3).numpy()
    assert counts.tolist() == [[1.0, 0.0, 1.0]]


@pytest.mark.parametrize("noise", ["paper", "official"])
def test_activation_noise_has_the_stated_scale(noise):
    tf.random.set_seed(0)
    layer = SparseCapsuleActivation(2, noise=noise, noise_scale=0.2, noise_epsilon=0.01)
    h = np.tile(np.array([[[1.0, 0.0]]], np.float32), (20000, 1, 1))
    layer(h)
    layer.base_vectors.assign([[2.0, 0.0], [-1.0, 0.0]])  # s = [2, -1]
    s_clean = layer(h)[0].numpy()
    assert np.allclose(s_clean, [2.0, -1.0])  # no noise at inference
    s = layer(h, training=True)[0].numpy().reshape(-1, 2)
    want_std = {"paper": [0.4, 0.2], "official": [0.41, 0.19]}[noise]  # |0.2 s (+ 0.01)|
    np.testing.assert_allclose(s.mean(0), [2.0, -1.0], atol=0.02)
    np.testing.assert_allclose(s.std(0), want_std, rtol=0.03)


def _position_reference(h, mask, pos, w3, b3, w4, b4, variant):
    n = h.shape[1]
    out = np.zeros(mask.shape)
    for u in range(h.shape[0]):
        logits = np.full(n, -np.inf)
        for i in range(n):
            if not mask[u, i]:
                continue
            r = n - 1 - i  # recency index
            z = (h[u, i] + pos[r]) @ w3 + b3
            if variant == "paper":
                logits[i] = np.tanh(z) @ w4[:, r] + b4[r]
            else:
                logits[i] = np.where(z > 0, z, 0.01 * z) @ w4[:, 0] + b4[0]
        out[u] = np.where(mask[u], np.exp(logits - logits.max()), 0.0)
        out[u] /= out[u].sum()
    return out


@pytest.mark.parametrize("variant", ["paper", "official"])
def test_position_attention_matches_eq9(variant):
    data = _inputs(1)
    layer = PositionAttention(L, variant=variant)
    h, mask = data["h"] + 3.0 * (~data["mask"])[..., None], data["mask"]  # garbage in padding
    layer(h, mask=mask)
    rng = np.random.default_rng(3)
    for w in layer.weights:
        w.assign(rng.normal(size=w.shape).astype(np.float32))
    got = layer(h, mask=mask).numpy()
    want = _position_reference(h, mask, layer.positions.numpy(), layer.w3.numpy(),
                               layer.b3.numpy(), layer.w4.numpy(), layer.b4.numpy(), variant)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got.sum(1), 1.0, rtol=1e-6)


def _routing_reference(h, o, mask, act, s, w5, b5, iterations, agree_q):
    """Eq. 10-14 with explicit loops over users, items and capsules."""
    q = _layer_norm(np.tanh(h @ w5 + b5) + h)
    out = np.zeros((h.shape[0], s.shape[2], h.shape[2]))
    for u in range(h.shape[0]):
        items = [i for i in range(h.shape[1]) if mask[u, i]]
        caps = [j for j in range(s.shape[2]) if act[u, j]]
        b = {(i, j): s[u, i, j] for i in items for j in caps}
        for it in range(iterations):
            v = {}
            for j in range(s.shape[2]):
                z = np.zeros(h.shape[2])
                if j in caps:
                    for i in items:
                        c = np.exp(b[i, j]) / sum(np.exp(b[i, k]) for k in caps)
                        z += c * o[u, i] * q[u, i]
                v[j] = _squash(z) if j in caps else z
            for i in items:
                for j in caps:
                    b[i, j] += (q[u, i] if agree_q else h[u, i]) @ v[j]
        out[u] = np.stack([v[j] for j in range(s.shape[2])])
    return out


@pytest.mark.parametrize("iterations,variant", [(1, "paper"), (2, "paper"), (3, "official")])
def test_routing_matches_eq10_to_14(iterations, variant):
    data = _inputs(2)
    h, mask, act = data["h"], data["mask"], data["activated"]
    layer = InterestRouting(C, iterations=iterations, variant=variant)
    layer(h, data["weights"], mask=mask, activated=act, initial_logits=data["logits"])
    rng = np.random.default_rng(4)
    layer.w5.assign(rng.normal(size=(D, D)).astype(np.float32))
    layer.b5.assign(rng.normal(size=(D,)).astype(np.float32))
    garbage = h + 4.0 * (~mask)[..., None]  # padded rows must not matter
    u, c = layer(garbage, data["weights"], mask=mask, activated=act,
                 initial_logits=data["logits"], return_coupling=True)
    want = _routing_reference(h, data["weights"], mask, act, data["logits"], layer.w5.numpy(),
                              layer.b5.numpy(), iterations, variant == "official")
    np.testing.assert_allclose(u.numpy(), want, rtol=1e-4, atol=1e-6)
    c = c.numpy()
    assert np.all(c[~mask] == 0.0)
    assert np.all(c[np.broadcast_to(~act[:, None, :], c.shape)] < 1e-12)  # masked capsules
    np.testing.assert_allclose(c.sum(-1)[mask], 1.0, rtol=1e-6)


def test_routing_one_iteration_by_hand():
    # One item, one activated capsule of two: c = [1, 0], q = LN(tanh(0) + h) with W5 = 0,
    # h = [3, 1] -> q = [1, -1]; z_0 = o q = 0.5 [1, -1]; |z|^2 = 0.5 -> u_0 = 1/3 z / |z|.
    layer = InterestRouting(2, iterations=1)
    h = np.array([[[3.0, 1.0]]], np.float32)
    layer(h, np.ones((1, 1), np.float32))
    layer.w5.assign(np.zeros((2, 2), np.float32))
    u = layer(h, np.array([[0.5]], np.float32), activated=np.array([[True, False]]),
              initial_logits=np.array([[[0.0, 50.0]]], np.float32)).numpy()
    z = np.array([0.5, -0.5])
    np.testing.assert_allclose(u[0, 0], 0.5 / 1.5 * z / np.sqrt(0.5), rtol=1e-5)
    np.testing.assert_allclose(u[0, 1], 0.0, atol=1e-12)


def test_contextual_encoder_is_bidirectional_padding_free_and_counts_from_the_end():
    tf.random.set_seed(1)
    enc = ContextualEncoder(L, D, num_layers=2, num_heads=2, inner_dim=8)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(1, 4, D)).astype(np.float32)
    mask = np.array([[False, False, True, True]])
    out = enc(x, mask=mask).numpy()
    x2 = x.copy()
    x2[0, :2] = 9.0  # other padding content
    np.testing.assert_allclose(enc(x2, mask=mask).numpy(), out, rtol=1e-5, atol=1e-6)
    assert np.all(out[0, :2] == 0.0)
    short = enc(x[:, 2:], mask=mask[:, 2:]).numpy()  # same items without padding
    np.testing.assert_allclose(short, out[:, 2:], rtol=1e-5, atol=1e-6)
    x3 = x.copy()
    x3[0, 3] = rng.normal(size=D)
    # changing the LAST item changes the earlier item's output (no causal mask; a causal
    # encoder would give exactly the same output)
    assert np.abs(enc(x3, mask=mask).numpy()[0, 2] - out[0, 2]).max() > 1e-5


def test_copy_of_top_interest_preserves_max_over_activated():
    rng = np.random.default_rng(6)
    caps = rng.normal(size=(4, 5, 3)).astype(np.float32)
    act = rng.random((4, 5)) < 0.4
    act[:, 0] |= ~act.any(1)  # at least one activated capsule per user
    act[3] = [False, False, True, False, False]
    counts = (rng.integers(1, 4, size=(4, 5)) * act).astype(np.float32)
    filled = fill_inactive(caps, act, counts).numpy()
    # non-activated slots hold the most-activated interest; activated ones are untouched
    for u in range(4):
        top = int(np.argmax(counts[u]))
        assert act[u, top]
        for j in range(5):
            np.testing.assert_array_equal(filled[u, j], caps[u, j] if act[u, j] else caps[u, top])
    items = rng.normal(size=(7, 3)).astype(np.float32)
    want = np.stack([(caps[u][act[u]] @ items.T).max(0) for u in range(4)])
    np.testing.assert_allclose((filled @ items.T).max(1), want, rtol=1e-6)
    compact = compact_interests(filled, act).numpy()
    assert compact.shape == (4, act.sum(1).max(), 3)
    np.testing.assert_allclose((compact @ items.T).max(1), want, rtol=1e-6)


def test_balance_loss_matches_numpy():
    rng = np.random.default_rng(7)
    s = rng.normal(size=(2, 4, 3)).astype(np.float32)
    valid = np.array([[True, True, False, True], [False, True, True, True]])
    got = balance_loss(s, valid, scale=3.0).numpy()
    sv = s[valid]
    w = _softmax(sv).mean(0)
    r = np.bincount(sv.argmax(1), minlength=3) / len(sv)
    np.testing.assert_allclose(got, 3.0 * (w * r).sum(), rtol=1e-6)
    # all items on one capsule with certainty -> C * 1 * 1 = C (the worst case)
    peaked = np.tile([[50.0, 0.0, 0.0]], (6, 1)).astype(np.float32)
    np.testing.assert_allclose(balance_loss(peaked, np.ones(6, bool), 3.0).numpy(), 3.0,
                               rtol=1e-6)


def test_base_vector_contrast_matches_numpy():
    a = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, -2.0]], np.float32)
    an = a / np.linalg.norm(a, axis=1, keepdims=True)
    logits = an @ an.T / 0.1
    want = np.mean([-np.log(_softmax(logits[j])[j]) for j in range(3)])
    np.testing.assert_allclose(base_vector_contrast(a, 0.1).numpy(), want, rtol=1e-5)


def test_interest_contrast_matches_numpy():
    rng = np.random.default_rng(8)
    u = rng.normal(size=(2, 3, 4)).astype(np.float32)
    u_aug = rng.normal(size=(2, 3, 4)).astype(np.float32)
    masked = np.array([[False, True, False, True], [True, False, False, False]])
    argmax = np.array([[0, 2, 1, 1], [0, 0, 0, 0]], np.int32)
    got = interest_contrast(u, u_aug, masked, argmax).numpy()
    anchors = np.stack([u[0, 2], u[0, 1], u[1, 0]])
    positives = np.stack([u_aug[0, 2], u_aug[0, 1], u_aug[1, 0]])
    logits = anchors @ positives.T
    want = np.mean([-np.log(_softmax(logits[m])[m]) for m in range(3)])
    np.testing.assert_allclose(got, want, rtol=1e-5)
    none = interest_contrast(u, u_aug, np.zeros((2, 4), bool), argmax).numpy()
    assert none == 0.0


def test_mask_items_rules():
    tf.random.set_seed(2)
    mask = np.ones((4000, 6), bool)
    mask[:2000, :3] = False  # 3 real items: official never masks these sequences
    paper = mask_items(mask, 0.2).numpy()
    assert not paper[~mask].any()
    assert abs(paper[mask].mean() - 0.2) < 0.01
    assert paper[:, -1].any()
    official = mask_items(mask, 0.2, official=True).numpy()
    assert not official[:, -1].any() and not official[:2000].any()
    assert abs(official[2000:, :-1].mean() - 0.2) < 0.01


# ---------------------------------------------------------------- the model

M, F = 30, 6


def _config(**model):
    cfg = miracle_config.get_config("synthetic")
    cfg.model.embedding_dim = 8
    cfg.model.inner_dim = 8
    cfg.model.num_capsules = 4
    cfg.model.update(model)
    return cfg


def _info(seed=0):
    rng = np.random.default_rng(seed)
    table = np.vstack([np.zeros((1, F)), rng.normal(size=(M, F))]).astype(np.float32)
    return DatasetInfo("t", 10, M, 5, item_text_features=table)


def _features(seed=0, batch=6):
    rng = np.random.default_rng(seed)
    hist = rng.integers(1, M + 1, size=(batch, 5)).astype(np.int32)
    hist[0, :3] = 0
    hist[1, :1] = 0
    return {"history": hist, "target": rng.integers(1, M + 1, size=batch).astype(np.int32),
            "user": np.arange(batch, dtype=np.int32)}


def _balance(s, scale):
    c = s.shape[1]
    return scale * (_softmax(s).mean(0) * np.bincount(s.argmax(1), minlength=c) / len(s)).sum()


@pytest.mark.parametrize("variant", ["paper", "official"])
def test_model_outputs_copies_and_fine_tune_loss_matches_numpy(variant):
    tf.random.set_seed(0)
    model = build_model(_config(variant=variant), _info())
    assert isinstance(model, MiracleModel) and model.item_tower.ids_enabled is False
    f = _features()
    interests = model(f).numpy()
    assert interests.shape == (6, 4, 8)
    emb, mask = model.user_tower.embed_history(f)
    out = model.user_tower.forward(emb, mask)
    caps, act = out["capsules"].numpy(), out["activated"].numpy()
    np.testing.assert_allclose(out["interests"].numpy(), interests, rtol=1e-6)
    items = model.item_embeddings().numpy()
    assert items.shape == (M + 1, 8)
    for u in range(6):
        np.testing.assert_allclose((interests[u] @ items[1:].T).max(0),
                                   (caps[u][act[u]] @ items[1:].T).max(0), rtol=1e-5)
    # Eq. 23-24 at inference: full softmax + 10 balance + 0.01 base-vector contrast, the
    # balance being C w.r over the history items (paper) or w.r over the history items plus
    # w.r over all items (official)
    logits = np.stack([(caps[u][act[u]] @ items[1:].T).max(0) for u in range(6)])
    ce = np.mean([-np.log(_softmax(logits[u])[f["target"][u] - 1]) for u in range(6)])
    s = out["scores"].numpy()[mask.numpy()]
    base_vectors = model.user_tower.activation.base_vectors.numpy()
    if variant == "paper":
        bal = _balance(s, 4)
    else:
        # (item scores from the layer itself: a numpy matmul could break a near-tie argmax
        # differently)
        item_scores = model.user_tower.activation.similarity(items[1:]).numpy()
        np.testing.assert_allclose(item_scores, items[1:] @ base_vectors.T, rtol=1e-4,
                                   atol=1e-7)
        bal = _balance(s, 1) + _balance(item_scores, 1)
    base = base_vector_contrast(base_vectors, 0.1).numpy()
    want = ce + 10.0 * bal + 0.01 * base
    np.testing.assert_allclose(model.compute_loss(f, training=False).numpy(), want, rtol=1e-5)


def test_item_tower_text_ids_and_swap():
    info = _info()
    tower = TextItemTower(info.item_text_features, 8, num_experts=2, use_id_embedding=True,
                          ids_enabled=False)
    ids = tf.constant([[1, 2, 1], [3, 0, 2]])  # repeated ids: the adaptor runs per distinct id
    text = tower(ids).numpy()
    np.testing.assert_allclose(text, tower.adaptor(tf.gather(info.item_text_features, ids)),
                               rtol=1e-5, atol=1e-7)
    tower.ids_enabled = True
    with_ids = tower(ids).numpy()
    np.testing.assert_allclose(with_ids - text, tf.gather(tower.id_embeddings, ids), rtol=1e-5,
                               atol=1e-6)
    assert tower.all_items().shape == (M + 1, 8)
    with pytest.raises(ValueError, match="another size"):
        tower.set_item_text_features(np.zeros((5, F), np.float32))
    tower.ids_enabled = False
    tower.set_item_text_features(np.ones((5, F), np.float32))
    np.testing.assert_allclose(tower.text_embeddings([4]), tower.adaptor(np.ones((1, F))),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="text table"):
        tower.set_item_text_features(np.ones((5, F + 1), np.float32))


@pytest.mark.parametrize("variant", ["paper", "official"])
def test_pretrain_loss_terms_and_finish_pretraining(variant):
    tf.random.set_seed(0)
    model = build_model(_config(variant=variant), _info())
    f = _features(1, batch=8)
    model(f)
    with tf.GradientTape() as tape:
        terms = model.pretrain_losses(f, training=True)
    w = model.loss_weights
    np.testing.assert_allclose(
        terms["total"].numpy(), terms["rec"].numpy() + w["balance"] * terms["balance"].numpy()
        + w["base"] * terms["base"].numpy() + w["interest"] * terms["interest"].numpy(),
        rtol=1e-5)
    assert 0 < terms["rec"].numpy() and 0 < terms["balance"].numpy()
    grads = tape.gradient(terms["total"], {"ids": model.item_tower.id_embeddings,
                                           "mask": model.user_tower.mask_embedding,
                                           "base": model.user_tower.activation.base_vectors})
    assert grads["ids"] is None  # pre-training is text only
    assert grads["base"] is not None
    # official: [MASK] is never trained; paper: it is (if anything was masked)
    assert (grads["mask"] is None) == (variant == "official")
    before = model.item_embeddings().numpy()
    n_trainable = len(model.trainable_variables)
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3))  # as mirec.train does before
    model.finish_pretraining()
    enc = model.user_tower.encoder
    assert not enc.positions.trainable and not any(b.trainable for b in enc.blocks)
    assert enc.input_norm.trainable == (variant == "official")
    # positions, 2 x 16 Transformer variables, paper: input LayerNorm and [MASK] (official:
    # [MASK] is frozen from the start)
    frozen = 1 + 2 * 16 + (3 if variant == "paper" else 0)
    assert len(model.trainable_variables) == n_trainable - frozen
    after = model.item_embeddings().numpy()  # transductive: ID embeddings now added
    assert np.abs(after - before).max() > 1e-4
    # Keras' fit restores the compile-time `trainable` flags: the frozen state must be the
    # compiled one, so one fit step leaves the encoder untouched.
    frozen_vars = [v for v in enc.weights if variant == "paper" or "input_norm" not in v.name]
    frozen_values = [v.numpy() for v in frozen_vars]
    other = model.user_tower.routing.w5.numpy()
    model.fit(tf.data.Dataset.from_tensors(f), epochs=1, verbose=0)
    for v, old in zip(frozen_vars, frozen_values):
        np.testing.assert_array_equal(v.numpy(), old)
    assert np.abs(model.user_tower.routing.w5.numpy() - other).max() > 0


def test_inductive_model_has_no_id_table_and_checkpoint_round_trip(tmp_path):
    model = build_model(_config(mode="inductive"), _info())
    f = _features()
    out = model(f).numpy()
    assert not any("item_id_embedding" in v.name for v in model.variables)
    path = tf.train.Checkpoint(model=model).save(str(tmp_path / "ck"))
    clone = build_model(_config(mode="inductive"), _info())
    clone(f)
    tf.train.Checkpoint(model=clone).restore(path).assert_consumed()
    np.testing.assert_allclose(clone(f).numpy(), out, rtol=1e-6)


def test_user_tower_exports_as_a_retrieval_saved_model(tmp_path):
    from mirec.retrieval import BruteForceIndex, export_retrieval_model, load_retrieval_model

    model = build_model(_config(), _info())
    f = _features()
    model(f)
    model.finish_pretraining()  # transductive: ID embeddings on, also in the export
    items = model.item_embeddings().numpy()
    index = BruteForceIndex(items)
    want_s, want_i = index.search(model(f).numpy(), 5)
    signature = {"history": tf.TensorSpec([None, 5], tf.int32)}
    export_retrieval_model(model.user_tower, index, str(tmp_path / "export"), signature, k=5)
    loaded = load_retrieval_model(str(tmp_path / "export"))
    out = loaded.serve(history=tf.constant(f["history"]))
    np.testing.assert_array_equal(out["ids"].numpy(), want_i)
    np.testing.assert_allclose(out["scores"].numpy(), want_s, rtol=1e-5, atol=1e-6)


def test_build_model_needs_text_features():
    info = _info()
    info.item_text_features = None
    with pytest.raises(ValueError, match="text_features"):
        build_model(_config(), info)


# ---------------------------------------------------------------- configs


def test_configs_flags_and_paper_numbers():
    c = miracle_config.get_config("scientific")
    assert c.model.name == "miracle" and c.model.embedding_dim == 300
    assert (c.model.num_layers, c.model.num_capsules, c.model.num_experts) == (2, 32, 8)
    assert c.model.mode == "transductive" and c.model.variant == "paper"
    assert c.pretrain.enabled and tuple(c.pretrain.datasets) == ("self",)
    assert (c.pretrain.batch_size, c.pretrain.learning_rate) == (2048, 1e-3)
    assert c.dataset.text_features == "amazon-scientific/Scientific.minilm.npz"
    assert dict(c.paper) == {"Recall@10": 0.1343, "Recall@50": 0.2562, "NDCG@10": 0.0722,
                             "NDCG@50": 0.0988}
    t3 = miracle_config.get_config("scientific,layers=3")
    assert t3.model.num_layers == 3 and t3.paper_table == "miracle_table3"
    assert dict(t3.paper) == {"Recall@10": 0.1262, "NDCG@10": 0.0687}
    t4 = miracle_config.get_config("scientific,capsules=16")
    assert t4.model.num_capsules == 16 and t4.paper["Recall@10"] == 0.1329
    zs = miracle_config.get_config("scientific,zero_shot")
    assert zs.train.epochs == 0 and zs.model.mode == "inductive" and zs.pretrain.enabled
    off = miracle_config.get_config("scientific,official,inductive")
    assert off.model.variant == "official" and off.model.noisy_gating
    assert off.pretrain.optimizer == "adamw" and off.pretrain.clipnorm == 1.0
    assert off.model.mode == "inductive" and dict(off.paper) == {}
    assert not miracle_config.get_config("scientific,no_pretrain").pretrain.enabled
    with pytest.raises(ValueError, match="unknown"):
        miracle_config.get_config("scientific,bogus")
    with pytest.raises(ValueError, match="unknown"):
        miracle_config.get_config("scientific,heads=2")
