"""Loss and readout tests with values computed by hand in NumPy."""

import numpy as np
import pytest
import tensorflow as tf

from mirec.models import losses
from mirec.models.losses import LossConfig


def _np_logsumexp(x):
    m = x.max(-1, keepdims=True)
    return (m + np.log(np.exp(x - m).sum(-1, keepdims=True)))[..., 0]


INTERESTS = np.array([[[1.0, 0.0], [0.0, 2.0]],
                      [[0.5, 0.5], [-1.0, 0.0]]], np.float32)  # (B=2, K=2, D=2)
TABLE = np.array([[0, 0], [1, 0], [0, 1], [1, 1], [-1, 2]], np.float32)  # ids 0..4


def emb(ids):
    return tf.gather(tf.constant(TABLE), tf.cast(ids, tf.int32))


def test_readouts():
    target = TABLE[[2, 1]]
    # argmax: user 0 target (0,1): sims 0, 2 -> interest 1; user 1 target (1,0): 0.5, -1 -> 0
    u = losses.readout_user_vector(INTERESTS, target, "argmax").numpy()
    np.testing.assert_allclose(u, [[0, 2], [0.5, 0.5]])
    # label-aware p=1: softmax of sims
    u = losses.readout_user_vector(INTERESTS, target, "label_aware", 1.0).numpy()
    w0 = np.exp([0, 2]) / np.exp([0, 2]).sum()
    np.testing.assert_allclose(u[0], w0 @ INTERESTS[0], rtol=1e-6)
    with pytest.raises(ValueError):
        losses.readout_user_vector(INTERESTS, target, "single")


def test_max_readout_lets_each_candidate_pick_its_interest():
    target = TABLE[[2, 1]]
    pos, neg = losses.candidate_logits(INTERESTS, target, TABLE[[3, 4]], "max")
    # user 0: item 3 (1,1): max(1, 2) = 2; item 4 (-1,2): max(-1, 4) = 4
    # user 1: item 3: max(1, -1) = 1; item 4: max(0.5, 1) = 1
    np.testing.assert_allclose(neg.numpy(), [[2, 4], [1, 1]])
    np.testing.assert_allclose(pos.numpy(), [2, 0.5])


def test_full_softmax_matches_numpy():
    cfg = LossConfig(kind="full_softmax", readout="argmax")
    targets = np.array([2, 1])
    loss = losses.retrieval_loss(cfg, INTERESTS, targets, emb, num_items=4).numpy()
    users = np.array([[0, 2], [0.5, 0.5]])
    logits = users @ TABLE[1:].T  # items 1..4
    expected = np.mean(_np_logsumexp(logits) - logits[[0, 1], targets - 1])
    np.testing.assert_allclose(loss, expected, rtol=1e-6)


def test_sampled_softmax_with_given_negatives_matches_numpy():
    cfg = LossConfig(kind="sampled_softmax", readout="argmax", logq_correction=True)
    targets = np.array([2, 1])
    negs = np.array([[3, 2], [4, 3]])  # user 0's second negative is an accidental hit
    loss = losses.retrieval_loss(cfg, INTERESTS, targets, emb, 4, negatives=negs).numpy()
    users = np.array([[0, 2], [0.5, 0.5]])
    # user 0: pos = 2, negs: item 3 -> 2, item 2 masked (accidental hit)
    l0 = np.log(np.exp(2) + np.exp(2)) - 2
    # user 1: pos = 0.5, negs: item 4 -> 0.5, item 3 -> 1.0
    l1 = np.log(np.exp(0.5) + np.exp(0.5) + np.exp(1.0)) - 0.5
    del users
    np.testing.assert_allclose(loss, (l0 + l1) / 2, rtol=1e-5)


