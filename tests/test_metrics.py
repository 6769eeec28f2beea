"""Hand-computed checks of mirec.metrics (every expected value is worked out in a comment)."""

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)

# isort: split
import math

import numpy as np
import pytest
import tensorflow as tf

from mirec import metrics as M

LOG2_3 = math.log2(3)  # 1.584962500721156; 1 / log2(3) = 0.6309297535714575


# --------------------------------------------------------------------------------------------
# Ragged inputs
# --------------------------------------------------------------------------------------------


def test_to_row_splits_formats_agree():
    expected_values = np.array([3, 5, 9, 7])
    expected_splits = np.array([0, 3, 3, 4])
    forms = [
        [np.array([3, 5, 9]), np.array([], dtype=np.int64), [7]],
        (np.array([3, 5, 9, 7]), np.array([0, 3, 3, 4])),
        tf.ragged.constant([[3, 5, 9], [], [7]], dtype=tf.int64),
        np.array([[3, 5, 9], [-1, -1, -1], [7, -1, -1]]),  # negative = padding
    ]
    for form in forms:
        values, splits = M.to_row_splits(form)
        np.testing.assert_array_equal(values, expected_values)
        np.testing.assert_array_equal(splits, expected_splits)
    # A 1-D array means one id per user.
    values, splits = M.to_row_splits(np.array([4, 8]))
    np.testing.assert_array_equal(values, [4, 8])
    np.testing.assert_array_equal(splits, [0, 1, 2])


def test_to_row_splits_rejects_bad_splits():
    with pytest.raises(ValueError):
        M.to_row_splits((np.array([1, 2, 3]), np.array([0, 2])))  # does not end at 3
    with pytest.raises(ValueError):
        M.to_row_splits((np.array([1, 2]), np.array([0, 2, 1, 2])))  # decreasing


# --------------------------------------------------------------------------------------------
# Full ranking, one target per user
# --------------------------------------------------------------------------------------------

SINGLE_TOPK = np.array(
    [
        [7, 1, 2, 3, 4],  # target 7 at rank 1
        [1, 2, 7, 3, 4],  # target 7 at rank 3
        [1, 2, 3, 4, 5],  # miss
    ]
)
SINGLE_TARGETS = np.array([7, 7, 7])


def test_single_target_rank_1_rank_3_and_miss():
    res = M.full_ranking_metrics(SINGLE_TOPK, SINGLE_TARGETS, cutoffs=(2, 5))
    # HR@2: only user 0 (rank 1 <= 2)                 -> (1 + 0 + 0) / 3
    assert res["HR@2"] == pytest.approx(1 / 3, abs=1e-6)
    # HR@5: users 0 and 1                              -> (1 + 1 + 0) / 3
    assert res["HR@5"] == pytest.approx(2 / 3, abs=1e-6)
    # One target: Recall = HR.
    assert res["Recall@2"] == pytest.approx(1 / 3, abs=1e-6)
    assert res["Recall@5"] == pytest.approx(2 / 3, abs=1e-6)
    # Precision@2 = (1/2 + 0 + 0) / 3 = 1/6; Precision@5 = (1/5 + 1/5 + 0) / 3 = 2/15
    assert res["Precision@2"] == pytest.approx(1 / 6, abs=1e-6)
    assert res["Precision@5"] == pytest.approx(2 / 15, abs=1e-6)
    # NDCG@5 = (1/log2(2) + 1/log2(4) + 0) / 3 = (1 + 0.5) / 3 = 0.5 ; NDCG@2 = (1 + 0 + 0) / 3
    assert res["NDCG@5"] == pytest.approx(0.5, abs=1e-6)
    assert res["NDCG@2"] == pytest.approx(1 / 3, abs=1e-6)
    # MRR@5 = (1/1 + 1/3 + 0) / 3 = 4/9 ; MRR@2 = (1 + 0 + 0) / 3
    assert res["MRR@5"] == pytest.approx(4 / 9, abs=1e-6)
    assert res["MRR@2"] == pytest.approx(1 / 3, abs=1e-6)


