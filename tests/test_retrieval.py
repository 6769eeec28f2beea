"""Tests of mirec.retrieval: merging, brute force, ScaNN (exact and approximate), export."""

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)

# isort: split
import numpy as np
import pytest
import tensorflow as tf

from mirec.retrieval import (
    BruteForceIndex,
    ScaNNIndex,
    export_retrieval_model,
    load_retrieval_model,
    merge_multi_interest,
    merge_multi_interest_tf,
    recall_vs_exact,
)

NEG_INF = -np.inf


def numpy_reference(items, queries, k, exclude=None):
    """Exact top-k by max over interests; row i of ``items`` is item id i (0 = padding)."""
    scores = np.einsum("bkd,md->bkm", queries.astype(np.float64), items).max(axis=1)
    scores[:, 0] = NEG_INF
    if exclude is not None:
        for u, seen in enumerate(exclude):
            scores[u, np.asarray(seen, dtype=np.int64)] = NEG_INF
    ids = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(scores, ids, axis=1)
    return top, np.where(np.isneginf(top), -1, ids)


def naive_merge(ids, scores, k, exclude=None):
    """Loop reference for merge_multi_interest."""
    out_s, out_i = [], []
    for u in range(ids.shape[0]):
        best = {}
        banned = set() if exclude is None else set(np.asarray(exclude[u]).tolist())
        for j in range(ids.shape[1]):
            i, s = int(ids[u, j]), float(scores[u, j])
            if i <= 0 or i in banned or s == NEG_INF:
                continue
            if i not in best or s > best[i][0]:
                best[i] = (s, j)
        ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[1][1]))[:k]
        ranked += [(-1, (NEG_INF, 0))] * (k - len(ranked))
        out_i.append([i for i, _ in ranked])
        out_s.append([s for _, (s, _) in ranked])
    return np.array(out_s), np.array(out_i)


# --------------------------------------------------------------------------------------------
# Merging
# --------------------------------------------------------------------------------------------


def test_merge_hand_example():
    # Two users, K = 2 interests with 3 results each, k = 4.
    ids = np.array(
        [
            [5, 3, 0, 3, 8, 2],  # interest A: 5, 3, 0(pad) | interest B: 3, 8, 2
            [4, 4, 6, 6, 7, 1],  # interest A: 4, 4, 6      | interest B: 6, 7, 1
        ]
    )
    scores = np.array(
        [
            [0.9, 0.7, 0.65, 0.8, 0.6, 0.5],
            [0.3, 0.3, 0.2, 0.25, -0.1, -0.5],
        ],
        dtype=np.float32,
    )
    exclude = [[8], []]
    top_s, top_i = merge_multi_interest(ids, scores, k=4, exclude=exclude)
    # user 0: 5 (0.9); 3 keeps its best 0.8 (not 0.7); 0 is padding; 8 is excluded; 2 (0.5);
    #         only three items remain -> pad with -1 / -inf.
    # user 1: 4 (0.3, duplicate dropped); 6 keeps 0.25 (not 0.2); 7 (-0.1); 1 (-0.5).
    np.testing.assert_array_equal(top_i, [[5, 3, 2, -1], [4, 6, 7, 1]])
    np.testing.assert_allclose(top_s[0, :3], [0.9, 0.8, 0.5], atol=1e-6)
    assert top_s[0, 3] == NEG_INF
    np.testing.assert_allclose(top_s[1], [0.3, 0.25, -0.1, -0.5], atol=1e-6)
    assert top_i.dtype == np.int64

    # Without exclusion, 8 (0.6) comes back; the TF merge gives the same result.
    expected_i = [[5, 3, 8, 2], [4, 6, 7, 1]]
    np.testing.assert_array_equal(merge_multi_interest(ids, scores, k=4)[1], expected_i)
    tf_s, tf_i = merge_multi_interest_tf(tf.constant(ids), tf.constant(scores), k=4)
    np.testing.assert_array_equal(tf_i.numpy(), expected_i)
    np.testing.assert_allclose(
        tf_s.numpy(), [[0.9, 0.8, 0.6, 0.5], [0.3, 0.25, -0.1, -0.5]], atol=1e-6
    )
    # k larger than the pooled width pads in both versions.
    _, wide = merge_multi_interest_tf(tf.constant(ids), tf.constant(scores), k=8)
    np.testing.assert_array_equal(wide.numpy()[0], [5, 3, 8, 2, -1, -1, -1, -1])
    np.testing.assert_array_equal(merge_multi_interest(ids, scores, k=8)[1], wide.numpy())


