import numpy as np

import mirec  # noqa: F401
import tensorflow as tf

from mirec.data import text
from mirec.data.errors import DataFormatError
from mirec.layers.moe import MoEAdaptor


def test_moe_matches_hand_computation():
    layer = MoEAdaptor(3, num_experts=2)
    t = np.array([[1.0, -2.0]], np.float32)
    layer.build((None, 2))
    rng = np.random.default_rng(0)
    b = rng.normal(size=(2, 2)).astype(np.float32)
    w = rng.normal(size=(2, 2, 3)).astype(np.float32)
    wg = rng.normal(size=(2, 2)).astype(np.float32)
    bg = np.array([0.1, -0.3], np.float32)
    layer.set_weights([b, w, wg, bg])
    logits = t[0] @ wg + bg
    g = np.exp(logits) / np.exp(logits).sum()
    want = sum(g[k] * ((t[0] - b[k]) @ w[k]) for k in range(2))
    np.testing.assert_allclose(layer(t).numpy()[0], want, rtol=1e-5, atol=1e-6)


def test_moe_matmul_form_equals_the_einsum_definition_with_gradients():
    """call() applies the experts as one (N, F) x (F, G*d) matmul (the einsum's gradient
    needed an (N, G, F, d) tensor); outputs and gradients must equal the einsum form."""
    layer = MoEAdaptor(5, num_experts=3)
    t = tf.constant(np.random.default_rng(0).normal(size=(2, 4, 6)), tf.float32)
    layer.build((None, 6))
    rng = np.random.default_rng(1)
    layer.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in layer.weights])

    def einsum_form(x):
        experts = tf.einsum("...f,gfd->...gd", x, layer.experts) - \
            tf.einsum("gf,gfd->gd", layer.centres, layer.experts)
        return tf.reduce_sum(layer.gates(x)[..., None] * experts, -2)

    results = []
    for fn in (layer, einsum_form):
        with tf.GradientTape() as tape:
            out = fn(t)
            loss = tf.reduce_sum(out ** 2)
        results.append((out.numpy(), tape.gradient(loss, layer.trainable_weights)))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5, atol=1e-5)
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_moe_shapes_config_and_noise():
    layer = MoEAdaptor(4, num_experts=3, dropout=0.1, noisy_gating=True)
    x = tf.random.normal((2, 5, 6))
    assert layer(x).shape == (2, 5, 4)
    assert layer(x, training=True).shape == (2, 5, 4)
    clone = MoEAdaptor.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    g = layer.gates(x).numpy()
    np.testing.assert_allclose(g.sum(-1), 1.0, rtol=1e-6)


def test_text_features_file_round_trip(tmp_path):
    path = text.save_item_text_features(tmp_path / "f.npz", ["b", "a", "c"],
                                        np.arange(6, dtype=np.float32).reshape(3, 2))
    out = text.load_item_text_features(path, [None, "a", "c"])
    np.testing.assert_array_equal(out, [[0, 0], [2, 3], [4, 5]])
    try:
        text.load_item_text_features(path, [None, "a", "zz"])
    except DataFormatError as e:
        assert "1 of 2 missing" in str(e) and "zz" in str(e)
    else:
        raise AssertionError("a missing item must raise")