def test_per_user_values_and_zero_for_users_without_hit():
    summary, per = M.full_ranking_metrics(
        SINGLE_TOPK, SINGLE_TARGETS, cutoffs=(5,), metrics=("hr", "ndcg", "mrr"), per_user=True
    )
    assert set(summary) == {"HR@5", "NDCG@5", "MRR@5"}
    np.testing.assert_allclose(per["HR@5"], [1, 1, 0], atol=1e-6)
    np.testing.assert_allclose(per["NDCG@5"], [1, 0.5, 0], atol=1e-6)  # 1/log2(2), 1/log2(4)
    np.testing.assert_allclose(per["MRR@5"], [1, 1 / 3, 0], atol=1e-6)
    assert summary["NDCG@5"] == pytest.approx(per["NDCG@5"].mean(), abs=1e-12)


# --------------------------------------------------------------------------------------------
# Full ranking, several targets per user
# --------------------------------------------------------------------------------------------


def test_multi_target_two_of_three_found():
    topk = np.array([[5, 1, 9, 2, 4]])
    targets = [np.array([3, 5, 9])]  # 5 at rank 1, 9 at rank 3, 3 missing
    res = M.full_ranking_metrics(topk, targets, cutoffs=(2, 5))
    # @5: hits = 2, |T| = 3
    assert res["HR@5"] == pytest.approx(1.0, abs=1e-6)
    assert res["Recall@5"] == pytest.approx(2 / 3, abs=1e-6)  # UMI HitRate
    assert res["Precision@5"] == pytest.approx(2 / 5, abs=1e-6)
    # DCG@5 = 1/log2(2) + 1/log2(4) = 1.5 ; IDCG over min(3, 5) = 3 slots
    #       = 1 + 1/log2(3) + 1/log2(4) = 2.1309297535714575 -> 0.7039180890341348
    assert res["NDCG@5"] == pytest.approx(1.5 / 2.1309297535714575, abs=1e-6)
    assert res["NDCG@5"] == pytest.approx(0.7039180890341348, abs=1e-6)
    assert res["MRR@5"] == pytest.approx(1.0, abs=1e-6)
    # @2: only 5 found -> recall 1/3, precision 1/2,
    # NDCG@2 = 1 / (1 + 1/log2(3)) = 1 / 1.6309297535714575 = 0.6131471927654584
    assert res["Recall@2"] == pytest.approx(1 / 3, abs=1e-6)
    assert res["Precision@2"] == pytest.approx(0.5, abs=1e-6)
    assert res["NDCG@2"] == pytest.approx(0.6131471927654584, abs=1e-6)

    # ComiRec-style IDCG over the number of hits (2): 1.5 / (1 + 1/log2 3) = 0.9197207891481876
    res_hits = M.full_ranking_metrics(topk, targets, cutoffs=(5,), ndcg_idcg="hits")
    assert res_hits["NDCG@5"] == pytest.approx(0.9197207891481876, abs=1e-6)


def test_umi_metric_names():
    topk = np.array([[5, 1, 9, 2, 4], [6, 8, 1, 2, 3]])
    targets = (np.array([3, 5, 9, 7]), np.array([0, 3, 4]))  # user 0 {3,5,9}, user 1 {7}
    res = M.umi_metrics(topk, targets, cutoffs=(5,))
    # HitRate@5 = (2/3 + 0/1) / 2 = 1/3 ; Precision@5 = (2/5 + 0) / 2 = 0.2
    assert res == pytest.approx({"HitRate@5": 1 / 3, "Precision@5": 0.2}, abs=1e-6)
    res2 = M.full_ranking_metrics(
        topk, targets, cutoffs=(5,), metrics=("recall",), names={"recall": "HitRate"}
    )
    assert res2 == pytest.approx({"HitRate@5": 1 / 3}, abs=1e-6)


