"""Tests of mirec.data readers, registry, downloader and command line.

Fixture files are generated in ``tmp_path``; tests marked ``realdata`` read the shared data
folder (``$MIREC_SHARED_DATA``, default ``<repo>/../shared/data``) and skip when it is absent.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import re
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mirec.data import download as dl
from mirec.data import readers, registry
from mirec.data.__main__ import main as cli_main
from mirec.data.errors import DataFormatError, DatasetNotAvailableError
from mirec.data.types import ITEM, RATING, TIMESTAMP, USER

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MIREC_SHARED_DATA", REPO.parent / "shared" / "data"))


def write(path: Path, text: str, encoding: str = "utf-8", compress: bool = False) -> Path:
    data = text.encode(encoding)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def assert_error(exc_info, path: Path, line, *fragments: str) -> None:
    err = exc_info.value
    assert err.path == str(path)
    assert err.line == line
    message = str(err)
    assert str(path) in message
    if line is not None:
        assert f"line {line}:" in message
    for fragment in fragments:
        assert fragment in message, message


# --------------------------------------------------------------------------------------
# MovieLens-1M
# --------------------------------------------------------------------------------------

ML1M_RATINGS = "1::10::5::978300760\n1::20::3::978302109\n2::10::4::978301968\n"
ML1M_USERS = "1::F::1::10::48067\n2::M::56::16::70072\n"
ML1M_MOVIES = "10::Caf\u00e9 (1995)::Comedy|Drama\n20::Heat (1995)::Action\n30::Nothing::\n"


def make_ml1m(folder: Path, ratings: str | None = ML1M_RATINGS) -> Path:
    folder.mkdir(exist_ok=True)
    if ratings is not None:
        write(folder / "ratings.dat", ratings)
    write(folder / "users.dat", ML1M_USERS)
    write(folder / "movies.dat", ML1M_MOVIES, encoding="latin-1")
    return folder


CHRONO_HEADER = "user_id\titem_id\tseq_idx\trating\ttimestamp\tts_lo\tts_hi\trating_ge4\n"
CHRONO_ROWS = (
    "1\t10\t0\t5\t978300760\t\t\t1\n"
    "1\t20\t1\t\t\t978300760\t978302109\t\n"
    "1\t30\t2\t3\t978302109\t\t\t0\n"
    "2\t10\t0\t\t\t\t\t0\n"
)


def test_movielens_1m_ratings_and_features(tmp_path):
    data = readers.read_movielens_1m(make_ml1m(tmp_path / "ml"))
    df = data.interactions
    assert list(df.columns) == [USER, ITEM, TIMESTAMP, RATING]
    assert df[USER].tolist() == [1, 1, 2] and df[ITEM].tolist() == [10, 20, 10]
    assert df[TIMESTAMP].dtype == np.int64 and df[RATING].dtype == np.float64
    assert df[TIMESTAMP].tolist() == [978300760, 978302109, 978301968]
    assert data.user_features.loc[2].to_dict() == {
        "gender": "M", "age": 56, "occupation": 16, "zip": "70072"}
    assert data.item_features.loc[10, "title"] == "Caf\u00e9 (1995)"
    assert data.item_features.loc[10, "genres"] == ["Comedy", "Drama"]
    assert data.item_features.loc[30, "genres"] == []
    assert data.summary() == {"name": "ml-1m", "users": 2, "items": 2, "interactions": 3}


def test_movielens_1m_chrono_reconstruction(tmp_path):
    folder = make_ml1m(tmp_path / "ml", ratings=None)
    write(folder / "interactions_chrono.tsv.gz", CHRONO_HEADER + CHRONO_ROWS, compress=True)
    df = readers.read_movielens_1m(folder).interactions
    assert df[TIMESTAMP].tolist() == [0, 1, 2, 0]
    assert np.isnan(df[RATING].iloc[1]) and df[RATING].iloc[0] == 5.0
    assert str(df["unix_time"].dtype) == "Int64"
    assert df["unix_time"].isna().tolist() == [False, True, False, True]
    assert df["unix_time_lo"].iloc[1] == 978300760 and df["unix_time_hi"].iloc[1] == 978302109
    assert df["rating_ge4"].tolist()[0] is True or df["rating_ge4"].iloc[0]
    assert pd.isna(df["rating_ge4"].iloc[1])
    # "auto" prefers ratings.dat when it exists; "chrono" forces the reconstruction.
    write(folder / "ratings.dat", ML1M_RATINGS)
    assert "unix_time" not in readers.read_movielens_1m(folder).interactions
    assert len(readers.read_movielens_1m(folder, source="chrono").interactions) == 4
    with pytest.raises(ValueError):
        readers.read_movielens_1m(folder, source="nope")


def test_movielens_1m_chrono_errors(tmp_path):
    folder = make_ml1m(tmp_path / "ml", ratings=None)
    path = folder / "interactions_chrono.tsv.gz"
    bad_seq = CHRONO_ROWS.replace("1\t30\t2\t", "1\t30\t5\t")
    write(path, CHRONO_HEADER + bad_seq, compress=True)
    with pytest.raises(DataFormatError) as exc:
        readers.read_movielens_1m(folder)
    assert_error(exc, path, 4, "seq_idx 2")
    write(path, CHRONO_HEADER.replace("seq_idx", "position") + CHRONO_ROWS, compress=True)
    with pytest.raises(DataFormatError) as exc:
        readers.read_movielens_1m(folder)
    assert_error(exc, path, 1, "seq_idx")
    write(path, CHRONO_HEADER + CHRONO_ROWS.replace("\t3\t978302109", "\t3\t97830x109"),
          compress=True)
    with pytest.raises(DataFormatError) as exc:
        readers.read_movielens_1m(folder)
    assert_error(exc, path, 4, "integer", "timestamp")
    with pytest.raises(DatasetNotAvailableError):
        readers.read_movielens_1m(tmp_path / "empty_dir_does_not_exist")


@pytest.mark.parametrize(
    "body, line, fragments",
    [
        ("1::10::5::978300760\n1::2x::3::978302109\n", 2, ("integer", "'item'", "2x")),
        ("1::10::5::978300760\n1::20::3\n", 2, ("4 fields", "3 fields")),
        ("1::10::5::978300760\n1::20::3::978302109::9\n", 2, ("4 fields", "5 fields")),
        ("1::10::5::978300760\n\n1::20::3::978302109\n", 2, ("empty line",)),
        ("1::10::5::978300760\n1::20::3::978302109\n2::10::4::yesterday\n", 3,
         ("integer", "'timestamp'", "yesterday")),
        ("1::10::5::978300760\n1::20::bad::978302109\n", 2, ("number", "'rating'")),
    ],
)
def test_movielens_1m_bad_lines(tmp_path, body, line, fragments):
    folder = make_ml1m(tmp_path / "ml", ratings=body)
    with pytest.raises(DataFormatError) as exc:
        readers.read_movielens_1m(folder)
    assert_error(exc, folder / "ratings.dat", line, *fragments)


def test_movielens_1m_duplicate_user(tmp_path):
    folder = make_ml1m(tmp_path / "ml")
    write(folder / "users.dat", ML1M_USERS + "2::F::18::3::12345\n")
    with pytest.raises(DataFormatError) as exc:
        readers.read_movielens_1m(folder)
    assert_error(exc, folder / "users.dat", 3, "each user listed once")


# --------------------------------------------------------------------------------------
# MovieLens-100K
# --------------------------------------------------------------------------------------


def make_ml100k(folder: Path, genre_file: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write(folder / "u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t302\t5\t1\n")
    write(folder / "u.user", "186|39|F|executive|00000\n196|49|M|writer|55105\n")
    flags_a = "|".join(["0", "0", "0", "1", "1"] + ["0"] * 14)
    flags_b = "|".join(["1"] + ["0"] * 18)
    write(folder / "u.item",
          f"242|Kolya (1996)|24-Jan-1997||http://x|{flags_a}\n"
          f"302|L.A. Confidential (1997)|01-Jan-1997||http://y|{flags_b}\n",
          encoding="latin-1")
    if genre_file:
        names = [f"g{i}" for i in range(19)]
        write(folder / "u.genre", "".join(f"{n}|{i}\n" for i, n in enumerate(names)) + "\n")
    return folder


def test_movielens_100k(tmp_path):
    data = readers.read_movielens_100k(make_ml100k(tmp_path / "a"))
    assert data.interactions[USER].tolist() == [196, 186, 196]
    assert data.interactions[TIMESTAMP].tolist() == [881250949, 891717742, 1]
    assert data.item_features.loc[242, "genres"] == ["Animation", "Children's"]
    assert data.item_features.loc[302, "genres"] == ["unknown"]
    assert data.user_features.loc[186, "zip"] == "00000"
    named = readers.read_movielens_100k(make_ml100k(tmp_path / "b", genre_file=True))
    assert named.item_features.loc[242, "genres"] == ["g3", "g4"]


def test_movielens_100k_errors(tmp_path):
    folder = make_ml100k(tmp_path / "a")
    write(folder / "u.data", "196\t242\t3\t881250949\n186 302 3 891717742\n")
    with pytest.raises(DataFormatError) as exc:
        readers.read_movielens_100k(folder)
    assert_error(exc, folder / "u.data", 2, "4 fields")
    folder = make_ml100k(tmp_path / "b")
    text = (folder / "u.item").read_text(encoding="latin-1").replace("|0|0|0|1|1|", "|0|0|0|2|1|")
    write(folder / "u.item", text, encoding="latin-1")
    with pytest.raises(DataFormatError) as exc:
        readers.read_movielens_100k(folder)
    assert_error(exc, folder / "u.item", 1, "genre flags")


# --------------------------------------------------------------------------------------
# Sequence files
# --------------------------------------------------------------------------------------


def test_sequence_file_pairs_and_lines(tmp_path):
    pairs = write(tmp_path / "ml.txt", "1 5\n1 6\n2 5\n1 7\n2 9\n")
    df = readers.read_sequence_file(pairs).interactions
    assert df[USER].tolist() == [1, 1, 2, 1, 2]
    assert df[TIMESTAMP].tolist() == [0, 1, 0, 2, 1]
    lines = write(tmp_path / "Beauty.txt.gz", "1 1 2 3\n2 4 1\r\n3 9 9\n", compress=True)
    data = readers.read_sequence_file(lines)
    assert data.name == "Beauty"
    df = data.interactions
    assert df[USER].tolist() == [1, 1, 1, 2, 2, 3, 3]
    assert df[ITEM].tolist() == [1, 2, 3, 4, 1, 9, 9]
    assert df[TIMESTAMP].tolist() == [0, 1, 2, 0, 1, 0, 1]
    assert df[USER].dtype == np.int64 and df[ITEM].dtype == np.int64
    # A file whose lines all have two items per user is read as pairs unless told otherwise.
    forced = readers.read_sequence_file(pairs, format="lines").interactions
    assert len(forced) == 5
    strs = write(tmp_path / "s.txt", "u1 a b\nu2 c\n")
    df = readers.read_sequence_file(strs, numeric_ids=None).interactions
    assert df[USER].tolist() == ["u1", "u1", "u2"] and df[ITEM].tolist() == ["a", "b", "c"]


def test_sequence_file_attributes(tmp_path):
    seq = write(tmp_path / "Toys.txt", "1 1 2\n2 2 3\n")
    attrs = write(tmp_path / "Toys_item2attributes.json", '{"1": [1, 2], "2": [3], "3": []}')
    data = readers.read_sequence_file(seq, item_attributes=attrs)
    assert data.item_features.loc[1, "attributes"] == [1, 2]
    assert data.item_features.loc[3, "attributes"] == []
    table = readers.read_s3rec_attributes(attrs)
    assert table.index.dtype == np.int64


@pytest.mark.parametrize(
    "text, fmt, line, fragments",
    [
        ("1 2 3\n2\n3 4 5\n", "auto", 2, ("empty user sequence",)),
        ("1 2 3\n2 5\n\n3 4\n", "auto", 3, ("empty lines",)),
        ("1 2 3\n2 5\n3 4x\n", "auto", 3, ("integer item id", "4x")),
        ("1 2\n2 5\nu3 4\n", "auto", 3, ("integer user id", "u3")),
        ("1 2\n2 5 6\n3 4\n", "pairs", 2, ("2 fields",)),
        ("1 2\n2 5\n3 99999999999999999999\n", "auto", 3, ("integer item id",)),
    ],
)
def test_sequence_file_errors(tmp_path, text, fmt, line, fragments):
    path = write(tmp_path / "seq.txt", text)
    with pytest.raises(DataFormatError) as exc:
        readers.read_sequence_file(path, format=fmt)
    assert_error(exc, path, line, *fragments)


def test_s3rec_attributes_errors(tmp_path):
    path = write(tmp_path / "a.json", '{\n"1": [1],\n"x2": [3]\n}')
    with pytest.raises(DataFormatError) as exc:
        readers.read_s3rec_attributes(path)
    assert_error(exc, path, 3, "integer item ids")
    path = write(tmp_path / "b.json", '{\n"1": [1],\n"2": [3, "a"]\n}')
    with pytest.raises(DataFormatError) as exc:
        readers.read_s3rec_attributes(path)
    assert_error(exc, path, 3, "attribute ids")
    path = write(tmp_path / "c.json", '{\n"1": [1],\n"2": [3\n}')
    with pytest.raises(DataFormatError) as exc:
        readers.read_s3rec_attributes(path)
    assert exc.value.line == 4


# --------------------------------------------------------------------------------------
# Amazon
# --------------------------------------------------------------------------------------


def test_amazon_ratings_csv(tmp_path):
    path = write(tmp_path / "ratings_Books.csv",
                 "AH2L9G3DQHHAJ,0000000116,4.0,1019865600\nA2IIIDRK3PRRZY,0000000116,1.0,1395619200\n")
    data = readers.read_amazon_ratings_csv(path)
    assert data.name == "ratings_Books"
    df = data.interactions
    assert df[ITEM].tolist() == ["0000000116", "0000000116"]  # leading zeros kept
    assert df[RATING].tolist() == [4.0, 1.0] and df[TIMESTAMP].dtype == np.int64
    path18 = write(tmp_path / "Books.csv.gz", "0001713353,A1C6M8LCIX4M6M,5.0,1123804800\n",
                   compress=True)
    df = readers.read_amazon_ratings_csv(
        path18, columns=("item", "user", "rating", "timestamp")).interactions
    assert df.iloc[0][USER] == "A1C6M8LCIX4M6M" and df.iloc[0][ITEM] == "0001713353"
    bad = write(tmp_path / "bad.csv", "A,1,4.0,1019865600\nB,2,4.0,1019865600\nC,3,4.0,\n")
    with pytest.raises(DataFormatError) as exc:
        readers.read_amazon_ratings_csv(bad)
    assert_error(exc, bad, 3, "'timestamp'")


def review(user: str, item: str, rating=5.0, when=1400000000, text="ok") -> str:
    return json.dumps({"reviewerID": user, "asin": item, "reviewerName": "x", "helpful": [0, 0],
                       "reviewText": text, "overall": rating, "summary": "s",
                       "unixReviewTime": when, "reviewTime": "05 13, 2014"})


def test_amazon_reviews_json(tmp_path):
    lines = [review("U1", "0001", 5.0, 10), review("U2", "0002", 3.0, 20),
             review("U1", "0002", 4.0, 30)]
    plain = write(tmp_path / "reviews_Toys_and_Games_5.json", "\n".join(lines) + "\n")
    packed = write(tmp_path / "reviews_Toys_and_Games_5.json.gz", "\n".join(lines),
                   compress=True)
    for path in (plain, packed):
        data = readers.read_amazon_reviews_json(path, chunk_lines=2)
        assert data.name == "reviews_Toys_and_Games_5"
        df = data.interactions
        assert df[USER].tolist() == ["U1", "U2", "U1"]
        assert df[ITEM].tolist() == ["0001", "0002", "0002"]
        assert df[TIMESTAMP].tolist() == [10, 20, 30] and df[TIMESTAMP].dtype == np.int64
        assert df[RATING].tolist() == [5.0, 3.0, 4.0]


def test_amazon_reviews_json_truncated_gzip(tmp_path):
    rng = np.random.default_rng(0)
    lines = [review(f"U{i}", f"{i % 97:04d}", 5.0, 1000 + i,
                    text=" ".join(map(str, rng.integers(0, 10**6, 20))))
             for i in range(3000)]
    full = gzip.compress(("\n".join(lines) + "\n").encode())
    cut = full[: len(full) // 2]
    path = tmp_path / "reviews_cut_5.json.gz"
    path.write_bytes(cut)
    readable = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(cut)
    expected_line = readable.count(b"\n") + 1
    assert 1 < expected_line < 3000
    with pytest.raises(DataFormatError) as exc:
        readers.read_amazon_reviews_json(path, chunk_lines=500)
    assert_error(exc, path, expected_line, "complete gzip stream")


@pytest.mark.parametrize(
    "bad, fragments",
    [
        ('{"reviewerID": "U9", "asin": "9", "overall": 5.0', ("JSON object",)),
        (json.dumps({"reviewerID": "U9", "asin": "9", "overall": 5.0}),
         ("'unixReviewTime'",)),
        (json.dumps({"reviewerID": "U9", "asin": "9", "overall": 5.0,
                     "unixReviewTime": "soon"}), ("unixReviewTime", "soon")),
        (json.dumps({"reviewerID": "U9", "asin": "9", "overall": "five",
                     "unixReviewTime": 5}), ("'overall'",)),
        ("", ("empty lines",)),
    ],
)
def test_amazon_reviews_json_errors(tmp_path, bad, fragments):
    good = [review(f"U{i}", "1", 4.0, i) for i in range(4)]
    path = write(tmp_path / "r.json", "\n".join(good + [bad] + good) + "\n")
    with pytest.raises(DataFormatError) as exc:
        readers.read_amazon_reviews_json(path, chunk_lines=3)
    assert_error(exc, path, 5, *fragments)


# --------------------------------------------------------------------------------------
# UniSRec / RecBole and MQL4GRec
# --------------------------------------------------------------------------------------

INTER_HEADER = "user_id:token\titem_id_list:token_seq\titem_id:token\n"


def write_unisrec(folder: Path, name: str, seqs: dict, cap: int, compress: bool = False,
                  ascending: bool = False) -> None:
    """Writes leave-one-out files the way UniSRec lays them out (histories cut to ``cap``)."""
    folder.mkdir(exist_ok=True)
    train, valid, test = [INTER_HEADER], [INTER_HEADER], [INTER_HEADER]
    for user, seq in seqs.items():
        rows = []
        for target_pos in range(1, len(seq) - 2):
            hist = seq[:target_pos][-cap:]
            rows.append(f"{user}\t{' '.join(map(str, hist))}\t{seq[target_pos]}\n")
        train.extend(rows if ascending else rows[::-1])
        valid.append(f"{user}\t{' '.join(map(str, seq[:-2][-cap:]))}\t{seq[-2]}\n")
        test.append(f"{user}\t{' '.join(map(str, seq[:-1][-cap:]))}\t{seq[-1]}\n")
    suffix = ".gz" if compress else ""
    for split, lines in (("train", train), ("valid", valid), ("test", test)):
        write(folder / f"{name}.{split}.inter{suffix}", "".join(lines), compress=compress)


UNI_SEQS = {0: [0, 1, 2, 3, 4, 5, 6], 1: [7, 1, 8], 2: [3, 3, 9, 2, 3, 4], 3: [5, 6, 7, 8]}


@pytest.mark.parametrize("cap, compress, ascending", [(50, False, False), (3, True, False),
                                                      (2, False, True)])
def test_unisrec_rebuilds_sequences(tmp_path, cap, compress, ascending):
    folder = tmp_path / "Sci"
    write_unisrec(folder, "Sci", UNI_SEQS, cap, compress, ascending)
    asins = [f"B{i:03d}" for i in range(10)]
    write(folder / "Sci.item2index", "".join(f"{a}\t{i}\n" for i, a in enumerate(asins)))
    write(folder / "Sci.user2index", "".join(f"R{u}\t{u}\n" for u in UNI_SEQS))
    write(folder / "Sci.text", "item_id:token\ttext:token_seq\n"
          + "".join(f"{a}\tItem {a}. With\ttab.\n" for a in asins[::-1]))
    for full_check in (True, False):
        data = readers.read_unisrec(folder, "Sci", full_check=full_check)
        df = data.interactions
        rebuilt = {u: g[ITEM].tolist() for u, g in df.groupby(USER, sort=False)}
        assert rebuilt == UNI_SEQS
        assert list(rebuilt) == [0, 1, 2, 3]
        assert df[TIMESTAMP].tolist() == [p for s in UNI_SEQS.values() for p in range(len(s))]
    assert data.item_features.loc[9, "asin"] == "B009"
    assert data.item_features.loc[9, "text"] == "Item B009. With\ttab."
    assert data.user_features.loc[2, "original_id"] == "R2"


def test_unisrec_string_ids(tmp_path):
    seqs = {"0-1": ["0-5", "0-6", "0-7"], "1-1": ["1-5", "1-5", "1-2", "1-9"]}
    write_unisrec(tmp_path, "FHCKM", seqs, cap=50)
    df = readers.read_unisrec(tmp_path, "FHCKM").interactions
    assert df[USER].tolist() == ["0-1"] * 3 + ["1-1"] * 4
    assert df[ITEM].tolist() == seqs["0-1"] + seqs["1-1"]


def test_unisrec_inconsistent_rows(tmp_path):
    write_unisrec(tmp_path, "D", UNI_SEQS, cap=50)
    valid = tmp_path / "D.valid.inter"
    lines = valid.read_text().splitlines(keepends=True)
    lines[3] = "2\t3 3 9 4\t3\n"  # user 2: history should end with 2
    valid.write_text("".join(lines))
    with pytest.raises(DataFormatError) as exc:
        readers.read_unisrec(tmp_path, "D")
    assert_error(exc, valid, 4, "ending with 2")
    write_unisrec(tmp_path, "E", UNI_SEQS, cap=50)
    test = tmp_path / "E.test.inter"
    test.write_text(test.read_text() + "1\t7 1\t8\n")
    with pytest.raises(DataFormatError) as exc:
        readers.read_unisrec(tmp_path, "E")
    assert_error(exc, test, 6, "one test row per user")
    write_unisrec(tmp_path, "F", UNI_SEQS, cap=50)
    train = tmp_path / "F.train.inter"
    lines = train.read_text().splitlines(keepends=True)
    assert lines[1] == "0\t0 1 2 3\t4\n"
    lines[1] = "0\t0 1 9 3\t4\n"  # wrong item inside the history: only the full check sees it
    train.write_text("".join(lines))
    readers.read_unisrec(tmp_path, "F", full_check=False)
    with pytest.raises(DataFormatError) as exc:
        readers.read_unisrec(tmp_path, "F", full_check=True)
    assert_error(exc, train, 2, "item 2 at history position 3")
    write_unisrec(tmp_path, "H", UNI_SEQS, cap=50)
    test = tmp_path / "H.test.inter"
    test.write_text(test.read_text().replace("3\t5 6 7\t8\n", "3\t5 6 7\t8x\n"))
    with pytest.raises(DataFormatError) as exc:
        readers.read_unisrec(tmp_path, "H", numeric_ids=True)
    assert_error(exc, test, 5, "integer item id", "8x")
    write(tmp_path / "G.test.inter", "user_id:token\titem_id:token\n0\t1\n")
    with pytest.raises(DataFormatError) as exc:
        readers.read_unisrec(tmp_path, "G")
    assert_error(exc, tmp_path / "G.test.inter", 1, "item_id_list")
    with pytest.raises(DatasetNotAvailableError):
        readers.read_unisrec(tmp_path, "missing")


def test_mql4grec(tmp_path):
    seqs = {"0": [0, 1, 2, 3], "1": [4, 1, 5], "2": [2, 2, 6]}
    write(tmp_path / "Ins.inter.json.gz", json.dumps(seqs, indent=4), compress=True)
    write_unisrec(tmp_path, "Ins", {int(k): v for k, v in seqs.items()}, cap=50, compress=True)
    write(tmp_path / "Ins.item2id.gz", "".join(f"A{i}\t{i}\n" for i in range(7)), compress=True)
    write(tmp_path / "Ins.user2id.gz", "R0\t0\nR1\t1\nR2\t2\n", compress=True)
    write(tmp_path / "Ins.item.json", json.dumps({str(i): {"title": f"T{i}", "description": "d"}
                                                  for i in range(7)}))
    data = readers.read_mql4grec(tmp_path, "Ins")
    df = data.interactions
    assert df[USER].tolist() == [0] * 4 + [1] * 3 + [2] * 3
    assert df[ITEM].tolist() == [0, 1, 2, 3, 4, 1, 5, 2, 2, 6]
    assert df[TIMESTAMP].tolist() == [0, 1, 2, 3, 0, 1, 2, 0, 1, 2]
    assert data.item_features.loc[5, "asin"] == "A5"
    assert data.item_features.loc[5, "text"] == "T5 d"
    assert data.user_features.loc[1, "original_id"] == "R1"
    # The same files read as UniSRec give the same sequences.
    assert readers.read_unisrec(tmp_path, "Ins").interactions.equals(df)


def test_mql4grec_errors(tmp_path):
    seqs = {"0": [0, 1, 2, 3], "1": [4, 1, 5]}
    write(tmp_path / "X.inter.json", json.dumps(seqs, indent=4))
    write_unisrec(tmp_path, "X", {0: [0, 1, 2, 3], 1: [4, 1, 6]}, cap=50)
    with pytest.raises(DataFormatError) as exc:
        readers.read_mql4grec(tmp_path, "X")
    assert_error(exc, tmp_path / "X.test.inter", 3, "target 5")
    assert len(readers.read_mql4grec(tmp_path, "X", check_splits=False).interactions) == 7
    write(tmp_path / "Y.inter.json", '{\n  "0": [1, 2],\n  "1": []\n}')
    with pytest.raises(DataFormatError) as exc:
        readers.read_mql4grec(tmp_path, "Y")
    assert_error(exc, tmp_path / "Y.inter.json", 3, "empty user sequence")
    write(tmp_path / "Z.inter.json", '{\n  "0": [1, 2],\n  "1": [3, "b"]\n}')
    with pytest.raises(DataFormatError) as exc:
        readers.read_mql4grec(tmp_path, "Z")
    assert_error(exc, tmp_path / "Z.inter.json", 3, "integer item indices")


# --------------------------------------------------------------------------------------
# Taobao
# --------------------------------------------------------------------------------------

TAOBAO = (
    "1,2268318,2520377,pv,1511544070\n"
    "1,2333346,2520771,buy,1511561733\n"
    "1,2576651,149192,pv,1511572885\n"
    "100,2268318,2520377,cart,1511680485\n"
    "100,4365585,2520377,pv,1511680486\n"
)


def test_taobao(tmp_path, caplog):
    path = write(tmp_path / "UserBehavior.csv.gz", TAOBAO, compress=True)
    with caplog.at_level(logging.INFO, logger="mirec.data.readers"):
        data = readers.read_taobao_user_behavior(path, chunksize=2)
    assert "kept 3 of 5 rows" in caplog.text
    df = data.interactions
    assert df[USER].tolist() == [1, 1, 100] and df[ITEM].tolist() == [2268318, 2576651, 4365585]
    assert df["behavior"].astype(str).tolist() == ["pv"] * 3
    assert data.item_features.loc[4365585, "category"] == 2520377
    every = readers.read_taobao_user_behavior(path, behaviors=None).interactions
    assert len(every) == 5 and every[TIMESTAMP].dtype == np.int64
    both = readers.read_taobao_user_behavior(path, behaviors=["buy", "cart"]).interactions
    assert both[ITEM].tolist() == [2333346, 2268318]
    with pytest.raises(ValueError):
        readers.read_taobao_user_behavior(path, behaviors=["click"])


@pytest.mark.parametrize("chunksize", [2, 100])
def test_taobao_errors(tmp_path, chunksize):
    path = write(tmp_path / "ub.csv", TAOBAO.replace("cart", "like"))
    with pytest.raises(DataFormatError) as exc:
        readers.read_taobao_user_behavior(path, chunksize=chunksize)
    assert_error(exc, path, 4, "behavior_type", "like")
    path = write(tmp_path / "ub2.csv", TAOBAO.replace(",1511680486", ",15116804x6"))
    with pytest.raises(DataFormatError) as exc:
        readers.read_taobao_user_behavior(path, chunksize=chunksize)
    assert_error(exc, path, 5, "'timestamp'")


# --------------------------------------------------------------------------------------
# Online Retail
# --------------------------------------------------------------------------------------

RETAIL = pd.DataFrame({
    "InvoiceNo": ["536365", "536365", "536366", "C536379", "536380"],
    "StockCode": ["85123A", "71053", "85123A", "D", "71053"],
    "Description": ["WHITE HANGING HEART", "WHITE METAL LANTERN", "HEART HOLDER", "Discount",
                    "WHITE METAL LANTERN"],
    "Quantity": [6, 6, 2, -1, 3],
    "InvoiceDate": ["12/1/2010 8:26", "12/1/2010 8:26", "12/1/2010 8:28", "12/1/2010 9:41",
                    "12/1/2010 9:45"],
    "UnitPrice": [2.55, 3.39, 1.85, 27.5, 3.39],
    "CustomerID": [17850.0, 17850.0, np.nan, 14527.0, 13047.0],
    "Country": ["United Kingdom"] * 4 + ["France"],
})


def test_online_retail_csv_and_parquet(tmp_path, caplog):
    csv_path = tmp_path / "Online Retail.csv"
    RETAIL.to_csv(csv_path, index=False)
    with caplog.at_level(logging.INFO, logger="mirec.data.readers"):
        data = readers.read_online_retail(csv_path)
    assert "dropped 1 of 5 rows without CustomerID" in caplog.text
    df = data.interactions
    assert df[USER].tolist() == [17850, 17850, 14527, 13047] and df[USER].dtype == np.int64
    assert df[ITEM].tolist() == ["85123A", "71053", "D", "71053"]
    assert df[TIMESTAMP].iloc[0] == int(pd.Timestamp("2010-12-01 08:26").timestamp())
    assert df["quantity"].tolist() == [6, 6, -1, 3]
    assert df["invoice"].tolist()[2] == "C536379"
    assert data.item_features.loc["71053", "text"] == "WHITE METAL LANTERN"
    assert data.user_features.loc[13047, "country"] == "France"
    kept = readers.read_online_retail(csv_path, drop_missing_customer=False).interactions
    assert len(kept) == 5 and kept[USER].isna().sum() == 1
    iso = RETAIL.assign(InvoiceDate=pd.to_datetime(RETAIL["InvoiceDate"]).astype(str),
                        CustomerID=RETAIL["CustomerID"].fillna(0.0))
    pq = tmp_path / "online_retail.parquet"
    iso.to_parquet(pq)
    from_pq = readers.read_online_retail(pq, missing_customer_ids=[0]).interactions
    pd.testing.assert_frame_equal(from_pq, df)


def test_online_retail_xlsx(tmp_path):
    pytest.importorskip("openpyxl")
    path = tmp_path / "Online Retail.xlsx"
    RETAIL.assign(InvoiceDate=pd.to_datetime(RETAIL["InvoiceDate"])).to_excel(path, index=False)
    assert len(readers.read_online_retail(path).interactions) == 4


def test_online_retail_errors(tmp_path):
    path = tmp_path / "a.csv"
    RETAIL.assign(InvoiceDate=RETAIL["InvoiceDate"].where(RETAIL.index != 2, "someday")).to_csv(
        path, index=False)
    with pytest.raises(DataFormatError) as exc:
        readers.read_online_retail(path)
    assert_error(exc, path, 4, "unparsable timestamp", "someday")
    path = tmp_path / "b.csv"
    RETAIL.drop(columns=["Country"]).to_csv(path, index=False)
    with pytest.raises(DataFormatError) as exc:
        readers.read_online_retail(path)
    assert_error(exc, path, 1, "missing Country")
    path = tmp_path / "c.csv"
    RETAIL.assign(CustomerID=["17850", "17850", "", "x14527", "13047"]).to_csv(path, index=False)
    with pytest.raises(DataFormatError) as exc:
        readers.read_online_retail(path)
    assert_error(exc, path, 5, "integer customer id")


# --------------------------------------------------------------------------------------
# Shared helper: _read_delimited
# --------------------------------------------------------------------------------------


def test_read_delimited_chunks_and_nullable(tmp_path):
    body = "".join(f"{i}\t{i * 2 if i % 3 else ''}\n" for i in range(1, 11))
    path = write(tmp_path / "x.tsv", "a\tb\n" + body)
    cols = {"a": "int", "b": "int?"}
    whole = readers._read_delimited(path, "\t", cols, skip_rows=1)
    parts = readers._read_delimited(path, "\t", cols, skip_rows=1, chunksize=3)
    pd.testing.assert_frame_equal(whole, parts)
    assert str(whole["b"].dtype) == "Int64" and whole["b"].isna().sum() == 3
    bad = write(tmp_path / "y.tsv", "a\tb\n" + body.replace("16", "16.5"))
    for chunksize in (None, 3):
        with pytest.raises(DataFormatError) as exc:
            readers._read_delimited(bad, "\t", cols, skip_rows=1, chunksize=chunksize)
        assert_error(exc, bad, 9, "integer", "'b'")


def test_truncated_gzip_in_delimited_reader(tmp_path):
    rows = "".join(f"{i}::{i % 50}::{i % 5 + 1}::{978300000 + i * 7919 % 10007}\n"
                   for i in range(1, 20001))
    full = gzip.compress(rows.encode())
    folder = tmp_path / "ml"
    folder.mkdir()
    (folder / "ratings.dat.gz").write_bytes(full[: len(full) * 2 // 3])
    with pytest.raises(DataFormatError) as exc:
        readers.read_movielens_1m(folder)
    assert exc.value.line > 1 and "complete gzip stream" in str(exc.value)


# --------------------------------------------------------------------------------------
# Registry, downloader, command line
# --------------------------------------------------------------------------------------

EXPECTED_DATASETS = {
    "ml-1m", "ml-100k", "amazon-books-ratings", "amazon-2014-toys", "amazon-2014-instruments",
    "amazon-2014-beauty", "amazon-2018-scientific", "amazon-2018-pantry",
    "amazon-2018-instruments", "amazon-2018-arts", "amazon-2018-office", "amazon-2018-food",
    "amazon-2018-cds", "amazon-2018-kindle", "amazon-2018-movies", "amazon-2018-home",
    "taobao-user-behavior", "online-retail",
}


def test_all_descriptors_are_valid():
    names = registry.list_datasets()
    assert EXPECTED_DATASETS <= set(names)
    for name in names:
        desc = registry.get_descriptor(name)
        assert desc["name"] == name
        assert callable(getattr(readers, desc["reader"]["function"]))
        assert desc["citation"].lstrip().startswith("@")
    assert registry.get_descriptor("taobao-user-behavior")["login_required"] is True
    retail = registry.get_descriptor("online-retail")
    assert "CC BY 4.0" in retail["license"]["summary"]
    with pytest.raises(KeyError):
        registry.get_descriptor("no-such-data")
    with pytest.raises(ValueError):
        registry.validate_descriptor({"name": "x"})


def test_registry_load_and_messages(tmp_path, monkeypatch):
    monkeypatch.setenv("MIREC_DATA", str(tmp_path / "cache"))
    assert dl.cache_dir() == tmp_path / "cache"
    with pytest.raises(DatasetNotAvailableError) as exc:
        registry.load("ml-100k")
    message = str(exc.value)
    assert str(tmp_path / "cache" / "ml-100k") in message
    assert "u.data" in message and "u.item" in message and "ml-100k.zip" in message
    with pytest.raises(DatasetNotAvailableError) as exc:
        registry.load("taobao-user-behavior")
    assert "log in at https://tianchi.aliyun.com/dataset/649" in str(exc.value)
    assert "UserBehavior.csv" in str(exc.value)

    make_ml100k(tmp_path / "cache" / "ml-100k")
    assert registry.load("ml-100k").summary()["interactions"] == 3
    assert registry.dataset_status("ml-100k")["state"] == "manual"
    # data_dir may be the root or the data set folder itself.
    make_ml100k(tmp_path / "root" / "ml-100k")
    assert len(registry.load("ml-100k", data_dir=tmp_path / "root").interactions) == 3
    assert len(registry.load("ml-100k", data_dir=tmp_path / "root" / "ml-100k").interactions) == 3
    # reader kwargs: descriptor paths inside the folder, caller overrides.
    folder = tmp_path / "s3"
    folder.mkdir()
    write(folder / "Beauty.txt", "1 1 2\n2 2\n")
    write(folder / "Beauty_item2attributes.json", '{"1": [5], "2": [6]}')
    data = registry.load("amazon-2014-beauty-s3rec", data_dir=folder)
    assert data.item_features.loc[2, "attributes"] == [6]
    assert registry.load("amazon-2014-beauty-s3rec", data_dir=folder, name="b").name == "b"


def make_zip_dataset(tmp_path: Path) -> tuple[Path, str]:
    src = tmp_path / "src"
    src.mkdir()
    archive = src / "toy.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("toy/seq.txt", "1 1 2 3\n2 3 4\n")
        zf.writestr("toy/README", "toy data\n")
        zf.writestr("__MACOSX/junk", "x")
    return archive, hashlib.sha256(archive.read_bytes()).hexdigest()


def toy_descriptor(archive: Path, sha256) -> dict:
    return {
        "name": "toy", "description": "toy", "homepage": "https://example.org",
        "files": [{"filename": "toy.zip", "url": archive.as_uri(), "sha256": sha256,
                   "archive": "zip", "archive_root": "toy", "direct_download": True}],
        "required": ["seq.txt"],
        "license": {"summary": "TOY-LICENCE terms", "url": "https://example.org/l"},
        "citation": "@misc{toy2024, title={Toy}}",
        "reader": {"function": "read_sequence_file", "path": "seq.txt", "kwargs": {}},
        "login_required": False, "notes": "",
    }


def test_download_verified_from_file_url(tmp_path, monkeypatch, capsys):
    archive, digest = make_zip_dataset(tmp_path)
    descriptors = tmp_path / "descriptors"
    descriptors.mkdir()
    (descriptors / "toy.json").write_text(json.dumps(toy_descriptor(archive, digest)))
    monkeypatch.setenv("MIREC_DATASET_DESCRIPTORS", str(descriptors))
    monkeypatch.setenv("MIREC_DATA", str(tmp_path / "cache"))
    folder = dl.download("toy")
    assert folder == tmp_path / "cache" / "toy"
    assert (folder / "seq.txt").read_text() == "1 1 2 3\n2 3 4\n"
    assert not (folder / "junk").exists() and not (folder / "__MACOSX").exists()
    marker = json.loads((folder / registry.MARKER_FILE).read_text())
    assert marker["files"]["toy.zip"]["verified"] is True
    assert registry.dataset_status("toy")["state"] == "verified"
    out = capsys.readouterr().out
    assert out.count("TOY-LICENCE") == 1 and out.count("@misc{toy2024") == 1
    assert registry.load("toy").summary()["interactions"] == 5
    # Present: no second download, no second licence print.
    assert dl.download("toy") == folder
    assert "TOY-LICENCE" not in capsys.readouterr().out
    assert not list(folder.glob("*.part"))


def test_download_checksum_mismatch_and_unverified(tmp_path, monkeypatch):
    archive, _ = make_zip_dataset(tmp_path)
    monkeypatch.setattr(registry, "get_descriptor",
                        lambda name: toy_descriptor(archive, "0" * 64))
    with pytest.raises(dl.ChecksumMismatchError):
        dl.download("toy", data_dir=tmp_path / "root")
    assert sorted(p.name for p in (tmp_path / "root" / "toy").iterdir()) == []

    monkeypatch.setattr(registry, "get_descriptor", lambda name: toy_descriptor(archive, None))
    with pytest.warns(UserWarning, match="NOT verified"):
        folder = dl.download("toy", data_dir=tmp_path / "root")
    marker = json.loads((folder / registry.MARKER_FILE).read_text())
    assert marker["files"]["toy.zip"]["verified"] is False
    assert registry.dataset_status("toy", data_dir=tmp_path / "root")["state"] == "unverified"


def test_download_offline_and_login(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere" / "toy.zip"
    monkeypatch.setattr(registry, "get_descriptor", lambda name: toy_descriptor(missing, None))
    with pytest.raises(DatasetNotAvailableError) as exc:
        dl.download("toy", data_dir=tmp_path / "root")
    assert str(tmp_path / "root" / "toy" / "toy.zip") in str(exc.value)
    assert not list((tmp_path / "root" / "toy").iterdir())
    desc = toy_descriptor(missing, None)
    desc.update(login_required=True, login_url="https://example.org/login")
    monkeypatch.setattr(registry, "get_descriptor", lambda name: desc)
    with pytest.raises(DatasetNotAvailableError, match="log in at https://example.org/login"):
        dl.download("toy", data_dir=tmp_path / "root2")


def test_cli(tmp_path, capsys):
    make_ml100k(tmp_path / "ml-100k")
    assert cli_main(["list", "--data_dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"ml-100k\s+manual", out) and re.search(r"taobao-user-behavior\s+login", out)
    assert cli_main(["info", "ml-100k", "--data_dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "interactions: 3  users: 2  items: 2" in out
    assert cli_main(["info", "ml-1m", "--data_dir", str(tmp_path)]) == 1
    assert "users.dat" in capsys.readouterr().out
    assert cli_main(["download", "taobao-user-behavior", "--data_dir", str(tmp_path)]) == 2
    assert "log in" in capsys.readouterr().err


# --------------------------------------------------------------------------------------
# Real data (shared folder)
# --------------------------------------------------------------------------------------


def shared_folder(name: str) -> Path:
    folder = SHARED / name
    if not folder.is_dir():
        pytest.skip(f"shared data folder {folder} not present")
    return folder


def manifest_counts(folder: Path, pattern: str) -> tuple[int, ...]:
    text = (folder / "MANIFEST.md").read_text(encoding="utf-8")
    match = re.search(pattern, text)
    assert match, f"pattern {pattern!r} not in {folder}/MANIFEST.md"
    return tuple(int(g.replace(",", "")) for g in match.groups())


@pytest.mark.realdata
def test_real_ml1m_chrono():
    folder = shared_folder("ml-1m")
    data = readers.read_movielens_1m(folder)
    assert data.summary() == {"name": "ml-1m", "users": 6040, "items": 3706,
                              "interactions": 1_000_209}
    df = data.interactions
    assert int(df[RATING].notna().sum()) == 663_382
    assert int(df["rating_ge4"].sum()) == 574_340
    assert len(data.user_features) == 6040 and len(data.item_features) == 3883
    known = df.dropna(subset=["unix_time"])
    assert (known.groupby(USER)["unix_time"].diff().dropna() >= 0).all()


@pytest.mark.realdata
def test_real_ml1m_sasrec_style():
    folder = shared_folder("ml-1m")
    path = folder / "ml-1m_sasrec_style.txt.gz"
    data = readers.read_sequence_file(path)
    assert data.summary()["interactions"] == 999_611
    assert data.summary()["users"] == 6040 and data.summary()["items"] == 3416
    assert registry.load("ml-1m-sasrec", data_dir=folder).summary()["interactions"] == 999_611


@pytest.mark.realdata
def test_real_ml100k():
    data = registry.load("ml-100k", data_dir=shared_folder("ml-100k"))
    assert (data.summary()["interactions"], data.summary()["users"],
            data.summary()["items"]) == (100_000, 943, 1682)
    assert len(data.item_features) == 1682 and len(data.user_features) == 943


@pytest.mark.realdata
def test_real_unisrec_scientific():
    folder = shared_folder("amazon-scientific")
    users, items = manifest_counts(folder, r"([\d,]+) users, ([\d,]+) items")
    assert (users, items) == (8442, 4385)
    data = registry.load("amazon-2018-scientific", data_dir=folder)
    summary = data.summary()
    assert (summary["users"], summary["items"]) == (users, items)
    assert summary["interactions"] == 59_427
    assert data.item_features["text"].notna().all() and len(data.item_features) == items
    lengths = data.interactions.groupby(USER).size()
    assert lengths.max() > 51  # some histories were truncated at 50 and had to be rebuilt


@pytest.mark.realdata
def test_real_instruments_mql4grec_matches_unisrec_view():
    folder = shared_folder("amazon-instruments-2018")
    users, items, inters = manifest_counts(
        folder, r"([\d,]+) users, ([\d,]+) items, ([\d,]+) interactions")
    data = registry.load("amazon-2018-instruments-mql4grec", data_dir=folder)
    assert data.summary() == {"name": "Instruments", "users": users, "items": items,
                              "interactions": inters}
    rebuilt = readers.read_unisrec(folder, "Instruments", full_check=False).interactions
    assert rebuilt.equals(data.interactions)


@pytest.mark.realdata
def test_real_s3rec_sequences():
    folder = shared_folder("amazon2014")
    for name, stem in (("amazon-2014-beauty-s3rec", "Beauty"),
                       ("amazon-2014-toys-s3rec", "Toys_and_Games")):
        expected = registry.get_descriptor(name)["expected_counts"]
        users, items, inters = manifest_counts(
            folder, stem + r": ([\d,]+) users, ([\d,]+) items, ([\d,]+) interactions")
        assert (inters, users, items) == (expected["interactions"], expected["users"],
                                          expected["items"])
        data = registry.load(name, data_dir=folder)
        summary = data.summary()
        assert (summary["interactions"], summary["users"], summary["items"]) == (
            inters, users, items)
        assert len(data.item_features) == items


@pytest.mark.realdata
def test_real_taobao_sample():
    path = shared_folder("taobao-sample") / "UserBehavior_head84k.csv.gz"
    every = readers.read_taobao_user_behavior(path, behaviors=None)
    assert every.summary()["interactions"] == 84_475
    assert every.summary()["users"] == 815 and every.summary()["items"] == 55_368
    counts = every.interactions["behavior"].value_counts()
    assert (counts["pv"], counts["cart"], counts["fav"], counts["buy"]) == (
        75_872, 4_497, 2_356, 1_750)
    assert len(readers.read_taobao_user_behavior(path).interactions) == 75_872


@pytest.mark.realdata
def test_real_online_retail():
    folder = shared_folder("online-retail")
    raw = readers.read_online_retail(folder / "online_retail.parquet")
    assert raw.summary()["interactions"] == 531_282
    assert raw.summary()["users"] == 4340 and raw.summary()["items"] == 3940
    data = registry.load("online-retail", data_dir=folder)  # customer id 0 = missing
    assert data.summary()["users"] == 4339
    assert len(data.interactions) == 531_282 - 133_358
