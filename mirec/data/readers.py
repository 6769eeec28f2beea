"""Readers for the raw files of the recommendation data sets used by mirec.

Every ``read_*`` function (except :func:`read_s3rec_attributes`, which returns an item
feature table) returns an :class:`~mirec.data.types.InteractionData` whose ``interactions``
table has the canonical columns ``user``, ``item``, ``timestamp`` (int64) and, where the
source has one, ``rating`` (float64, NaN when unknown), plus a few source-specific extra
columns that are documented per reader. Rows keep the order of the source file. Raw ids are
int64 where the source ids are integers and ``str`` otherwise (Amazon ASINs and reviewer ids
are always kept as strings: ISBN-like ASINs have meaningful leading zeros).

Validation policy: readers never drop or repair rows silently. A missing column, an id that
is not an integer where one is expected, a wrong number of fields, an empty line, an empty
user sequence or an unparsable timestamp raises :class:`~mirec.data.errors.DataFormatError`
naming the file and the 1-based line number of the first bad line. Parsing is done with
pandas in one pass; only when that pass fails or yields an invalid value are the lines read
again one by one to find and describe the first bad one.

Optional dependency: reading the Online Retail ``.xlsx`` workbook needs ``openpyxl``
(imported lazily by pandas; a clear error is raised when it is absent).
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import logging
import math
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from mirec.data.errors import DataFormatError, DatasetNotAvailableError
from mirec.data.types import ITEM, RATING, TIMESTAMP, USER, InteractionData

__all__ = [
    "read_amazon_ratings_csv",
    "read_amazon_reviews_json",
    "read_movielens_1m",
    "read_movielens_100k",
    "read_mql4grec",
    "read_online_retail",
    "read_s3rec_attributes",
    "read_sequence_file",
    "read_taobao_user_behavior",
    "read_unisrec",
]

logger = logging.getLogger(__name__)

PathLike = str | Path

_GZIP_MAGIC = b"\x1f\x8b"
# What the gzip/zlib layers raise for a cut or corrupt stream.
_GZIP_ERRORS = (EOFError, zlib.error, OSError)
# What pandas' parsers raise for a value or field count that does not fit.
_PARSE_ERRORS = (ValueError, TypeError, OverflowError, pd.errors.ParserError)

# Column kinds understood by _read_delimited: a trailing "?" means "may be empty".
_PANDAS_DTYPES = {
    "int": "int64",
    "int?": "float64",  # parsed as float (fast, NaN for empty), checked, then made Int64
    "float": "float64",
    "float?": "float64",
    "str": str,
    "str?": str,
    "cat": "category",
}
_KIND_NAMES = {
    "int": "an integer",
    "float": "a finite number",
    "str": "a non-empty value",
    "cat": "a non-empty value",
}

ML_100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)
TAOBAO_BEHAVIORS = ("pv", "buy", "cart", "fav")
ONLINE_RETAIL_COLUMNS = (
    "InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
    "CustomerID", "Country",
)


# --------------------------------------------------------------------------------------
# Low-level helpers: files, gzip, text
# --------------------------------------------------------------------------------------


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == _GZIP_MAGIC


def _open_binary(path: Path):
    if _is_gzip(path):
        import gzip

        return gzip.open(path, "rb")
    return open(path, "rb")


def _scan_gzip(path: Path) -> tuple[bool, int]:
    """Decompresses ``path`` as far as possible.

    Returns (whether the stream is complete, number of newlines in the readable part).
    Handles multi-member files; exact to the byte, unlike ``gzip.GzipFile.read``, which loses
    the last partial block when the stream is cut.
    """
    newlines = 0
    dec = zlib.decompressobj(16 + zlib.MAX_WBITS)
    started = False
    with open(path, "rb") as fh:
        while True:
            data = fh.read(1 << 20)
            if not data:
                break
            while data:
                if dec.eof:
                    if not data.strip(b"\x00"):  # zero padding after the last member
                        data = b""
                        break
                    dec = zlib.decompressobj(16 + zlib.MAX_WBITS)
                try:
                    out = dec.decompress(data)
                except zlib.error:
                    return False, newlines
                started = True
                newlines += out.count(b"\n")
                data = dec.unused_data if dec.eof else b""
    return started and dec.eof, newlines


@contextlib.contextmanager
def _gzip_guard(path: Path):
    """Turns the error of a truncated or corrupt gzip file into a DataFormatError.

    The error names the file and the line that was being read when the data ran out
    (1 + the number of complete lines before the damage).
    """
    try:
        yield
    except DataFormatError:
        raise
    except _GZIP_ERRORS as exc:
        if isinstance(exc, FileNotFoundError) or not path.is_file() or not _is_gzip(path):
            raise
        complete, newlines = _scan_gzip(path)
        if complete:  # not a gzip problem after all
            raise
        raise DataFormatError(
            path,
            newlines + 1,
            "a complete gzip stream",
            got=f"compressed data ends or breaks after {newlines} complete lines "
            f"(truncated or corrupt file; {type(exc).__name__}: {exc})",
        ) from exc


def _read_bytes(path: Path) -> bytes:
    with _gzip_guard(path), _open_binary(path) as fh:
        return fh.read()


def _decode(path: Path, data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        start = data.rfind(b"\n", 0, exc.start) + 1
        raise DataFormatError(
            path, line, f"text encoded as {encoding}", got=data[start : exc.end + 20]
        ) from exc


def _read_text(path: Path, encoding: str = "utf-8") -> str:
    return _decode(path, _read_bytes(path), encoding)


def _first_existing(folder: Path, *names: str) -> Path | None:
    for name in names:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def _require_file(path: Path | None, folder: Path, what: str, *names: str) -> Path:
    if path is None:
        raise DatasetNotAvailableError(
            f"{what}: none of {', '.join(names)} found in {folder}"
        )
    return path


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".json", ".csv", ".txt", ".tsv", ".dat"):
        name = name.removesuffix(suffix)
    return name


def _first_true(mask) -> int | None:
    arr = np.asarray(mask, dtype=bool)
    hits = np.flatnonzero(arr)
    return int(hits[0]) if len(hits) else None


# --------------------------------------------------------------------------------------
# Delimited files
# --------------------------------------------------------------------------------------


def _check_value(kind: str, value: str) -> str | None:
    """Returns None when ``value`` is valid for ``kind``, else what was expected."""
    optional = kind.endswith("?")
    base = kind.rstrip("?")
    if value == "":
        return None if optional else _KIND_NAMES[base]
    if base == "int":
        try:
            number = int(value)
        except ValueError:
            try:
                as_float = float(value)
            except ValueError:
                return _KIND_NAMES[base]
            if not (math.isfinite(as_float) and as_float.is_integer()):
                return _KIND_NAMES[base]
            number = int(as_float)
        if not -(2**63) <= number < 2**63:
            return "an integer that fits in int64"
        return None
    if base == "float":
        try:
            number = float(value)
        except ValueError:
            return _KIND_NAMES[base]
        return None if math.isfinite(number) else _KIND_NAMES[base]
    return None


def _split_line(text: str, sep: str, quoting: int) -> list[str]:
    if text == "":
        return []
    if quoting == csv.QUOTE_NONE or len(sep) > 1:
        return text.split(sep)
    return next(csv.reader([text], delimiter=sep, quoting=quoting), [])


def _fields_expectation(columns: Sequence[str], sep: str) -> str:
    return f"{len(columns)} fields separated by {sep!r} ({', '.join(columns)})"


def _locate_bad_line(
    path: Path,
    sep: str,
    columns: Mapping[str, str],
    skip_rows: int,
    encoding: str,
    quoting: int,
) -> None:
    """Reads ``path`` line by line and raises DataFormatError for the first bad line.

    Only used after the vectorised pandas pass found a problem, so its cost does not matter.
    Returns normally when no line is bad (the caller then raises a generic error).
    """
    names = list(columns)
    kinds = list(columns.values())
    with _gzip_guard(path), _open_binary(path) as fh:
        for lineno, raw in enumerate(fh, 1):
            if lineno <= skip_rows:
                continue
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                raise DataFormatError(
                    path, lineno, f"text encoded as {encoding}", got=raw[:200]
                ) from None
            text = text.rstrip("\r\n")
            fields = _split_line(text, sep, quoting)
            if len(fields) != len(names):
                raise DataFormatError(
                    path,
                    lineno,
                    _fields_expectation(names, sep),
                    got=f"{len(fields)} fields: {text[:200]}" if text else "an empty line",
                )
            for name, kind, value in zip(names, kinds, fields):
                problem = _check_value(kind, value)
                if problem is not None:
                    raise DataFormatError(
                        path, lineno, f"{problem} in column '{name}'", got=value[:200]
                    )


ChunkCheck = Callable[[pd.DataFrame, int], None]
ChunkFilter = Callable[[pd.DataFrame], "pd.Series"]


def _read_delimited(
    path: PathLike,
    sep: str,
    columns: Mapping[str, str],
    *,
    skip_rows: int = 0,
    encoding: str = "utf-8",
    quoting: int = csv.QUOTE_NONE,
    chunksize: int | None = None,
    check: ChunkCheck | None = None,
    keep: ChunkFilter | None = None,
) -> pd.DataFrame:
    """Reads a header-less delimited file into a typed DataFrame, validating every value.

    Args:
      path: plain or gzip-compressed file (detected by its first bytes).
      sep: field separator; multi-character separators (MovieLens ``::``) are supported.
      columns: ordered mapping column name -> kind: ``int``, ``float``, ``str``, ``cat``
        (categorical string), each optionally suffixed ``?`` when empty fields are allowed
        (they become NA). Every line must have exactly ``len(columns)`` fields.
      skip_rows: header lines to skip (they still count for line numbers).
      chunksize: read in chunks of this many rows (bounded memory with ``keep``).
      check: called as ``check(chunk, first_line)`` on every chunk (``chunk`` has a
        0-based RangeIndex relative to the chunk; row ``i`` is line ``first_line + i``);
        raises DataFormatError for semantically bad values.
      keep: optional row filter applied to each chunk after validation.

    Returns:
      The DataFrame with dtypes int64 / Int64 / float64 / object / category.

    Raises:
      DataFormatError: for the first bad line (wrong number of fields, bad value, empty line,
        undecodable text, truncated gzip).
    """
    path = Path(path)
    names = list(columns)
    source: Path | io.StringIO = path
    read_sep = sep
    engine = "c"
    if len(sep) > 1:
        # The C parser only takes one-character separators; substitute a control character
        # that cannot occur in the text (the python engine is ~10x slower).
        text = _read_text(path, encoding)
        if "\x1f" not in text:
            source = io.StringIO(text.replace(sep, "\x1f"))
            read_sep = "\x1f"
        else:
            source = io.StringIO(text)
            read_sep = re.escape(sep)
            engine = "python"
    kwargs = {
        "sep": read_sep,
        "header": None,
        "names": names,
        "dtype": {name: _PANDAS_DTYPES[kind] for name, kind in columns.items()},
        "skiprows": skip_rows,
        "quoting": quoting,
        "skip_blank_lines": False,
        "keep_default_na": False,
        "na_values": [""],
        "engine": engine,
    }
    if isinstance(source, Path):
        kwargs.update(encoding=encoding, compression="gzip" if _is_gzip(path) else None)

    required = [name for name, kind in columns.items() if not kind.endswith("?")]
    float_cols = [name for name, kind in columns.items() if kind.rstrip("?") == "float"]
    nullable_int_cols = [name for name, kind in columns.items() if kind == "int?"]
    first_data_line = skip_rows + 1

    def validate(chunk: pd.DataFrame, first_line: int) -> None:
        bad = np.zeros(len(chunk), dtype=bool)
        for name in required:
            bad |= chunk[name].isna().to_numpy()
        for name in float_cols:
            values = chunk[name].to_numpy(dtype=np.float64, na_value=np.nan)
            bad |= np.isinf(values)
        for name in nullable_int_cols:
            values = chunk[name].to_numpy(dtype=np.float64, na_value=np.nan)
            bad |= np.isfinite(values) & (values % 1 != 0) | np.isinf(values)
        row = _first_true(bad)
        if row is not None:
            _locate_bad_line(path, sep, columns, skip_rows, encoding, quoting)
            raise DataFormatError(
                path, first_line + row, f"a valid value in every column of {names}"
            )
        if check is not None:
            check(chunk, first_line)

    def finish(df: pd.DataFrame) -> pd.DataFrame:
        for name in nullable_int_cols:
            df[name] = df[name].astype("Int64")
        return df

    try:
        with _gzip_guard(path):
            if chunksize is None:
                df = pd.read_csv(source, **kwargs)
                validate(df, first_data_line)
                if keep is not None:
                    df = df[np.asarray(keep(df), dtype=bool)].reset_index(drop=True)
                return finish(df)
            parts = []
            offset = 0
            with pd.read_csv(source, chunksize=chunksize, **kwargs) as reader:
                for chunk in reader:
                    chunk = chunk.reset_index(drop=True)
                    validate(chunk, first_data_line + offset)
                    offset += len(chunk)
                    if keep is not None:
                        chunk = chunk[np.asarray(keep(chunk), dtype=bool)]
                    parts.append(chunk)
            if not parts:
                return finish(pd.read_csv(io.StringIO(""), **{**kwargs, "skiprows": 0}))
            return finish(pd.concat(parts, ignore_index=True))
    except DataFormatError:
        raise
    except UnicodeDecodeError as exc:
        _locate_bad_line(path, sep, columns, skip_rows, encoding, quoting)
        raise DataFormatError(path, None, f"text encoded as {encoding}", got=str(exc)) from exc
    except _PARSE_ERRORS as exc:
        _locate_bad_line(path, sep, columns, skip_rows, encoding, quoting)
        raise DataFormatError(path, None, _fields_expectation(names, sep), got=str(exc)) from exc


def _raise_at(path: Path, line: int, expected: str, got=None):
    raise DataFormatError(path, int(line), expected, got=got)


def _check_unique(path: Path, df: pd.DataFrame, column: str, first_line: int) -> None:
    dup = df[column].duplicated().to_numpy()
    row = _first_true(dup)
    if row is not None:
        _raise_at(path, first_line + row, f"each {column} listed once", df[column].iloc[row])


def _parse_int_tokens(
    tokens: pd.Series, path, lines: np.ndarray, what: str
) -> np.ndarray:
    """Converts string tokens to int64; raises at the line of the first non-integer token.

    ``path`` is the file, or an array giving the file of each token."""
    values = pd.to_numeric(tokens, errors="coerce")
    if values.dtype.kind == "i":
        return values.to_numpy(dtype=np.int64)
    ok = tokens.str.fullmatch(r"[+-]?\d{1,18}").fillna(False).to_numpy(dtype=bool)
    row = _first_true(~ok)
    if row is not None:
        where = path[row] if isinstance(path, np.ndarray) else path
        _raise_at(where, lines[row], f"an integer {what}", tokens.iloc[row])
    return tokens.astype(np.int64).to_numpy()


def _ids(
    tokens: pd.Series, path, lines: np.ndarray, what: str, numeric: bool | None
) -> np.ndarray:
    """Ids from string tokens: int64 (``numeric=True``, required), str (``False``) or
    int64 when every token is an integer and str otherwise (``None``)."""
    if numeric is False:
        return tokens.to_numpy(dtype=object)
    if numeric is None:
        values = pd.to_numeric(tokens, errors="coerce")
        if values.dtype.kind == "i":
            return values.to_numpy(dtype=np.int64)
        ok = tokens.str.fullmatch(r"[+-]?\d{1,18}").fillna(False)
        if not ok.all():
            return tokens.to_numpy(dtype=object)
    return _parse_int_tokens(tokens, path, lines, what)


def _canonical(df: pd.DataFrame, extra: Sequence[str] = ()) -> pd.DataFrame:
    """Puts the canonical columns first and fixes their dtypes."""
    cols = [c for c in (USER, ITEM, TIMESTAMP, RATING) if c in df.columns]
    cols += [c for c in extra if c in df.columns and c not in cols]
    out = df[cols].reset_index(drop=True)
    out[TIMESTAMP] = out[TIMESTAMP].astype(np.int64)
    if RATING in out.columns:
        out[RATING] = out[RATING].astype(np.float64)
    return out


def _position_in_sequence(users: np.ndarray) -> np.ndarray:
    """0-based position of each row among the rows of the same user, in row order."""
    return pd.Series(users).groupby(users, sort=False).cumcount().to_numpy(dtype=np.int64)


def _lists_from_mask(mask: np.ndarray, labels: Sequence[str]) -> list:
    """Row-wise lists of the labels whose mask entry is set (mask: rows x labels)."""
    rows, cols = np.nonzero(mask)
    counts = np.bincount(rows, minlength=mask.shape[0])
    names = np.asarray(labels, dtype=object)[cols]
    return [part.tolist() for part in np.split(names, np.cumsum(counts)[:-1])]


# --------------------------------------------------------------------------------------
# MovieLens
# --------------------------------------------------------------------------------------

_ML1M_CHRONO_KINDS = {
    "user_id": "int",
    "item_id": "int",
    "seq_idx": "int",
    "rating": "float?",
    "timestamp": "int?",
    "ts_lo": "int?",
    "ts_hi": "int?",
    "rating_ge4": "int?",
}


def read_movielens_1m(
    folder: PathLike, source: str = "auto", name: str = "ml-1m"
) -> InteractionData:
    """Reads MovieLens-1M from ``folder``.

    Args:
      folder: folder with ``ratings.dat`` (``UserID::MovieID::Rating::Timestamp``) and/or the
        reconstruction ``interactions_chrono.tsv.gz`` (see ``shared/data/ml-1m/MANIFEST.md``),
        plus optional ``users.dat`` and ``movies.dat`` (latin-1).
      source: ``"ratings"`` reads ``ratings.dat``; ``"chrono"`` reads
        ``interactions_chrono.tsv(.gz)``; ``"auto"`` uses ``ratings.dat`` when present.
      name: dataset name stored in the result.

    Returns:
      With ``ratings``: columns user, item, timestamp (unix seconds), rating.
      With ``chrono``: ``timestamp`` is ``seq_idx`` (the 0-based position in the user's
      chronological sequence, which is all that ordering needs), ``rating`` is NaN where
      unknown, and extra columns ``unix_time`` (Int64, NA when unknown), ``unix_time_lo`` /
      ``unix_time_hi`` (Int64 bounds for unknown times, from the neighbouring known rows)
      and ``rating_ge4`` (nullable boolean: known rating >= 4).
      ``user_features``: gender, age, occupation, zip. ``item_features``: title, genres
      (list of str).
    """
    folder = Path(folder)
    ratings_path = _first_existing(folder, "ratings.dat", "ratings.dat.gz")
    chrono_path = _first_existing(folder, "interactions_chrono.tsv.gz", "interactions_chrono.tsv")
    if source == "auto":
        source = "ratings" if ratings_path is not None else "chrono"
    if source == "ratings":
        path = _require_file(ratings_path, folder, "MovieLens-1M ratings", "ratings.dat")
        inter = _read_delimited(
            path, "::", {USER: "int", ITEM: "int", RATING: "float", TIMESTAMP: "int"},
            encoding="latin-1",
        )
        inter = _canonical(inter)
    elif source == "chrono":
        path = _require_file(
            chrono_path, folder, "MovieLens-1M interactions (no ratings.dat either)",
            "ratings.dat", "interactions_chrono.tsv.gz",
        )
        inter = _read_ml1m_chrono(path)
    else:
        raise ValueError(f"source must be 'auto', 'ratings' or 'chrono', got {source!r}")

    users_path = _first_existing(folder, "users.dat")
    movies_path = _first_existing(folder, "movies.dat")
    user_features = item_features = None
    if users_path is not None:
        users = _read_delimited(
            users_path, "::",
            {USER: "int", "gender": "str", "age": "int", "occupation": "int", "zip": "str"},
            encoding="latin-1",
        )
        _check_unique(users_path, users, USER, 1)
        user_features = users.set_index(USER)
    else:
        logger.warning("%s: no users.dat, reading without user features", folder)
    if movies_path is not None:
        movies = _read_delimited(
            movies_path, "::", {ITEM: "int", "title": "str", "genres": "str?"},
            encoding="latin-1",
        )
        _check_unique(movies_path, movies, ITEM, 1)
        genres = movies["genres"].fillna("")
        movies["genres"] = [g.split("|") if g else [] for g in genres.tolist()]
        item_features = movies.set_index(ITEM)
    else:
        logger.warning("%s: no movies.dat, reading without item features", folder)
    return InteractionData(name, inter, user_features, item_features, source=str(path))


def _read_header(path: Path, sep: str = "\t", encoding: str = "utf-8") -> list[str]:
    with _gzip_guard(path), _open_binary(path) as fh:
        first = fh.readline()
    try:
        text = first.decode(encoding).rstrip("\r\n")
    except UnicodeDecodeError:
        raise DataFormatError(path, 1, f"a header line encoded as {encoding}", got=first[:200])
    if not text:
        raise DataFormatError(path, 1, "a header line", got="an empty line")
    return text.split(sep)


def _read_ml1m_chrono(path: Path) -> pd.DataFrame:
    header = _read_header(path)
    needed = ["user_id", "item_id", "seq_idx"]
    missing = [c for c in needed if c not in header]
    if missing or len(set(header)) != len(header):
        raise DataFormatError(
            path, 1,
            "a tab-separated header with distinct columns including user_id, item_id, "
            "seq_idx (and optionally rating, timestamp, ts_lo, ts_hi, rating_ge4)",
            got="\t".join(header),
        )
    kinds = {c: _ML1M_CHRONO_KINDS.get(c, "str?") for c in header}

    def check(chunk: pd.DataFrame, first_line: int) -> None:
        if "rating_ge4" in chunk.columns:
            flag = chunk["rating_ge4"]
            row = _first_true((flag.notna() & ~flag.isin([0, 1])).to_numpy())
            if row is not None:
                _raise_at(path, first_line + row, "rating_ge4 of 0, 1 or empty", flag.iloc[row])

    df = _read_delimited(path, "\t", kinds, skip_rows=1, check=check)
    users = df["user_id"].to_numpy()
    expected_pos = _position_in_sequence(users)
    row = _first_true(df["seq_idx"].to_numpy() != expected_pos)
    if row is not None:
        _raise_at(
            path, row + 2,
            f"seq_idx {expected_pos[row]} (rows of each user in chronological order, "
            "numbered from 0)",
            int(df["seq_idx"].iloc[row]),
        )
    out = pd.DataFrame(
        {
            USER: users,
            ITEM: df["item_id"].to_numpy(),
            TIMESTAMP: df["seq_idx"].to_numpy(dtype=np.int64),
            RATING: (
                df["rating"].astype(np.float64) if "rating" in df else np.full(len(df), np.nan)
            ),
        }
    )
    for src, dst in (("timestamp", "unix_time"), ("ts_lo", "unix_time_lo"),
                     ("ts_hi", "unix_time_hi")):
        if src in df.columns:
            out[dst] = df[src].astype("Int64")
    if "rating_ge4" in df.columns:
        out["rating_ge4"] = df["rating_ge4"].astype("Int64").astype("boolean")
    return out


def read_movielens_100k(folder: PathLike, name: str = "ml-100k") -> InteractionData:
    """Reads MovieLens-100K from ``folder``.

    Files: ``u.data`` (tab-separated ``user item rating timestamp``), optional ``u.user``
    (``user|age|gender|occupation|zip``), ``u.item`` (``|``-separated, latin-1, 5 fields then
    19 genre flags) and ``u.genre`` (genre names; the standard 19 names are used without it).

    Returns:
      interactions (user, item, timestamp, rating); user_features (age, gender, occupation,
      zip); item_features (title, release_date, video_release_date, imdb_url, genres).
    """
    folder = Path(folder)
    data_path = _require_file(_first_existing(folder, "u.data", "u.data.gz"), folder,
                              "MovieLens-100K ratings", "u.data")
    inter = _read_delimited(
        data_path, "\t", {USER: "int", ITEM: "int", RATING: "float", TIMESTAMP: "int"}
    )
    inter = _canonical(inter)

    user_features = item_features = None
    user_path = _first_existing(folder, "u.user")
    if user_path is not None:
        users = _read_delimited(
            user_path, "|",
            {USER: "int", "age": "int", "gender": "str", "occupation": "str", "zip": "str"},
            encoding="latin-1",
        )
        _check_unique(user_path, users, USER, 1)
        user_features = users.set_index(USER)
    item_path = _first_existing(folder, "u.item")
    if item_path is not None:
        genre_names = list(ML_100K_GENRES)
        genre_path = _first_existing(folder, "u.genre")
        if genre_path is not None:
            genre_table = _read_genre_table(genre_path)
            if genre_table is not None:
                genre_names = genre_table
        flag_cols = [f"genre_{i}" for i in range(len(genre_names))]
        kinds = {ITEM: "int", "title": "str?", "release_date": "str?",
                 "video_release_date": "str?", "imdb_url": "str?"}
        kinds.update({c: "int" for c in flag_cols})
        items = _read_delimited(item_path, "|", kinds, encoding="latin-1")
        _check_unique(item_path, items, ITEM, 1)
        flags = items[flag_cols].to_numpy()
        bad = ~np.isin(flags, (0, 1))
        row = _first_true(bad.any(axis=1))
        if row is not None:
            _raise_at(item_path, row + 1, "genre flags of 0 or 1", flags[row].tolist())
        items = items.drop(columns=flag_cols)
        items["genres"] = _lists_from_mask(flags.astype(bool), genre_names)
        item_features = items.set_index(ITEM)
    return InteractionData(name, inter, user_features, item_features, source=str(data_path))


def _read_genre_table(path: Path) -> list[str] | None:
    """u.genre: ``name|index`` lines (a trailing blank line is common in this file)."""
    text = _read_text(path, "latin-1")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    try:
        pairs = sorted((int(idx), genre) for genre, idx in (ln.split("|") for ln in lines))
    except ValueError:
        logger.warning("%s: not a name|index table; using the standard genre names", path)
        return None
    if [i for i, _ in pairs] != list(range(len(pairs))):
        logger.warning("%s: genre indices not 0..n-1; using the standard genre names", path)
        return None
    return [g for _, g in pairs]


# --------------------------------------------------------------------------------------
# Sequence text files (SASRec / S3-Rec)
# --------------------------------------------------------------------------------------


def _token_lines(path: Path, encoding: str = "utf-8") -> pd.Series:
    """The lines of a text file as a Series (final line terminator not counted)."""
    text = _read_text(path, encoding)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return pd.Series(lines, dtype=object).str.rstrip("\r")


_ASCII_WS = np.frombuffer(b" \t\n\r\x0b\x0c", dtype=np.uint8)


def _tokenize_lines(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Splits text into whitespace-separated tokens without a Python loop over lines.

    Returns (tokens as a numpy bytes array, number of tokens on each line). The final line
    terminator does not start a new line.
    """
    n_lines = data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)
    if not data:
        return np.array([], dtype="S1"), np.zeros(0, dtype=np.int64)
    raw = np.frombuffer(data, dtype=np.uint8)
    is_ws = np.isin(raw, _ASCII_WS)
    prev_ws = np.concatenate(([True], is_ws[:-1]))
    starts = np.flatnonzero(~is_ws & prev_ws)
    line_of_token = np.cumsum(raw == 10)[starts]
    counts = np.bincount(line_of_token, minlength=n_lines).astype(np.int64)
    tokens = np.array(data.split())
    if len(tokens) != len(starts):  # pragma: no cover - both split on ASCII whitespace
        raise AssertionError("tokenizer mismatch")
    return tokens, counts


