"""Tests of the baseline towers: GRU4Rec, Caser, SASRec, MCPRN, ComiRec-DR and ComiRec-SA."""

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)

# isort: split
import numpy as np
import pytest
import tensorflow as tf

from mirec.data.types import DatasetInfo
from mirec.models import caser, comirec, gru4rec, mcprn, sasrec
from mirec.models.base import MultiInterestModel
from mirec.models.losses import LossConfig
from mirec.towers.item import ItemTower

NUM_ITEMS, NUM_USERS, MAX_LEN, DIM = 30, 7, 6, 8

# name -> (module, config.model, number of interests K)
TOWERS = {
    "gru4rec": (gru4rec, gru4rec.default_model_config(), 1),
    "caser": (caser, caser.default_model_config(), 1),
    "sasrec": (sasrec, sasrec.default_model_config(), 1),
    "mcprn": (mcprn, mcprn.default_model_config(), 3),
    "comirec_dr": (comirec, comirec.default_model_config("dr"), 4),
    "comirec_sa": (comirec, comirec.default_model_config("sa"), 4),
}


def make_tower(name, dim=DIM, num_items=NUM_ITEMS, max_len=MAX_LEN, seed=0, **overrides):
    tf.keras.utils.set_random_seed(seed)
    module, cfg, _ = TOWERS[name]
    cfg = cfg.copy_and_resolve_references()
    cfg.update(overrides)
    info = DatasetInfo(name="tiny", num_users=NUM_USERS, num_items=num_items, max_len=max_len)
    item_tower = ItemTower(num_items, dim, name="item_tower")
    return item_tower, module.build_tower(item_tower, info, cfg)


HISTORY = np.array([
    [0, 0, 0, 0, 0, 0],     # fully padded
    [0, 0, 0, 0, 0, 7],     # one item
    [0, 0, 3, 14, 25, 6],   # partly padded
    [1, 2, 3, 4, 5, 6],     # full
], np.int32)
FEATURES = {"history": tf.constant(HISTORY), "user": tf.constant([0, 1, 2, 3], tf.int32)}


@pytest.mark.parametrize("name", sorted(TOWERS))
def test_output_shape_and_finite(name):
    _, tower = make_tower(name)
    for training in (False, True):
        out = tower(FEATURES, training=training).numpy()
        assert out.shape == (4, TOWERS[name][2], DIM)
        assert np.isfinite(out).all()
    # the interests do depend on the history
    shifted = np.where(HISTORY > 0, HISTORY % NUM_ITEMS + 1, 0)
    other = dict(FEATURES, history=tf.constant(shifted))
    assert not np.allclose(tower(other).numpy()[1:], tower(FEATURES).numpy()[1:], atol=1e-7)


@pytest.mark.parametrize("name", sorted(TOWERS))
def test_padding_embedding_is_ignored(name):
    """Whatever the padding row of the item table holds, the output does not change."""
    item_tower, tower = make_tower(name)
    before = tower(FEATURES).numpy()
    table = item_tower.embedding.embeddings
    table.assign(tf.tensor_scatter_nd_update(table, [[0]], tf.fill((1, DIM), 5.0)))
    np.testing.assert_allclose(tower(FEATURES).numpy(), before, atol=1e-6)


@pytest.mark.parametrize("name", sorted(TOWERS))
def test_output_depends_only_on_real_items(name):
    """The same items with more or less left padding (shorter or longer input) give the same
    interests: nothing is computed from padded positions or absolute indices."""
    _, tower = make_tower(name, max_len=10)
    long = np.concatenate([np.zeros((4, 4), np.int32), HISTORY], axis=1)  # width 10
    short = HISTORY[:, 2:]  # width 4, drops only padding of rows 0-2 ...
    keep = [0, 1, 2]  # ... row 3 is full, so it is only compared between widths 6 and 10
    out6 = tower(FEATURES).numpy()
    out10 = tower(dict(FEATURES, history=tf.constant(long))).numpy()
    out4 = tower(dict(FEATURES, history=tf.constant(short))).numpy()
    np.testing.assert_allclose(out10, out6, atol=1e-5)
    np.testing.assert_allclose(out4[keep], out6[keep], atol=1e-5)


def test_sasrec_attention_mask():
    mask = tf.constant([[False, False, True, True]])
    m = sasrec.causal_padding_mask(mask).numpy()[0].astype(int)
    expected = np.array([[1, 0, 0, 0],   # padded query: itself only
                         [0, 1, 0, 0],   # padded query: itself only
                         [0, 0, 1, 0],   # first real item: itself
                         [0, 0, 1, 1]])  # never a padded key, never a future key
    np.testing.assert_array_equal(m, expected)


