"""Preprocessing, protocols and training-sample tests on hand-made sequences."""

import numpy as np
import pandas as pd
import pytest

from mirec.data import pipeline, preprocess, protocols
from mirec.data.errors import DataFormatError


def _df(rows):
    return pd.DataFrame(rows, columns=["user", "item", "timestamp", "rating"])


def test_to_sequences_orders_by_time_with_stable_ties_and_frequency_ids():
    # user 7: items 'b'(t=2) 'a'(t=1) 'c'(t=2, after b in the file)  -> a, b, c
    # user 3: items 'a'(t=5) 'a'(t=9)
    df = _df([(7, "b", 2, 5), (7, "a", 1, 4), (3, "a", 9, 3), (7, "c", 2, 1), (3, "a", 5, 2)])
    seqs = preprocess.to_sequences(df, item_order="frequency")
    assert list(seqs.user_ids) == [3, 7]
    # 'a' appears 3 times -> id 1; then 'b' (seen first among the rest in sorted order) -> 2
    assert list(seqs.item_ids[1:]) == ["a", "b", "c"]
    assert seqs.sequence(0).tolist() == [1, 1]
    assert seqs.sequence(1).tolist() == [1, 2, 3]
    assert seqs.splits.tolist() == [0, 2, 5]


def test_kcore_iterates_to_a_fixed_point():
    # item x has 2 users, item y 1; user 2 only has y.  With item_k=2, user_k=2:
    # pass 1 drops y -> user 2 has 0, user 1 has x only (1 row) -> user 1 dropped, then x has 1.
    df = _df([(1, "x", 1, 5), (2, "y", 1, 5), (3, "x", 1, 5), (3, "z", 2, 5), (4, "z", 1, 5)])
    out = preprocess.kcore(df, user_k=2, item_k=2)
    assert len(out) == 0
    one_pass = preprocess.kcore(df, user_k=2, item_k=2, iterate=False)
    assert sorted(one_pass["user"].unique().tolist()) == [3]


def test_filter_ratings_refuses_unknown_ratings_by_default():
    df = _df([(1, 1, 1, 5.0), (1, 2, 2, np.nan), (1, 3, 3, 2.0)])
    with pytest.raises(DataFormatError, match="unknown rating"):
        preprocess.filter_ratings(df, 4)
    assert preprocess.filter_ratings(df, 4, unknown="drop")["item"].tolist() == [1]
    assert preprocess.filter_ratings(df, 4, unknown="keep")["item"].tolist() == [1, 2]


def _seqs(lists):
    items = np.concatenate([np.asarray(s, np.int32) for s in lists])
    splits = np.concatenate([[0], np.cumsum([len(s) for s in lists])]).astype(np.int64)
    return preprocess.Sequences(items, splits, np.arange(len(lists)),
                                np.arange(int(items.max()) + 1).astype(object))


def test_leave_one_out_targets_histories_and_seen_items():
    seqs = _seqs([[5, 6, 7, 8, 9], [1, 2, 3], [4, 4]])
    split = protocols.leave_one_out(seqs, max_len=3)
    # users 0 and 1 evaluated; user 2 (2 items) is training-only and counted
    assert split.valid.users.tolist() == [0, 1]
    assert split.stats["users_train_only"] == 1
    assert split.valid.targets[0].tolist() == [8, 2]
    assert split.test.targets[0].tolist() == [9, 3]
    # valid input = everything before the valid item (last 3, left padded)
    assert split.valid.history.tolist() == [[5, 6, 7], [0, 0, 1]]
    # test input includes the validation item
    assert split.test.history.tolist() == [[6, 7, 8], [0, 1, 2]]
    tv, ts = split.test.seen
    assert tv[ts[0]:ts[1]].tolist() == [5, 6, 7, 8]
    # training sequences: all but the last 2 (user 2 keeps everything)
    items, splits, users = split.train
    assert [items[splits[i]:splits[i + 1]].tolist() for i in range(3)] == [[5, 6, 7], [1], [4, 4]]


def test_strong_generalization_splits_users_and_cuts_history_at_90_percent():
    seqs = _seqs([list(range(1, 21))] * 10)
    split = protocols.strong_generalization(seqs, max_len=5, fractions=(0.8, 0.1, 0.1),
                                            history_fraction=0.9, seed=3)
    users = set(split.train[2].tolist()) | set(split.valid.users) | set(split.test.users)
    assert users == set(range(10))
    assert len(split.train[2]) == 8 and len(split.valid) == 1 and len(split.test) == 1
    assert not set(split.valid.users) & set(split.train[2].tolist())
    # 20 items: 18 history, 2 targets
    assert split.test.history.tolist() == [[14, 15, 16, 17, 18]]
    assert split.test.targets[0].tolist() == [19, 20]
    again = protocols.strong_generalization(seqs, 5, seed=3)
    assert again.test.users.tolist() == split.test.users.tolist()