def _line_text(data: bytes, lineno: int) -> str:
    """The text of 1-based line ``lineno`` (for error messages only)."""
    line = data.split(b"\n", lineno)[lineno - 1] if lineno >= 1 else b""
    return line.rstrip(b"\r").decode("utf-8", "replace")[:200]


def _ids_from_bytes(
    tokens: np.ndarray, path: Path, lines: np.ndarray, what: str, numeric: bool | None
) -> np.ndarray:
    """Like :func:`_ids` for a numpy bytes array of tokens."""
    if numeric is not False:
        try:
            return tokens.astype(np.int64)
        except (ValueError, OverflowError):
            if numeric:
                as_str = pd.Series(np.char.decode(tokens, "utf-8", "replace"), dtype=object)
                return _parse_int_tokens(as_str, path, lines, what)
    try:
        return np.char.decode(tokens, "utf-8").astype(object)
    except UnicodeDecodeError as exc:
        raise DataFormatError(path, None, f"UTF-8 {what}s", got=str(exc)) from exc


def read_sequence_file(
    path: PathLike,
    name: str | None = None,
    format: str = "auto",
    numeric_ids: bool | None = True,
    item_attributes: PathLike | None = None,
) -> InteractionData:
    """Reads a SASRec / S3-Rec style sequence file (plain or ``.gz``).

    Two layouts, both with each user's items in time order:
      * ``pairs``: one ``user item`` pair per line (SASRec ``ml-1m.txt``);
      * ``lines``: one ``user item1 item2 ...`` line per user (S3-Rec ``Beauty.txt``).
    ``format="auto"`` picks ``pairs`` when every line has exactly two tokens.

    Args:
      path: the text file; tokens are separated by ASCII whitespace.
      name: dataset name (default: file name without extensions).
      format: ``"auto"``, ``"pairs"`` or ``"lines"``.
      numeric_ids: True: ids must be integers (int64); False: keep them as str; None: int64
        when all are integers, else str.
      item_attributes: optional S3-Rec ``*_item2attributes.json`` to attach as
        ``item_features['attributes']``.

    Returns:
      interactions with ``timestamp`` = 0-based position within the user's sequence (a
      user listed on several lines continues its sequence).
    """
    path = Path(path)
    if format not in ("auto", "pairs", "lines"):
        raise ValueError(f"format must be 'auto', 'pairs' or 'lines', got {format!r}")
    data = _read_bytes(path)
    tokens, counts = _tokenize_lines(data)
    row = _first_true(counts == 0)
    if row is not None:
        _raise_at(path, row + 1, "'user item ...' (empty lines are not allowed)",
                  _line_text(data, row + 1))
    row = _first_true(counts == 1)
    if row is not None:
        _raise_at(path, row + 1, "a user id followed by at least one item id "
                  "(empty user sequence)", _line_text(data, row + 1))
    if format == "auto":
        format = "pairs" if len(counts) and bool((counts == 2).all()) else "lines"
    line_numbers = np.arange(1, len(counts) + 1)
    if format == "pairs":
        row = _first_true(counts != 2)
        if row is not None:
            _raise_at(path, row + 1, "2 fields 'user item'", _line_text(data, row + 1))
        users = _ids_from_bytes(tokens[0::2], path, line_numbers, "user id", numeric_ids)
        items = _ids_from_bytes(tokens[1::2], path, line_numbers, "item id", numeric_ids)
    else:
        starts = np.cumsum(counts) - counts
        is_user = np.zeros(len(tokens), dtype=bool)
        is_user[starts] = True
        users_once = _ids_from_bytes(tokens[starts], path, line_numbers, "user id", numeric_ids)
        users = np.repeat(users_once, counts - 1)
        item_lines = np.repeat(line_numbers, counts - 1)
        items = _ids_from_bytes(tokens[~is_user], path, item_lines, "item id", numeric_ids)
    inter = pd.DataFrame({USER: users, ITEM: items, TIMESTAMP: _position_in_sequence(users)})
    item_features = None
    if item_attributes is not None:
        item_features = read_s3rec_attributes(item_attributes)
    return InteractionData(name or _stem(path), _canonical(inter), None, item_features,
                           source=str(path))