def test_merge_random_against_loop_reference_numpy_and_tf():
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 15, size=(64, 24))
    scores = rng.integers(-5, 5, size=(64, 24)).astype(np.float32)  # many exact ties
    scores[rng.random(scores.shape) < 0.05] = NEG_INF
    exclude = [rng.choice(15, size=rng.integers(0, 4), replace=False) for _ in range(64)]
    ref_s, ref_i = naive_merge(ids, scores, 10, exclude)
    got_s, got_i = merge_multi_interest(ids, scores, 10, exclude=exclude)
    np.testing.assert_array_equal(got_i, ref_i)
    np.testing.assert_array_equal(got_s, ref_s)
    ref_s, ref_i = naive_merge(ids, scores, 10)
    tf_s, tf_i = merge_multi_interest_tf(ids, scores, 10)
    np.testing.assert_array_equal(tf_i.numpy(), ref_i)
    np.testing.assert_array_equal(tf_s.numpy(), ref_s)


# --------------------------------------------------------------------------------------------
# Brute force
# --------------------------------------------------------------------------------------------


def test_brute_force_matches_numpy_reference_with_exclusion():
    rng = np.random.default_rng(2)
    items = rng.normal(size=(501, 16)).astype(np.float32)  # ids 1..500, row 0 padding
    items[0] = 100.0  # a padding row that would win every query if it were scored
    queries = rng.normal(size=(37, 3, 16)).astype(np.float32)
    exclude = [
        rng.choice(np.arange(1, 501), size=rng.integers(0, 40), replace=False) for _ in range(37)
    ]
    index = BruteForceIndex(items)
    for ex in (None, exclude):
        got_s, got_i = index.search(queries, 20, exclude=ex, batch_size=8)
        ref_s, ref_i = numpy_reference(items, queries, 20, ex)
        np.testing.assert_array_equal(got_i, ref_i)
        np.testing.assert_allclose(got_s, ref_s, rtol=1e-5, atol=1e-5)
    assert not np.isin(0, got_i)
    for u, seen in enumerate(exclude):
        assert not np.isin(got_i[u], seen).any()

    # Explicit ids (rows shuffled) give the same answer; [B, D] queries mean K = 1.
    perm = rng.permutation(np.arange(1, 501))
    shuffled = BruteForceIndex(items[perm], ids=perm)
    np.testing.assert_array_equal(
        shuffled.search(queries, 20, exclude=exclude)[1],
        numpy_reference(items, queries, 20, exclude)[1],
    )
    np.testing.assert_array_equal(
        index.search(queries[:, 0], 5)[1], numpy_reference(items, queries[:, :1], 5)[1]
    )


def test_brute_force_pads_when_k_exceeds_catalogue():
    items = np.eye(4, dtype=np.float32)  # ids 1..3
    q = np.array([[[0.0, 3.0, 2.0, 1.0]]], dtype=np.float32)
    scores, ids = BruteForceIndex(items).search(q, 5, exclude=[[2]])
    # scores: id1 3, id2 2 (excluded), id3 1 -> [1, 3, -1, -1, -1]
    np.testing.assert_array_equal(ids, [[1, 3, -1, -1, -1]])
    np.testing.assert_allclose(scores[0, :2], [3.0, 1.0])
    assert np.isneginf(scores[0, 2:]).all()


# --------------------------------------------------------------------------------------------
# ScaNN
# --------------------------------------------------------------------------------------------


def test_scann_exact_equals_brute_force():
    rng = np.random.default_rng(3)
    items = rng.normal(size=(2001, 32)).astype(np.float32)
    queries = rng.normal(size=(50, 4, 32)).astype(np.float32)
    exclude = [
        rng.choice(np.arange(1, 2001), size=rng.integers(0, 30), replace=False) for _ in range(50)
    ]
    exact = ScaNNIndex(items, k=50, exact=True)
    assert exact.config()["num_reordering_candidates"] == 2000
    brute = BruteForceIndex(items)
    for ex in (None, exclude):
        s_scann, i_scann = exact.search(queries, 50, exclude=ex, batch_size=16)
        s_brute, i_brute = brute.search(queries, 50, exclude=ex)
        np.testing.assert_array_equal(i_scann, i_brute)
        np.testing.assert_allclose(s_scann, s_brute, rtol=1e-5, atol=1e-4)
    # Small candidate budgets split the (exclusion-sorted) users into more batches.
    s_small, i_small = exact.search(queries, 50, exclude=exclude, max_candidates=2000)
    np.testing.assert_array_equal(i_small, i_brute)
    np.testing.assert_allclose(s_small, s_brute, rtol=1e-5, atol=1e-4)