def test_duplicates_in_list_count_once():
    topk = np.array([[5, 5, 9, 5, 1]])
    targets = [[5, 9, 5]]  # duplicate target counts once: T = {5, 9}
    hits = M.hits_matrix(topk, targets)
    # 5 hits at its first occurrence (rank 1) only; 9 at rank 3.
    np.testing.assert_array_equal(hits, [[True, False, True, False, False]])
    res = M.full_ranking_metrics(topk, targets, cutoffs=(2, 5))
    # @2: one distinct hit (the second 5 is a repeat) -> recall 1/2, precision 1/2
    assert res["Recall@2"] == pytest.approx(0.5, abs=1e-6)
    assert res["Precision@2"] == pytest.approx(0.5, abs=1e-6)
    # @5: recall 2/2, precision 2/5,
    # NDCG = (1 + 1/log2(4)) / (1 + 1/log2(3)) = 1.5 / 1.6309297535714575 = 0.9197207891481876
    assert res["Recall@5"] == pytest.approx(1.0, abs=1e-6)
    assert res["Precision@5"] == pytest.approx(0.4, abs=1e-6)
    assert res["NDCG@5"] == pytest.approx(0.9197207891481876, abs=1e-6)


def test_padding_ids_never_hit_and_errors():
    # -1 pads a short list; it must not match a -1 padded target either.
    hits = M.hits_matrix(np.array([[4, -1, -1]]), np.array([[4, -1]]))
    np.testing.assert_array_equal(hits, [[True, False, False]])
    with pytest.raises(ValueError, match="no target"):
        M.full_ranking_metrics(np.array([[1, 2], [3, 4]]), [[1], []], cutoffs=(2,))
    with pytest.raises(ValueError, match="exceeds"):
        M.full_ranking_metrics(np.array([[1, 2]]), [[1]], cutoffs=(3,))
    with pytest.raises(ValueError):
        M.full_ranking_metrics(np.array([[1, 2]]), [[1], [2]], cutoffs=(2,))  # row mismatch


def test_full_ranking_matches_loop_reference_on_random_data():
    rng = np.random.default_rng(3)
    users, width, items = 200, 20, 60
    topk = rng.integers(1, items, size=(users, width))  # contains repeats
    targets = [
        rng.choice(np.arange(1, items), size=rng.integers(1, 6), replace=False)
        for _ in range(users)
    ]
    res, per = M.full_ranking_metrics(topk, targets, cutoffs=(5, 20), per_user=True)
    for n in (5, 20):
        ref = {"hr": [], "recall": [], "ndcg": [], "mrr": []}
        for row, t in zip(topk, targets):
            seen, dcg, first = set(), 0.0, 0.0
            for r, item in enumerate(row[:n], start=1):
                if item in t and item not in seen:
                    dcg += 1 / math.log2(r + 1)
                    first = first or 1 / r
                if item in t:
                    seen.add(item)
            idcg = sum(1 / math.log2(i + 1) for i in range(1, min(len(t), n) + 1))
            ref["hr"].append(float(bool(seen)))
            ref["recall"].append(len(seen) / len(t))
            ref["ndcg"].append(dcg / idcg)
            ref["mrr"].append(first)
        np.testing.assert_allclose(per[f"HR@{n}"], ref["hr"], atol=1e-6)
        np.testing.assert_allclose(per[f"Recall@{n}"], ref["recall"], atol=1e-6)
        np.testing.assert_allclose(per[f"NDCG@{n}"], ref["ndcg"], atol=1e-6)
        np.testing.assert_allclose(per[f"MRR@{n}"], ref["mrr"], atol=1e-6)
        assert res[f"Precision@{n}"] == pytest.approx(
            np.mean(np.array(ref["recall"]) * [len(t) for t in targets]) / n, abs=1e-6
        )


# --------------------------------------------------------------------------------------------
# Sampled ranking (MGNM protocol)
# --------------------------------------------------------------------------------------------