def _read_json_object(path: Path, expected: str) -> tuple[str, dict]:
    """The text of a JSON file and its top-level object; bad JSON or a non-object raises
    ``DataFormatError`` naming the file, the line and ``expected``."""
    text = _read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFormatError(path, exc.lineno, expected, got=exc.msg) from exc
    if not isinstance(data, dict):
        raise DataFormatError(path, 1, expected, got=type(data).__name__)
    return text, data


def read_s3rec_attributes(path: PathLike) -> pd.DataFrame:
    """Reads an S3-Rec ``*_item2attributes.json`` (``{item_id: [attribute ids]}``).

    Returns:
      A table indexed by item id (int64) with column ``attributes`` (list of int).
    """
    path = Path(path)
    expected = "a JSON object {item_id: [attribute ids, ...]}"
    text, data = _read_json_object(path, expected)
    keys = pd.Series(list(data.keys()), dtype=object)
    values = list(data.values())
    bad_key = ~keys.str.fullmatch(r"[+-]?\d{1,18}").fillna(False).to_numpy(dtype=bool)
    row = _first_true(bad_key)
    if row is not None:
        _raise_at(path, _json_key_line(text, keys.iloc[row]), "integer item ids as keys",
                  keys.iloc[row])
    ok = [isinstance(v, list) and all(isinstance(a, int) and not isinstance(a, bool)
                                      for a in v) for v in values]
    row = _first_true(~np.asarray(ok, dtype=bool))
    if row is not None:
        _raise_at(path, _json_key_line(text, keys.iloc[row]),
                  f"a list of integer attribute ids for item {keys.iloc[row]}", values[row])
    index = pd.Index(keys.astype(np.int64).to_numpy(), name=ITEM)
    return pd.DataFrame({"attributes": values}, index=index)