def test_chronological_split_per_user_and_global_with_negatives():
    seqs = _seqs([list(range(1, 11)), list(range(11, 21))])
    seqs.timestamps = np.concatenate([np.arange(10), np.arange(10) + 100])
    per_user = protocols.chronological_split(seqs, max_len=4, mode="per_user",
                                             num_negatives=5, seed=0)
    # 10 items per user: positions 0-6 train, 7 valid, 8-9 test
    assert per_user.valid.targets[0].tolist() == [8, 18]
    assert per_user.test.targets[0].tolist() == [9, 10, 19, 20]
    c = per_user.test.candidates
    assert c.shape == (4, 6) and c[:, 0].tolist() == [9, 10, 19, 20]
    # negatives never an item of the user
    assert not np.isin(c[:2, 1:], np.arange(1, 11)).any()
    assert not np.isin(c[2:, 1:], np.arange(11, 21)).any()
    glob = protocols.chronological_split(seqs, max_len=4, mode="global", num_negatives=3)
    # global time order: user 0's 10 items first, then user 1's: 14 train, 2 valid, 4 test
    assert glob.valid.targets[0].tolist() == [15, 16]
    assert glob.test.targets[0].tolist() == [17, 18, 19, 20]
    assert glob.test.history[0].tolist() == [13, 14, 15, 16]


def test_sliding_window_samples():
    items = np.array([1, 2, 3, 4, 7, 8], np.int32)
    splits = np.array([0, 4, 6])
    s = pipeline.sliding_window_samples(items, splits, np.array([10, 11]), max_len=2)
    assert s["target"].tolist() == [2, 3, 4, 8]
    assert s["history"].tolist() == [[0, 1], [1, 2], [2, 3], [0, 7]]
    assert s["user"].tolist() == [10, 10, 10, 11]


def test_train_dataset_is_deterministic_and_samples_valid_negatives():
    n = 50
    samples = {"history": np.arange(n * 2, dtype=np.int32).reshape(n, 2),
               "target": np.arange(1, n + 1, dtype=np.int32)}
    a = [b["target"].numpy().tolist() for b in pipeline.train_dataset(samples, 8, seed=4)]
    b = [b["target"].numpy().tolist() for b in pipeline.train_dataset(samples, 8, seed=4)]
    assert a == b and sorted(sum(a, [])) == list(range(1, n + 1))
    probs = np.zeros(11)
    probs[3] = 1.0  # all popularity mass on item 3
    ds = pipeline.train_dataset(samples, 8, negatives=4, num_items=10, item_probs=probs)
    negs = np.concatenate([x["negatives"].numpy() for x in ds])
    assert negs.shape == (n, 4) and (negs == 3).all()
    ds = pipeline.train_dataset(samples, 8, negatives=4, num_items=10)
    negs = np.concatenate([x["negatives"].numpy() for x in ds])
    assert negs.min() >= 1 and negs.max() <= 10


def test_random_target_samples_one_per_user():
    items = np.array([1, 2, 3, 4, 7, 8, 9], np.int32)
    s = pipeline.random_target_samples(items, np.array([0, 4, 5, 7]), np.array([0, 1, 2]), 3,
                                       np.random.default_rng(0))
    assert s["user"].tolist() == [0, 2]  # user 1 has a single item
    for h, t in zip(s["history"], s["target"]):
        h = h[h > 0].tolist()
        seq = [1, 2, 3, 4] if t <= 4 else [8, 9]
        assert h == seq[:seq.index(t)][-3:] and len(h) >= 1


def test_fresh_random_targets_change_every_epoch_and_are_valid():
    # users: [1 2 3 4 5 6], [7] (too short), [8 9]
    items = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9], np.int32)
    splits = np.array([0, 6, 7, 9])
    ds = pipeline.fresh_random_target_dataset(
        items, splits, np.array([10, 11, 12]), 3, batch_size=4, targets_per_user=50, seed=0,
        user_features={"gender": np.array([0] * 10 + [1, 2, 3])})
    assert ds.cardinality().numpy() == 25  # 2 eligible users x 50 / 4
    epochs = []
    for _ in range(2):
        rows = [{k: v.numpy() for k, v in b.items()} for b in ds]
        batch = {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
        assert len(batch["target"]) == 100
        assert sorted(set(batch["user"].tolist())) == [10, 12]
        assert (batch["gender"] == np.where(batch["user"] == 10, 1, 3)).all()
        for u, h, t in zip(batch["user"], batch["history"], batch["target"]):
            seq = [1, 2, 3, 4, 5, 6] if u == 10 else [8, 9]
            assert t in seq[1:]  # at least one history item
            i = seq.index(t)
            want = seq[max(0, i - 3):i]
            assert h.tolist() == [0] * (3 - len(want)) + want
        epochs.append(batch["target"][batch["user"] == 10])
    # every target of user 10 is drawn in each epoch, and the draws differ between epochs
    assert set(np.concatenate(epochs).tolist()) == {2, 3, 4, 5, 6}
    assert not np.array_equal(np.sort(epochs[0]), np.sort(epochs[1]))


def test_corrupt_profiles_replaces_the_given_fraction_with_valid_values():
    from mirec.data.prepare import corrupt_profiles

    tables = {"gender": np.ones(10000, np.int32), "age": np.full(10000, 3, np.int32)}
    out = corrupt_profiles(tables, {"gender": 3, "age": 8}, 0.1, seed=0)
    # a replaced value may equal the old one by chance: gender 1 of 2 values, age 1 of 7
    changed = (out["gender"] != 1).mean()
    assert 0.1 * 0.5 - 0.015 < changed < 0.1 * 0.5 + 0.015
    assert 0.1 * 6 / 7 - 0.015 < (out["age"] != 3).mean() < 0.1 * 6 / 7 + 0.015
    assert out["age"].min() >= 1 and out["age"].max() <= 7
    assert (tables["gender"] == 1).all()  # input untouched