# Positive 0.5; negatives: 0.9 is higher (1), two ties (0.5, 0.5), two lower (0.1, 0.2).
TIED = np.array([[0.5, 0.9, 0.5, 0.5, 0.1, 0.2]])


def test_sampled_ties_pessimistic():
    res = M.sampled_ranking_metrics(TIED, cutoffs=(3, 4), ties="pessimistic")
    # rank = 1 + 1 higher + 2 ties = 4 -> outside @3, inside @4
    assert res["HIT@3"] == pytest.approx(0.0, abs=1e-6)
    assert res["NDCG@3"] == pytest.approx(0.0, abs=1e-6)
    assert res["MRR@3"] == pytest.approx(0.0, abs=1e-6)
    assert res["HIT@4"] == pytest.approx(1.0, abs=1e-6)
    assert res["NDCG@4"] == pytest.approx(1 / math.log2(5), abs=1e-6)  # 0.43067655807339306
    assert res["MRR@4"] == pytest.approx(0.25, abs=1e-6)
    # AUC = (2 lower + 0.5 * 2 ties) / 5 negatives = 3/5 ; one user -> GAUC = 0.6
    assert res["GAUC"] == pytest.approx(0.6, abs=1e-6)


def test_sampled_ties_optimistic():
    res = M.sampled_ranking_metrics(TIED, cutoffs=(3,), ties="optimistic")
    # rank = 1 + 1 higher + 0 = 2: NDCG = 1/log2(3) = 0.6309297535714575, MRR = 1/2
    assert res["HIT@3"] == pytest.approx(1.0, abs=1e-6)
    assert res["NDCG@3"] == pytest.approx(0.6309297535714575, abs=1e-6)
    assert res["MRR@3"] == pytest.approx(0.5, abs=1e-6)
    assert res["GAUC"] == pytest.approx(0.6, abs=1e-6)  # ties always count 1/2 in AUC


def test_sampled_ties_average():
    res = M.sampled_ranking_metrics(TIED, cutoffs=(3,), ties="average")
    # rank = 1 + 1 higher + 2/2 = 3: NDCG = 1/log2(4) = 0.5, MRR = 1/3
    assert res["HIT@3"] == pytest.approx(1.0, abs=1e-6)
    assert res["NDCG@3"] == pytest.approx(0.5, abs=1e-6)
    assert res["MRR@3"] == pytest.approx(1 / 3, abs=1e-6)


def test_gauc_two_users_with_different_candidate_counts():
    # user 0: positive 0.8 vs negatives 0.3, 0.9, 0.1 -> 2 of 3 pairs won, AUC 2/3, 4 candidates
    # user 1: positive 0.4 vs negative 0.2 (two padded slots) -> AUC 1, 2 candidates
    # GAUC = (4 * 2/3 + 2 * 1) / (4 + 2) = (8/3 + 2) / 6 = 14/18 = 7/9 = 0.7777777777777778
    scores = np.array([[0.8, 0.3, 0.9, 0.1], [0.4, 0.2, 0.0, 0.0]])
    mask = np.array([[True, True, True, True], [True, True, False, False]])
    res, per = M.sampled_ranking_metrics(scores, cutoffs=(1, 2), mask=mask, per_user=True)
    assert res["GAUC"] == pytest.approx(7 / 9, abs=1e-6)
    np.testing.assert_allclose(per["AUC"], [2 / 3, 1.0], atol=1e-6)
    # ranks: user 0 -> 2 (0.9 is higher), user 1 -> 1 (padding ignored)
    # HIT@1 = (0 + 1)/2 ; NDCG@2 = (1/log2(3) + 1)/2 = 0.8154648767857288 ; MRR@2 = (1/2+1)/2
    assert res["HIT@1"] == pytest.approx(0.5, abs=1e-6)
    assert res["NDCG@2"] == pytest.approx(0.8154648767857288, abs=1e-6)
    assert res["MRR@2"] == pytest.approx(0.75, abs=1e-6)

    # Same numbers from the general form; group 7 has only a positive and is skipped.
    flat_scores = [0.8, 0.3, 0.9, 0.1, 0.4, 0.2, 0.99]
    labels = [1, 0, 0, 0, 1, 0, 1]
    groups = [0, 0, 0, 0, 1, 1, 7]
    value, gids, aucs, weights = M.gauc(flat_scores, labels, groups, return_per_group=True)
    assert value == pytest.approx(7 / 9, abs=1e-6)
    np.testing.assert_array_equal(gids, [0, 1])
    np.testing.assert_allclose(aucs, [2 / 3, 1.0], atol=1e-6)
    np.testing.assert_allclose(weights, [4, 2], atol=1e-6)