def _json_key_line(text: str, key: str) -> int:
    """1-based line of the first occurrence of ``"key":`` in a JSON text (for messages)."""
    match = re.search(re.escape(json.dumps(str(key))) + r"\s*:", text)
    return text.count("\n", 0, match.start()) + 1 if match else 1


# --------------------------------------------------------------------------------------
# Amazon
# --------------------------------------------------------------------------------------


def read_amazon_ratings_csv(
    path: PathLike,
    name: str | None = None,
    columns: Sequence[str] = (USER, ITEM, RATING, TIMESTAMP),
) -> InteractionData:
    """Reads an Amazon ratings-only CSV without header (plain or ``.gz``).

    The 2014 files (``ratings_Books.csv``) are ``user,item,rating,timestamp``; the 2018
    files (``Books.csv``) are ``item,user,rating,timestamp``: pass
    ``columns=("item", "user", "rating", "timestamp")`` for those.

    Returns:
      interactions with str user/item ids, float rating and int64 unix-second timestamps.
    """
    path = Path(path)
    if sorted(columns) != sorted((USER, ITEM, RATING, TIMESTAMP)):
        raise ValueError(f"columns must be a permutation of user, item, rating, timestamp; "
                         f"got {columns!r}")
    kinds = {USER: "str", ITEM: "str", RATING: "float", TIMESTAMP: "int"}
    df = _read_delimited(path, ",", {c: kinds[c] for c in columns})
    return InteractionData(name or _stem(path), _canonical(df), source=str(path))