def test_log_uniform_sampler_matches_its_expected_counts():
    tf.random.set_seed(0)
    m = 20
    ids = losses.sample_negatives(m, (200000,), "log_uniform").numpy()
    assert ids.min() >= 1 and ids.max() <= m
    freq = np.bincount(ids, minlength=m + 1)[1:] / len(ids)
    r = np.arange(m)
    expected = (np.log(r + 2) - np.log(r + 1)) / np.log(m + 1)
    np.testing.assert_allclose(freq, expected, atol=3e-3)
    logq = losses._log_expected_count(tf.constant([1, 5]), m, "log_uniform", 10).numpy()
    np.testing.assert_allclose(logq, np.log(expected[[0, 4]] * 10), rtol=1e-5)


def test_bpr_and_in_batch():
    targets = np.array([2, 1])
    cfg = LossConfig(kind="bpr", readout="argmax")
    negs = np.array([[3], [4]])
    loss = losses.retrieval_loss(cfg, INTERESTS, targets, emb, 4, negatives=negs).numpy()
    # user 0: pos 2, neg 2 -> -log sigmoid(0); user 1: pos 0.5, neg 0.5 -> -log sigmoid(0)
    np.testing.assert_allclose(loss, np.log(2.0), rtol=1e-6)
    cfg = LossConfig(kind="in_batch", readout="argmax")
    loss = losses.retrieval_loss(cfg, INTERESTS, targets, emb, 4).numpy()
    users = np.array([[0, 2], [0.5, 0.5]])
    logits = users @ TABLE[[2, 1]].T
    expected = np.mean(_np_logsumexp(logits) - np.diag(logits))
    np.testing.assert_allclose(loss, expected, rtol=1e-6)


def test_in_batch_logq_correction_reaches_the_loss_through_the_model():
    from mirec.models.base import MultiInterestModel
    from mirec.towers.item import ItemTower

    class Fixed(tf.keras.layers.Layer):
        def call(self, features, training=None):
            return tf.constant(INTERESTS)

    tower = ItemTower(4, 2)
    tower.build(None)
    tower.embedding.build(None)
    tower.embedding.set_weights([TABLE])
    popularity = np.array([0, 1, 3, 0, 0], np.float64)  # P(1) = 1/4, P(2) = 3/4
    targets = np.array([2, 1])
    cfg = LossConfig(kind="in_batch", readout="argmax", logq_correction=True)
    model = MultiInterestModel(tower, Fixed(), cfg, item_popularity=popularity)
    loss = model.compute_loss({"history": np.zeros((2, 1)), "target": targets}).numpy()
    users = np.array([[0, 2], [0.5, 0.5]])
    logits = users @ TABLE[[2, 1]].T - np.log([0.75, 0.25])[None, :]
    expected = np.mean(_np_logsumexp(logits) - np.diag(logits))
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


def test_tower_regularisers_are_counted_once_in_a_training_step():
    """compute_loss adds extra_loss_weight * the tower's add_loss terms; train_step must not
    add them a second time (tfrs.Model.train_step adds every entry of self.losses)."""
    import numpy as np
    import tensorflow as tf

    from mirec.models.base import MultiInterestModel
    from mirec.models.losses import LossConfig
    from mirec.towers.item import ItemTower

    class Tower(tf.keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(name="w", shape=(1, 4), initializer="ones")

        def call(self, features, training=False):
            self.add_loss(3.0 * tf.reduce_sum(self.w))  # = 12 at w = 1
            b = tf.shape(features["history"])[0]
            return tf.tile(self.w[None], [b, 1, 1])

    items = ItemTower(5, 4, embeddings_initializer="zeros")
    model = MultiInterestModel(items, Tower(), LossConfig(kind="full_softmax"),
                               extra_loss_weight=0.5)
    model.compile(optimizer=tf.keras.optimizers.SGD(0.0))
    batch = {"history": np.array([[1, 2]], np.int32), "target": np.array([3], np.int32)}
    out = model.train_step(batch)
    # zero item embeddings: softmax over 5 items = log 5; regulariser 0.5 * 12 once
    np.testing.assert_allclose(float(out["total_loss"]), np.log(5) + 6.0, rtol=1e-5)
    np.testing.assert_allclose(float(out["regularization_loss"]), 0.0, atol=1e-6)