def test_gauc_ties_and_several_positives():
    # positive 0.5 vs negatives 0.5 (tie, 1/2) and 0.1 (win, 1): AUC = 1.5 / 2 = 0.75
    assert M.gauc([0.5, 0.5, 0.1], [1, 0, 0], [3, 3, 3]) == pytest.approx(0.75, abs=1e-6)
    # two positives 0.7, 0.2 vs negatives 0.6, 0.1: pairs won 0.7>0.6, 0.7>0.1, 0.2>0.1 = 3/4
    assert M.gauc([0.2, 0.6, 0.7, 0.1], [1, 0, 1, 0], [0, 0, 0, 0]) == pytest.approx(0.75, abs=1e-6)


def test_gauc_agrees_with_sampled_matrix_on_random_data():
    rng = np.random.default_rng(0)
    scores = np.round(rng.normal(size=(50, 11)), 1)  # rounding creates ties
    res = M.sampled_ranking_metrics(scores, cutoffs=(5,))
    groups = np.repeat(np.arange(50), 11)
    labels = np.tile(np.r_[1, np.zeros(10)], 50)
    assert M.gauc(scores.ravel(), labels, groups) == pytest.approx(res["GAUC"], abs=1e-9)


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------


def test_paired_t_test_and_mean_std():
    # differences 1, 1, 2: mean 4/3, sample sd sqrt(1/3), se = sqrt(1/3)/sqrt(3) = 1/3 -> t = 4
    # two-sided p with 2 df: 1 - t / sqrt(2 + t^2) = 1 - 4 / sqrt(18) = 0.05719095841793653
    t, p = M.paired_t_test([1, 2, 3], [0, 1, 1])
    assert t == pytest.approx(4.0, abs=1e-6)
    assert p == pytest.approx(0.05719095841793653, abs=1e-6)
    # mean 2.5; sample std sqrt((2.25 + 0.25 + 0.25 + 2.25) / 3) = sqrt(5/3) = 1.2909944487358056
    mean, std = M.mean_std([1, 2, 3, 4])
    assert mean == pytest.approx(2.5, abs=1e-6)
    assert std == pytest.approx(1.2909944487358056, abs=1e-6)


def test_normalized_mutual_info_by_hand():
    from mirec.metrics import normalized_mutual_info

    # identical partitions (relabelled) -> 1; independent 2x2 balanced -> 0
    assert normalized_mutual_info([0, 0, 1, 1], [5, 5, 7, 7]) == pytest.approx(1.0)
    assert normalized_mutual_info([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(0.0, abs=1e-12)
    # A = [0,0,0,1], B = [0,0,1,1]: p(0,0)=1/2, p(0,1)=1/4, p(1,1)=1/4
    # I = 1/2 ln((1/2)/(3/4*1/2)) + 1/4 ln((1/4)/(3/4*1/2)) + 1/4 ln((1/4)/(1/4*1/2))
    mi = 0.5 * np.log(4 / 3) + 0.25 * np.log(2 / 3) + 0.25 * np.log(2)
    ha = -(0.75 * np.log(0.75) + 0.25 * np.log(0.25))
    hb = np.log(2)
    assert normalized_mutual_info([0, 0, 0, 1], [0, 0, 1, 1]) == pytest.approx(
        mi / ((ha + hb) / 2), rel=1e-12)