_REVIEW_FIELDS = ("reviewerID", "asin", "overall", "unixReviewTime")


def read_amazon_reviews_json(
    path: PathLike, name: str | None = None, chunk_lines: int = 200_000
) -> InteractionData:
    """Reads Amazon review JSON lines (e.g. 2014 ``reviews_Toys_and_Games_5.json.gz`` or the
    2018 5-core files), plain or gzip-compressed, in chunks of ``chunk_lines`` lines.

    Uses fields reviewerID (user), asin (item), overall (rating) and unixReviewTime
    (timestamp). A truncated gzip file raises DataFormatError naming the line reached.
    """
    path = Path(path)
    parts = []
    consumed = 0
    with _gzip_guard(path), _open_binary(path) as fh:
        while True:
            batch = list(itertools.islice(fh, chunk_lines))
            if not batch:
                break
            parts.append(_parse_review_batch(path, batch, consumed))
            consumed += len(batch)
    if parts:
        inter = pd.concat(parts, ignore_index=True)
    else:
        inter = pd.DataFrame({USER: pd.Series(dtype=object), ITEM: pd.Series(dtype=object),
                              TIMESTAMP: pd.Series(dtype=np.int64),
                              RATING: pd.Series(dtype=np.float64)})
    return InteractionData(name or _stem(path), _canonical(inter), source=str(path))


def _parse_review_batch(path: Path, batch: list, consumed: int) -> pd.DataFrame:
    expected = "one JSON object per line with fields " + ", ".join(_REVIEW_FIELDS)
    joined = b"".join(batch)
    if not joined.endswith(b"\n"):
        joined += b"\n"
    try:
        text = joined.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = joined.count(b"\n", 0, exc.start)
        raise DataFormatError(path, consumed + line + 1, "UTF-8 text", got=str(exc)) from exc
    lines = pd.Series(text[:-1].split("\n"), dtype=object)
    row = _first_true((lines.str.strip() == "").to_numpy(dtype=bool))
    if row is not None:
        _raise_at(path, consumed + row + 1, "a JSON object (empty lines are not allowed)", "")
    try:
        df = pd.read_json(io.StringIO(text), lines=True, dtype=False, convert_dates=False)
        if len(df) != len(batch):
            raise ValueError(f"{len(df)} records for {len(batch)} lines")
    except ValueError as exc:
        for i, line in enumerate(batch):
            try:
                record = json.loads(line)
            except ValueError:
                _raise_at(path, consumed + i + 1, expected, line[:200].decode("utf-8", "replace"))
            if not isinstance(record, dict):
                _raise_at(path, consumed + i + 1, expected, type(record).__name__)
        raise DataFormatError(path, consumed + 1, expected, got=str(exc)) from exc
    for field in _REVIEW_FIELDS:
        if field not in df.columns:
            _raise_at(path, consumed + 1, f"field '{field}' in every record",
                      sorted(map(str, df.columns)))
        row = _first_true(df[field].isna().to_numpy())
        if row is not None:
            _raise_at(path, consumed + row + 1, f"field '{field}' in every record",
                      batch[row][:200].decode("utf-8", "replace"))
    rating = pd.to_numeric(df["overall"], errors="coerce").astype(np.float64)
    row = _first_true(~np.isfinite(rating.to_numpy()))
    if row is not None:
        _raise_at(path, consumed + row + 1, "a numeric 'overall' rating", df["overall"].iloc[row])
    stamp = pd.to_numeric(df["unixReviewTime"], errors="coerce")
    bad = stamp.isna().to_numpy() | (stamp.to_numpy(dtype=np.float64, na_value=0.5) % 1 != 0)
    row = _first_true(bad)
    if row is not None:
        _raise_at(path, consumed + row + 1, "an integer 'unixReviewTime' (unix seconds)",
                  df["unixReviewTime"].iloc[row])
    users = df["reviewerID"].astype(str)
    items = df["asin"].astype(str)
    row = _first_true(((users == "") | (items == "")).to_numpy())
    if row is not None:
        _raise_at(path, consumed + row + 1, "non-empty 'reviewerID' and 'asin'",
                  batch[row][:200].decode("utf-8", "replace"))
    return pd.DataFrame({USER: users.to_numpy(dtype=object), ITEM: items.to_numpy(dtype=object),
                         TIMESTAMP: stamp.astype(np.int64).to_numpy(), RATING: rating.to_numpy()})


# --------------------------------------------------------------------------------------
# RecBole / UniSRec atomic files, MQL4GRec
# --------------------------------------------------------------------------------------


def _read_recbole_inter(path: Path) -> pd.DataFrame:
    """Reads a RecBole sequential ``.inter`` file (typed header) into columns
    user, hist, target (all str) plus ``line`` (1-based line numbers)."""
    header = _read_header(path)
    names = [field.split(":", 1)[0] for field in header]
    wanted = {"user_id": "user", "item_id_list": "hist", "item_id": "target"}
    if any(w not in names for w in wanted) or len(set(names)) != len(names):
        raise DataFormatError(
            path, 1,
            "a header with columns user_id:token, item_id_list:token_seq, item_id:token",
            got="\t".join(header),
        )
    df = _read_delimited(path, "\t", {n: ("str" if n in wanted else "str?") for n in names},
                         skip_rows=1)
    out = df[list(wanted)].rename(columns=wanted)
    out["hist"] = out["hist"].str.strip()
    out["line"] = np.arange(2, len(out) + 2)
    row = _first_true((out["hist"] == "").to_numpy())
    if row is not None:
        _raise_at(path, row + 2, "a non-empty item_id_list (empty user sequence)", "")
    return out


def read_unisrec(
    folder: PathLike,
    name: str,
    numeric_ids: bool | None = None,
    full_check: bool | None = None,
) -> InteractionData:
    """Reads a UniSRec / RecBole leave-one-out data set and rebuilds the full sequences.

    Files in ``folder`` (each optionally ``.gz``): ``{name}.train.inter``,
    ``{name}.valid.inter``, ``{name}.test.inter`` (header ``user_id:token
    item_id_list:token_seq item_id:token``); optional ``{name}.text`` (``item_id:token
    text:token_seq``, keyed by ASIN when ``{name}.item2index`` exists), ``{name}.item2index``
    and ``{name}.user2index`` (``original_id<TAB>index``).

    Each row states "history -> target". Per user, the train rows (one per prefix, in either
    file order), the valid row and the test row are ordered by position; the full sequence
    is the first row's history followed by every row's target. Without truncation this
    equals the test row's history + target; with histories truncated (UniSRec keeps the last
    50 items) the train rows supply the earlier items. Every row is then checked against the
    rebuilt sequence (its history must be the items right before its target): first and last
    history items always, every history item when ``full_check`` (default: when the files
    have at most 2 million rows).

    Args:
      numeric_ids: see :func:`read_sequence_file`; default None (int64 when all ids are
        integers; the merged UniSRec pre-training set uses ids like ``"0-123"``).

    Returns:
      interactions (timestamp = 0-based position); item_features with ``asin`` (from
      item2index) and ``text``; user_features with ``original_id`` (from user2index).
    """
    folder = Path(folder)
    paths = {}
    for split in ("train", "valid", "test"):
        paths[split] = _first_existing(folder, f"{name}.{split}.inter", f"{name}.{split}.inter.gz")
    if paths["test"] is None:
        raise DatasetNotAvailableError(f"{folder}: no {name}.test.inter(.gz)")
    frames = []
    for code, split in enumerate(("train", "valid", "test")):
        if paths[split] is None:
            logger.warning("%s: no %s.%s.inter; rebuilding sequences without it",
                           folder, name, split)
            continue
        df = _read_recbole_inter(paths[split])
        df["split"] = code
        df["file_row"] = np.arange(len(df))
        frames.append(df)
    rows = pd.concat(frames, ignore_index=True)
    file_of = {code: paths[s] for code, s in enumerate(("train", "valid", "test"))}
    seq = _rebuild_sequences(rows, file_of, full_check)
    users = _ids(seq["user"], paths["test"], seq["user_line"].to_numpy(), "user id",
                 numeric_ids)
    item_paths = np.array([file_of.get(code) for code in range(3)], dtype=object)
    items = _ids(seq["item"], item_paths[seq["split"].to_numpy()], seq["line"].to_numpy(),
                 "item id", numeric_ids)
    inter = pd.DataFrame({USER: users, ITEM: items, TIMESTAMP: seq["pos"].to_numpy()})
    item_features = _unisrec_item_features(folder, name, items, numeric_ids)
    user_features = _index_table(folder, name, "user2index", USER, users, numeric_ids)
    return InteractionData(name, _canonical(inter), user_features, item_features,
                           source=str(folder))