def test_sasrec_is_causal():
    """Position t's output does not change when items after t change."""
    _, tower = make_tower("sasrec")
    a = np.array([[0, 0, 3, 14, 25, 6]], np.int32)
    b = np.array([[0, 0, 3, 14, 9, 11]], np.int32)
    out_a = tower.sequence_outputs({"history": tf.constant(a)}).numpy()
    out_b = tower.sequence_outputs({"history": tf.constant(b)}).numpy()
    np.testing.assert_allclose(out_a[:, :4], out_b[:, :4], atol=1e-6)
    assert not np.allclose(out_a[:, 4:], out_b[:, 4:])
    # the user vector is the last position's output
    np.testing.assert_allclose(tower({"history": tf.constant(a)}).numpy()[:, 0], out_a[:, -1],
                               atol=1e-6)


def test_mcprn_purpose_weights_sum_to_one():
    _, tower = make_tower("mcprn")
    w = tower.purpose_weights(FEATURES).numpy()
    assert w.shape == (4, MAX_LEN, 3)
    assert (w >= 0).all()
    np.testing.assert_allclose(w.sum(-1), (HISTORY > 0).astype(np.float32), atol=1e-5)


def test_psru_channel_with_zero_purpose_weight_keeps_its_state():
    k, d = 3, 4
    cell = mcprn.PSRUCell(k, d)
    rng = np.random.default_rng(0)
    h = rng.normal(size=(2, k * d)).astype(np.float32)
    x = rng.normal(size=(2, k * 3 * d)).astype(np.float32)
    m = np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]], np.float32)
    out, _ = cell(tf.constant(np.concatenate([x, m], 1)), [tf.constant(h)])
    out, h = out.numpy().reshape(2, k, d), h.reshape(2, k, d)
    np.testing.assert_allclose(out[0, 1:], h[0, 1:])  # untouched channels
    np.testing.assert_allclose(out[1, 0], h[1, 0])
    assert not np.allclose(out[0, 0], h[0, 0]) and not np.allclose(out[1, 1:], h[1, 1:])


def test_build_tower_picks_comirec_variant():
    info = DatasetInfo(name="tiny", num_users=NUM_USERS, num_items=NUM_ITEMS, max_len=MAX_LEN)
    cfg = comirec.default_model_config("sa")
    del cfg["variant"]
    tower = comirec.build_tower(ItemTower(NUM_ITEMS, DIM), info, cfg)
    assert isinstance(tower, comirec.ComiRecSATower)
    with pytest.raises(ValueError):
        comirec.default_model_config("xx")


def cluster_data(n=2000, seed=0):
    """30 items in 10 clusters of 3 (ids 1-3, 4-6, ...): history and target from one cluster."""
    rng = np.random.default_rng(seed)
    cluster = rng.integers(0, 10, n)
    items = 1 + 3 * cluster[:, None] + rng.integers(0, 3, (n, MAX_LEN + 1))
    lengths = rng.integers(1, MAX_LEN + 1, n)
    hist = np.where(np.arange(MAX_LEN)[None] >= MAX_LEN - lengths[:, None], items[:, :-1], 0)
    return {"history": hist.astype(np.int32), "target": items[:, -1].astype(np.int32),
            "user": (cluster % NUM_USERS).astype(np.int32)}


def next_item_data(n=2000, seed=0):
    """Deterministic successor rule: history s, s+1, ..., target the next id (cyclic)."""
    rng = np.random.default_rng(seed)
    start = rng.integers(0, NUM_ITEMS, n)
    lengths = rng.integers(1, MAX_LEN + 1, n)
    pos = np.arange(MAX_LEN)[None] - (MAX_LEN - lengths[:, None])  # 0 at the first real item
    hist = np.where(pos >= 0, (start[:, None] + pos) % NUM_ITEMS + 1, 0)
    target = (start + lengths) % NUM_ITEMS + 1
    return {"history": hist.astype(np.int32), "target": target.astype(np.int32),
            "user": rng.integers(0, NUM_USERS, n).astype(np.int32)}


READOUTS = {name: TOWERS[name][0].default_loss_overrides() for name in TOWERS}


@pytest.mark.parametrize("name", sorted(TOWERS))
def test_training_reduces_loss(name):
    data = next_item_data() if name in ("gru4rec", "sasrec", "caser") else cluster_data()
    item_tower, tower = make_tower(name, dim=16)
    loss = LossConfig(kind="sampled_softmax", num_negatives=5, **READOUTS[name])
    model = MultiInterestModel(item_tower, tower, loss=loss)
    model.compile(optimizer=tf.keras.optimizers.Adam(0.005))
    ds = tf.data.Dataset.from_tensor_slices(data).shuffle(2000, seed=0).batch(64)
    hist = model.fit(ds, epochs=5, verbose=0).history["loss"]
    assert np.isfinite(hist).all()
    assert hist[-1] < 0.8 * hist[0], hist


def test_mind_routing_is_random_in_training_and_fixed_at_inference():
    from mirec.layers.capsule import BehaviorToInterestRouting

    layer = BehaviorToInterestRouting(3, init_stddev=1.0)
    x = tf.random.normal((4, 6, 8), seed=1)
    a, b = layer(x, training=False), layer(x, training=False)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    c, d = layer(x, training=True), layer(x, training=True)
    assert not np.allclose(c.numpy(), d.numpy())