def test_scann_tiny_catalogue_and_large_requests():
    rng = np.random.default_rng(4)
    tiny = rng.normal(size=(11, 8)).astype(np.float32)  # 10 items: fewer than ScaNN's 16
    q = rng.normal(size=(5, 2, 8)).astype(np.float32)
    index = ScaNNIndex(tiny, k=5, num_leaves=4)  # tiny catalogues are always searched exactly
    assert index.config()["exact"]
    got = index.search(q, 12)[1]
    np.testing.assert_array_equal(got, BruteForceIndex(tiny).search(q, 12)[1])
    assert (got[:, 10:] == -1).all()  # 10 items, k = 12 -> two padding slots
    np.testing.assert_array_equal(np.sort(got[:, :10], axis=1), np.tile(np.arange(1, 11), (5, 1)))

    # More leaves than items is clipped (with a warning) instead of failing inside ScaNN.
    small = rng.normal(size=(51, 8)).astype(np.float32)
    with pytest.warns(UserWarning, match="num_leaves"):
        index = ScaNNIndex(small, k=5, num_leaves=100, num_leaves_to_search=100)
    assert index.config()["num_leaves"] == 50
    np.testing.assert_array_equal(index.search(q, 5)[1], BruteForceIndex(small).search(q, 5)[1])

    # Requests above num_reordering_candidates (here k + exclusions = 10 + 40 > 20) still
    # return k valid, non-excluded ids.
    items = rng.normal(size=(1001, 16)).astype(np.float32)
    queries = rng.normal(size=(20, 2, 16)).astype(np.float32)
    exclude = [rng.choice(np.arange(1, 1001), size=40, replace=False) for _ in range(20)]
    index = ScaNNIndex(
        items, k=10, num_leaves=10, num_leaves_to_search=10, num_reordering_candidates=20
    )
    _, ids = index.search(queries, 10, exclude=exclude)
    _, ref = BruteForceIndex(items).search(queries, 10, exclude=exclude)
    assert (ids > 0).all()
    for u in range(20):
        assert not np.isin(ids[u], exclude[u]).any()
    assert recall_vs_exact(ids, ref) >= 0.9


def test_scann_approximate_recall_at_50():
    # 100,000 random items around 1,000 random centres (unit-variance centres, noise 0.5);
    # users' interest vectors drawn from the same distribution. ScaNN's default configuration
    # here: sqrt(M) = 316 leaves, 32 searched, 200 reordered.
    rng = np.random.default_rng(5)
    dim, num_items, users, k_interests = 64, 100_000, 200, 4
    centres = rng.normal(size=(1000, dim))

    def sample(n):
        return (centres[rng.integers(0, 1000, n)] + 0.5 * rng.normal(size=(n, dim))).astype(
            np.float32
        )

    items = sample(num_items + 1)
    queries = sample(users * k_interests).reshape(users, k_interests, dim)
    _, exact_ids = BruteForceIndex(items).search(queries, 50)
    index = ScaNNIndex(items, k=50)
    assert index.config()["num_leaves"] == 316
    _, approx_ids = index.search(queries, 50)
    assert recall_vs_exact(approx_ids, exact_ids) >= 0.95
    assert (approx_ids > 0).all()


def test_recall_vs_exact_by_hand():
    approx = np.array([[1, 2, 3], [4, 5, 6]])
    exact = np.array([[3, 2, 9], [7, 8, -1]])
    # user 0: {2, 3} of {3, 2, 9} -> 2/3 ; user 1: none of {7, 8} -> 0 ; mean 1/3
    assert recall_vs_exact(approx, exact) == pytest.approx(1 / 3, abs=1e-9)


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------


def _tiny_user_tower(num_items, num_interests, dim):
    history = tf.keras.Input(shape=(6,), dtype=tf.int32, name="history")
    x = tf.keras.layers.Embedding(num_items + 1, 8)(history)
    x = tf.keras.layers.GlobalAveragePooling1D()(x)
    x = tf.keras.layers.Dense(num_interests * dim)(x)
    out = tf.keras.layers.Reshape((num_interests, dim))(x)
    return tf.keras.Model(history, out)


@pytest.mark.parametrize("kind", ["scann", "scann_small_reorder", "brute_force"])
def test_export_and_reload(tmp_path, kind):
    tf.keras.utils.set_random_seed(0)
    num_items, dim = 300, 12
    rng = np.random.default_rng(6)
    items = rng.normal(size=(num_items + 1, dim)).astype(np.float32)
    tower = _tiny_user_tower(num_items, 3, dim)
    history = rng.integers(1, num_items + 1, size=(9, 6)).astype(np.int32)
    queries = tower(history).numpy()
    if kind == "scann":
        index = ScaNNIndex(items, k=10, num_leaves=10, num_leaves_to_search=3)
    elif kind == "scann_small_reorder":  # k = 10 > 5 reordered: the raised pre-reorder path
        index = ScaNNIndex(
            items, k=10, num_leaves=10, num_leaves_to_search=3, num_reordering_candidates=5
        )
    else:
        index = BruteForceIndex(items)
    mem_s, mem_i = index.search(queries, 10)

    signature = {"history": tf.TensorSpec([None, 6], tf.int32)}
    export_retrieval_model(tower, index, tmp_path / "model", signature, k=10)
    loaded = load_retrieval_model(tmp_path / "model")
    out = loaded.serve(history=tf.constant(history))
    np.testing.assert_array_equal(out["ids"].numpy(), mem_i)
    np.testing.assert_allclose(out["scores"].numpy(), mem_s, rtol=1e-5, atol=1e-5)
    sig = loaded.signatures["serving_default"](history=tf.constant(history))
    np.testing.assert_array_equal(sig["ids"].numpy(), mem_i)