def _rebuild_sequences(
    rows: pd.DataFrame, file_of: Mapping[int, Path], full_check: bool | None
) -> pd.DataFrame:
    """Orders the "history -> target" rows of each user and rebuilds the sequences.

    Returns a table (user, item, pos, line, split, user_line) in user order of the test
    file; ``line``/``split`` say where each item id was read, ``user_line`` is the line of the
    user's test row.
    """
    test_rows = rows[rows["split"] == 2]
    dup = test_rows["user"].duplicated().to_numpy()
    row = _first_true(dup)
    if row is not None:
        _raise_at(file_of[2], test_rows["line"].iloc[row], "one test row per user",
                  test_rows["user"].iloc[row])
    valid_rows = rows[rows["split"] == 1]
    row = _first_true(valid_rows["user"].duplicated().to_numpy())
    if row is not None:
        _raise_at(file_of[1], valid_rows["line"].iloc[row], "at most one valid row per user",
                  valid_rows["user"].iloc[row])
    user_rank = pd.Series(np.arange(len(test_rows)), index=test_rows["user"].to_numpy())
    rank = user_rank.reindex(rows["user"].to_numpy()).to_numpy()
    row = _first_true(np.isnan(rank))
    if row is not None:
        _raise_at(file_of[int(rows["split"].iloc[row])], rows["line"].iloc[row],
                  f"user {rows['user'].iloc[row]} to also have a row in the test file")
    rank = rank.astype(np.int64)
    hist_len = (rows["hist"].str.count(" ") + 1).to_numpy(dtype=np.int64)

    # Direction of the train file: UniSRec writes each user's prefixes longest first.
    train = (rows["split"] == 0).to_numpy()
    same_user_next = np.zeros(len(rows), dtype=bool)
    same_user_next[:-1] = train[:-1] & train[1:] & (rows["user"].to_numpy()[:-1]
                                                     == rows["user"].to_numpy()[1:])
    diffs = np.diff(hist_len, append=0)[same_user_next]
    direction = -1 if (diffs < 0).sum() > (diffs > 0).sum() else 1
    # Sort: user (test file order), split, history length, then file order in the direction
    # of the file (ties are the truncated histories).
    order = np.lexsort((direction * rows["file_row"].to_numpy(), hist_len,
                        rows["split"].to_numpy(), rank))
    rows = rows.iloc[order].reset_index(drop=True)
    hist_len = hist_len[order]
    rank = rank[order]

    users = rows["user"].to_numpy()
    within = _position_in_sequence(rank)
    first = within == 0
    counts_per_user = np.bincount(rank)
    start_len = hist_len[first]                       # length of each user's first history
    target_pos = np.repeat(start_len, counts_per_user) + within
    seq_len = start_len + counts_per_user             # full sequence length per user
    offsets = np.concatenate(([0], np.cumsum(seq_len)[:-1]))

    # Flat sequence: first history tokens, then the targets.
    first_hist = rows["hist"][first].str.split(" ")
    head_tokens = first_hist.explode().to_numpy(dtype=object)
    head_user = np.repeat(np.arange(len(start_len)), start_len)
    head_pos = _position_in_sequence(head_user)
    head_line = np.repeat(rows["line"].to_numpy()[first], start_len)
    total = int(seq_len.sum())
    flat_items = np.empty(total, dtype=object)
    flat_line = np.empty(total, dtype=np.int64)
    flat_split = np.empty(total, dtype=np.int64)
    head_idx = offsets[head_user] + head_pos
    flat_items[head_idx] = head_tokens
    flat_line[head_idx] = head_line
    flat_split[head_idx] = np.repeat(rows["split"].to_numpy()[first], start_len)
    target_idx = offsets[rank] + target_pos
    flat_items[target_idx] = rows["target"].to_numpy(dtype=object)
    flat_line[target_idx] = rows["line"].to_numpy()
    flat_split[target_idx] = rows["split"].to_numpy()

    # Check every row against the rebuilt sequence.
    cap = int(hist_len.max()) if len(hist_len) else 0
    split_arr = rows["split"].to_numpy()
    line_arr = rows["line"].to_numpy()

    def fail(i: int, expected: str, got) -> None:
        _raise_at(file_of[int(split_arr[i])], line_arr[i],
                  f"{expected} (train/valid/test rows of user {users[i]} must describe one "
                  "sequence: each history is the items right before its target)", got)

    too_long = hist_len > target_pos
    odd_len = (hist_len != target_pos) & (hist_len != cap)
    row = _first_true(too_long | odd_len)
    if row is not None:
        fail(row, f"a history of {target_pos[row]} items (or truncated to {cap})",
             f"{hist_len[row]} items")
    last_tok = rows["hist"].str.rpartition(" ")[2].to_numpy(dtype=object)
    first_tok = rows["hist"].str.partition(" ")[0].to_numpy(dtype=object)
    exp_last = flat_items[offsets[rank] + target_pos - 1]
    exp_first = flat_items[offsets[rank] + target_pos - hist_len]
    row = _first_true((last_tok != exp_last) | (first_tok != exp_first))
    if row is not None:
        fail(row, f"a history starting with {exp_first[row]} and ending with {exp_last[row]}",
             rows["hist"].iloc[row][-200:])
    if full_check is None:
        full_check = len(rows) <= 2_000_000
    if full_check:
        tokens = rows["hist"].str.split(" ").explode().to_numpy(dtype=object)
        tok_row = np.repeat(np.arange(len(rows)), hist_len)
        tok_pos = _position_in_sequence(tok_row)
        expect = flat_items[offsets[rank[tok_row]] + target_pos[tok_row] - hist_len[tok_row]
                            + tok_pos]
        bad = _first_true(tokens != expect)
        if bad is not None:
            i = int(tok_row[bad])
            fail(i, f"item {expect[bad]} at history position {tok_pos[bad] + 1}", tokens[bad])

    seq_user = np.repeat(np.asarray(test_rows["user"].to_numpy(), dtype=object), seq_len)
    seq_pos = np.arange(total) - np.repeat(offsets, seq_len)
    return pd.DataFrame({"user": pd.Series(seq_user, dtype=object),
                         "item": pd.Series(flat_items, dtype=object),
                         "pos": seq_pos.astype(np.int64), "line": flat_line,
                         "split": flat_split,
                         "user_line": np.repeat(test_rows["line"].to_numpy(), seq_len)})


def _read_id_map(path: Path, key_name: str) -> pd.DataFrame:
    """``original_id<TAB>index`` lines -> columns key_name (str), index (str)."""
    df = _read_delimited(path, "\t", {key_name: "str", "index": "str"})
    _check_unique(path, df, "index", 1)
    _check_unique(path, df, key_name, 1)
    return df


def _typed_index(values: pd.Series, path: Path, like: np.ndarray,
                 numeric_ids: bool | None) -> np.ndarray:
    """Converts id strings of a side file the same way the interaction ids were converted."""
    lines = np.arange(1, len(values) + 1)
    numeric = like.dtype.kind == "i" if numeric_ids is None else numeric_ids
    return _ids(values.reset_index(drop=True), path, lines, "id", numeric)


def _index_table(folder: Path, name: str, suffix: str, index_name: str, like: np.ndarray,
                 numeric_ids: bool | None) -> pd.DataFrame | None:
    path = _first_existing(folder, f"{name}.{suffix}", f"{name}.{suffix}.gz")
    if path is None:
        return None
    df = _read_id_map(path, "original_id")
    index = pd.Index(_typed_index(df["index"], path, like, numeric_ids), name=index_name)
    return pd.DataFrame({"original_id": df["original_id"].to_numpy()}, index=index)


def _unisrec_item_features(folder: Path, name: str, items: np.ndarray,
                           numeric_ids: bool | None) -> pd.DataFrame | None:
    table = _index_table(folder, name, "item2index", ITEM, items, numeric_ids)
    if table is not None:
        table = table.rename(columns={"original_id": "asin"})
    text_path = _first_existing(folder, f"{name}.text", f"{name}.text.gz")
    if text_path is None:
        return table
    lines = _token_lines(text_path)
    header = lines.iloc[0] if len(lines) else ""
    if not header.startswith("item_id:") or "\t" not in header:
        _raise_at(text_path, 1, "a header 'item_id:token<TAB>text:token_seq'", header)
    body = lines.iloc[1:].reset_index(drop=True)
    parts = body.str.partition("\t")
    row = _first_true((parts[1] == "").to_numpy() | (parts[0] == "").to_numpy())
    if row is not None:
        _raise_at(text_path, row + 2, "'item_id<TAB>text'", body.iloc[row][:200])
    keys = parts[0]
    _check_unique(text_path, pd.DataFrame({"item_id": keys}), "item_id", 2)
    texts = pd.Series(parts[2].to_numpy(dtype=object), index=keys.to_numpy())
    if table is not None and keys.isin(table["asin"]).mean() > 0.5:
        table["text"] = texts.reindex(table["asin"].to_numpy()).to_numpy()
        unmatched = int((~keys.isin(table["asin"])).sum())
        if unmatched:
            logger.warning("%s: %d text rows have no entry in %s.item2index", text_path,
                           unmatched, name)
        return table
    index = pd.Index(_typed_index(keys, text_path, items, numeric_ids), name=ITEM)
    text_table = pd.DataFrame({"text": texts.to_numpy()}, index=index)
    if table is None:
        return text_table
    return table.join(text_table, how="left")


def read_mql4grec(folder: PathLike, name: str, check_splits: bool = True) -> InteractionData:
    """Reads an LC-Rec / MQL4GRec data set (e.g. ``Instruments``).

    Files in ``folder`` (each optionally ``.gz``): ``{name}.inter.json`` (JSON object
    ``{user_index: [item_index, ...]}``, complete sequences in time order), optional
    ``{name}.item2id`` / ``{name}.user2id`` (``original_id<TAB>index``), optional
    ``{name}.item.json`` (``{item_index: {"title": ..., "description": ...}}``) and the
    RecBole leave-one-out files ``{name}.{valid,test}.inter``, whose targets are checked
    against the last two items of each sequence when ``check_splits``.

    Returns:
      interactions (int64 ids, timestamp = 0-based position); item_features with ``asin``
      (and ``title``/``description``/``text`` when item.json exists); user_features with
      ``original_id``.
    """
    folder = Path(folder)
    path = _first_existing(folder, f"{name}.inter.json", f"{name}.inter.json.gz")
    if path is None:
        raise DatasetNotAvailableError(f"{folder}: no {name}.inter.json(.gz)")
    expected = "a JSON object {user_index: [item_index, ...]}"
    text, data = _read_json_object(path, expected)
    keys = pd.Series(list(data.keys()), dtype=object)
    seqs = list(data.values())
    lengths = np.fromiter((len(s) if isinstance(s, list) else -1 for s in seqs), dtype=np.int64,
                          count=len(seqs))
    row = _first_true(lengths <= 0)
    if row is not None:
        _raise_at(path, _json_key_line(text, keys.iloc[row]),
                  "a non-empty list of item indices (empty user sequence)", seqs[row])
    flat = list(itertools.chain.from_iterable(seqs))
    items = np.asarray(flat)
    if items.dtype.kind != "i":
        # Error path only: find the first value that is not an integer.
        is_int = np.fromiter((type(v) is int for v in flat), dtype=bool, count=len(flat))
        bad = _first_true(~is_int)
        if bad is None:  # pragma: no cover - integers too large for int64
            raise DataFormatError(path, None, "item indices that fit in int64")
        owner = int(np.searchsorted(np.cumsum(lengths), bad, side="right"))
        _raise_at(path, _json_key_line(text, keys.iloc[owner]), "integer item indices",
                  flat[bad])
    items = items.astype(np.int64)
    key_lines = np.ones(len(keys), dtype=np.int64)
    users_once = _ids(keys, path, key_lines, "user index", True)
    users = np.repeat(users_once, lengths)
    inter = pd.DataFrame({USER: users, ITEM: items, TIMESTAMP: _position_in_sequence(users)})
    if check_splits:
        _check_mql4grec_splits(folder, name, users_once, items, lengths)

    item_features = _index_table(folder, name, "item2id", ITEM, items, True)
    if item_features is not None:
        item_features = item_features.rename(columns={"original_id": "asin"})
    item_json = _first_existing(folder, f"{name}.item.json", f"{name}.item.json.gz")
    if item_json is not None:
        meta = _read_item_json(item_json)
        item_features = meta if item_features is None else item_features.join(meta, how="left")
    user_features = _index_table(folder, name, "user2id", USER, users, True)
    return InteractionData(name, _canonical(inter), user_features, item_features,
                           source=str(folder))


def _check_mql4grec_splits(folder: Path, name: str, users_once: np.ndarray,
                           items: np.ndarray, lengths: np.ndarray) -> None:
    ends = np.cumsum(lengths)
    last = pd.Series(items[ends - 1], index=users_once)
    second = pd.Series(np.where(lengths >= 2, items[np.maximum(ends - 2, 0)], -1),
                       index=users_once)
    for split, expect in (("test", last), ("valid", second)):
        path = _first_existing(folder, f"{name}.{split}.inter", f"{name}.{split}.inter.gz")
        if path is None:
            continue
        df = _read_recbole_inter(path)
        lines = df["line"].to_numpy()
        u = _ids(df["user"], path, lines, "user id", True)
        t = _ids(df["target"], path, lines, "item id", True)
        want = expect.reindex(u).to_numpy()
        row = _first_true(np.isnan(want.astype(np.float64)) | (want != t))
        if row is not None:
            _raise_at(path, lines[row],
                      f"target {want[row]} (item {'-1' if split == 'test' else '-2'} of user "
                      f"{u[row]}'s sequence in {name}.inter.json)", int(t[row]))


def _read_item_json(path: Path) -> pd.DataFrame:
    _, data = _read_json_object(path, "a JSON object {item_index: {...}}")
    if not all(isinstance(v, dict) for v in data.values()):
        raise DataFormatError(path, 1, "a JSON object {item_index: {field: value}}")
    meta = pd.DataFrame.from_dict(data, orient="index")
    keys = pd.Series(meta.index.astype(str), dtype=object)
    meta.index = pd.Index(_ids(keys, path, np.ones(len(keys), dtype=np.int64), "item index",
                               True), name=ITEM)
    pieces = [meta[c].fillna("").astype(str) for c in ("title", "description") if c in meta]
    if pieces:
        text_col = pieces[0]
        for extra in pieces[1:]:
            text_col = text_col.str.cat(extra, sep=" ")
        meta["text"] = text_col.str.strip()
    return meta


# --------------------------------------------------------------------------------------
# Taobao
# --------------------------------------------------------------------------------------


def read_taobao_user_behavior(
    path: PathLike,
    behaviors: Sequence[str] | None = ("pv",),
    name: str = "taobao-user-behavior",
    chunksize: int = 5_000_000,
) -> InteractionData:
    """Reads Tianchi's ``UserBehavior.csv`` (``user_id,item_id,category_id,behavior_type,
    timestamp``, no header; plain or ``.gz``).

    Args:
      behaviors: behaviour types to keep (``pv`` click, ``buy``, ``cart``, ``fav``); SINE
        uses clicks, the default. ``None`` keeps all. Every row is validated, including the
        ones that are not kept; how many were kept is logged.
      chunksize: rows per chunk (bounds memory on the 100M-row file).

    Returns:
      interactions (user, item, timestamp, behavior) and item_features['category'] (the
      category of each kept item's first row).
    """
    path = Path(path)
    if behaviors is not None:
        behaviors = tuple(behaviors)
        unknown = sorted(set(behaviors) - set(TAOBAO_BEHAVIORS))
        if unknown:
            raise ValueError(f"unknown behaviour types {unknown}; known: {TAOBAO_BEHAVIORS}")

    def check(chunk: pd.DataFrame, first_line: int) -> None:
        ok = chunk["behavior"].isin(TAOBAO_BEHAVIORS).to_numpy()
        row = _first_true(~ok)
        if row is not None:
            _raise_at(path, first_line + row, f"behavior_type in {TAOBAO_BEHAVIORS}",
                      chunk["behavior"].iloc[row])

    keep = None if behaviors is None else (lambda chunk: chunk["behavior"].isin(behaviors))
    counted = {"rows": 0}

    def count_then_keep(chunk: pd.DataFrame, first_line: int) -> None:
        check(chunk, first_line)
        counted["rows"] += len(chunk)

    df = _read_delimited(
        path, ",",
        {USER: "int", ITEM: "int", "category": "int", "behavior": "cat", TIMESTAMP: "int"},
        chunksize=chunksize, check=count_then_keep, keep=keep,
    )
    df["behavior"] = df["behavior"].astype(pd.CategoricalDtype(list(TAOBAO_BEHAVIORS)))
    logger.info("%s: kept %d of %d rows (behaviours %s)", path, len(df), counted["rows"],
                "all" if behaviors is None else ",".join(behaviors))
    first_rows = df.drop_duplicates(ITEM)
    n_multi = int((df.groupby(ITEM)["category"].nunique() > 1).sum()) if len(df) else 0
    if n_multi:
        logger.warning("%s: %d items appear with more than one category; keeping the first",
                       path, n_multi)
    item_features = first_rows.set_index(ITEM)[["category"]]
    return InteractionData(name, _canonical(df, extra=("behavior",)), None, item_features,
                           source=str(path))


# --------------------------------------------------------------------------------------
# UCI Online Retail
# --------------------------------------------------------------------------------------


def _read_table_any(path: Path, encoding: str | None) -> tuple[pd.DataFrame, int | None]:
    """Reads xlsx / csv / parquet; returns the frame and the line of its first data row
    (None for parquet, whose rows are then reported as 1-based row numbers)."""
    suffixes = [s.lower() for s in path.suffixes]
    text_cols = {"InvoiceNo": str, "StockCode": str, "Description": str, "Country": str}
    if suffixes and suffixes[-1] in (".xlsx", ".xlsm", ".xls"):
        try:
            if suffixes[-1] != ".xls":
                import openpyxl  # noqa: F401
        except ImportError as exc:
            raise ImportError(
                f"reading {path.name} needs openpyxl (pip install openpyxl), or convert the "
                "workbook to CSV or Parquet first"
            ) from exc
        return pd.read_excel(path, dtype=text_cols), 2
    if ".parquet" in suffixes or ".pq" in suffixes:
        return pd.read_parquet(path), None
    if ".csv" in suffixes:
        kwargs = {"dtype": text_cols, "keep_default_na": False, "na_values": [""]}
        try:
            with _gzip_guard(path):
                return pd.read_csv(path, encoding=encoding or "utf-8", **kwargs), 2
        except UnicodeDecodeError:
            if encoding is not None:
                raise
            logger.info("%s: not UTF-8, reading as ISO-8859-1", path)
            return pd.read_csv(path, encoding="ISO-8859-1", **kwargs), 2
        except pd.errors.ParserError as exc:
            raise DataFormatError(path, None, "a CSV table", got=str(exc)) from exc
    raise ValueError(f"{path}: expected a .xlsx, .csv or .parquet file")


def _parse_datetimes(values: pd.Series) -> pd.Series:
    """Datetimes from datetime values or strings (ISO, or the UCI CSV's 'M/D/YYYY H:MM').

    Strings are parsed once per distinct value (invoices share their time stamps)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.reset_index(drop=True)
    codes, uniques = pd.factorize(values)
    as_str = pd.Series(pd.Index(uniques).astype(str).str.strip(), dtype=object)
    parsed = pd.to_datetime(as_str, format="ISO8601", errors="coerce")
    for fmt in ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S"):
        missing = parsed.isna()
        if not missing.any():
            break
        parsed[missing] = pd.to_datetime(as_str[missing], format=fmt, errors="coerce")
    out = pd.Series(pd.NaT, index=range(len(codes)), dtype=parsed.dtype)
    present = codes >= 0
    out[present] = parsed.to_numpy()[codes[present]]
    return out


def read_online_retail(
    path: PathLike,
    drop_missing_customer: bool = True,
    name: str = "online-retail",
    encoding: str | None = None,
    missing_customer_ids: Sequence[int] = (),
) -> InteractionData:
    """Reads the UCI Online Retail table (``.xlsx`` needs openpyxl, ``.csv``, ``.parquet``).

    Columns InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID,
    Country. user = CustomerID (int64), item = StockCode (str), timestamp = InvoiceDate in
    unix seconds (the dates carry no time zone; they are read as UTC).

    Args:
      drop_missing_customer: drop rows without CustomerID (about 25% of the original
        workbook), logging how many; with False they are kept and ``user`` is a nullable
        Int64 column.
      encoding: CSV encoding; default UTF-8 with a fallback to ISO-8859-1.
      missing_customer_ids: CustomerID values that stand for "no customer" (some cleaned
        copies, e.g. the one in shared/data, write 0 instead of leaving the cell empty);
        such rows are treated like rows without CustomerID.

    Returns:
      interactions (user, item, timestamp, invoice, quantity, unit_price) in file order;
      item_features['text'] = the most frequent Description of each StockCode;
      user_features['country'] = the Country of each customer's first row.
    """
    path = Path(path)
    df, first_line = _read_table_any(path, encoding)
    missing = [c for c in ONLINE_RETAIL_COLUMNS if c not in df.columns]
    if missing:
        raise DataFormatError(path, 1 if first_line else None,
                              f"columns {', '.join(ONLINE_RETAIL_COLUMNS)} (missing "
                              f"{', '.join(missing)})", got=[str(c) for c in df.columns])
    base = first_line if first_line is not None else 1
    n = len(df)

    def fail(mask, expected: str, column: str) -> None:
        row = _first_true(mask)
        if row is not None:
            _raise_at(path, base + row, f"{expected} in column '{column}'", df[column].iloc[row])

    def text_col(column: str) -> pd.Series:
        """Stripped strings (object dtype, None when missing); work on the distinct values."""
        codes, uniques = pd.factorize(df[column])
        cleaned = pd.Index(uniques).astype(str).str.strip().to_numpy(dtype=object)
        out = np.empty(len(codes), dtype=object)
        present = codes >= 0
        out[present] = cleaned[codes[present]]
        return pd.Series(out, dtype=object)

    customer_raw = df["CustomerID"]
    customer_missing = customer_raw.isna().to_numpy(dtype=bool)
    if customer_raw.dtype == object:
        customer_missing |= (text_col("CustomerID") == "").to_numpy(dtype=bool)
    customer = pd.to_numeric(customer_raw.where(~customer_missing), errors="coerce")
    cust_vals = customer.to_numpy(dtype=np.float64, na_value=np.nan)
    fail(~customer_missing & (np.isnan(cust_vals) | (np.nan_to_num(cust_vals) % 1 != 0)),
         "an integer customer id", "CustomerID")
    if len(missing_customer_ids):
        customer_missing |= np.isin(cust_vals, np.asarray(missing_customer_ids, dtype=np.float64))
        customer = customer.where(~customer_missing)

    stock = text_col("StockCode")
    fail((stock.isna() | (stock == "")).to_numpy(dtype=bool), "a non-empty stock code",
         "StockCode")
    when = _parse_datetimes(df["InvoiceDate"])
    fail(when.isna().to_numpy(dtype=bool), "a date-time (unparsable timestamp)", "InvoiceDate")
    quantity = pd.to_numeric(df["Quantity"], errors="coerce")
    qvals = quantity.to_numpy(dtype=np.float64, na_value=np.nan)
    fail(np.isnan(qvals) | (np.nan_to_num(qvals) % 1 != 0), "an integer quantity", "Quantity")
    price = pd.to_numeric(df["UnitPrice"], errors="coerce")
    fail(~np.isfinite(price.to_numpy(dtype=np.float64, na_value=np.nan)), "a number",
         "UnitPrice")
    invoice = text_col("InvoiceNo")
    fail((invoice.isna() | (invoice == "")).to_numpy(dtype=bool), "a non-empty invoice number",
         "InvoiceNo")

    if getattr(when.dt, "tz", None) is not None:
        when = when.dt.tz_convert("UTC").dt.tz_localize(None)
    seconds = when.astype("datetime64[s]").astype(np.int64)
    inter = pd.DataFrame({
        USER: customer.astype("Int64"),
        ITEM: stock.astype(object),
        TIMESTAMP: seconds.to_numpy(),
        "invoice": invoice.astype(object),
        "quantity": quantity.astype(np.int64),
        "unit_price": price.astype(np.float64),
    })
    description = text_col("Description")
    country = text_col("Country")
    n_missing = int(customer_missing.sum())
    if drop_missing_customer:
        keep = ~customer_missing
        inter = inter[keep].reset_index(drop=True)
        inter[USER] = inter[USER].astype(np.int64)
        description = description[keep].reset_index(drop=True)
        country = country[keep].reset_index(drop=True)
        logger.info("%s: dropped %d of %d rows without CustomerID", path, n_missing, n)
    elif n_missing:
        logger.info("%s: kept %d rows without CustomerID (user is NA)", path, n_missing)

    # Most frequent description per stock code (ties: the one seen first).
    desc = pd.DataFrame({ITEM: inter[ITEM], "text": description, "order": np.arange(len(inter))})
    desc = desc.dropna(subset=["text"])
    desc = desc[desc["text"] != ""]
    stats = desc.groupby([ITEM, "text"], sort=False).agg(n=("order", "size"),
                                                         first=("order", "min")).reset_index()
    stats = stats.sort_values([ITEM, "n", "first"], ascending=[True, False, True])
    best = stats.drop_duplicates(ITEM).set_index(ITEM)["text"].astype(object)
    items_in_order = pd.unique(inter[ITEM])
    item_features = pd.DataFrame({"text": best.reindex(items_in_order).to_numpy()},
                                 index=pd.Index(items_in_order, name=ITEM))
    users = pd.DataFrame({USER: inter[USER], "country": country.astype(object)})
    users = users.dropna(subset=[USER]).drop_duplicates(USER).set_index(USER)
    return InteractionData(
        name, _canonical(inter, extra=("invoice", "quantity", "unit_price")), users,
        item_features, source=str(path),
    )
