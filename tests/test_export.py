"""A trained model exports user tower + ScaNN index as a SavedModel that reloads and answers."""

import subprocess
import sys
import textwrap

import numpy as np

from mirec import retrieval, train
from tests.test_train import small, spine_config


def test_trained_model_exports_and_reloads_in_a_fresh_process(tmp_path):
    cfg = small(spine_config("mind"), epochs=1)
    cfg.dataset.profile_fields = ()
    wd = tmp_path / "run"
    train.train_and_evaluate(cfg, str(wd))
    path = train.export_serving_model(cfg, str(wd), index="scann", k=20,
                                      scann_kwargs=dict(exact=True))
    model, split, _ = train.restore_for_eval(cfg, str(wd))
    hist = split.test.history[:16]
    queries = model.encode_users({"history": hist})
    _, expected = retrieval.BruteForceIndex(model.item_embeddings().numpy()).search(queries, 20)
    np.save(tmp_path / "hist.npy", hist)
    code = textwrap.dedent(f"""
        import numpy as np
        from mirec.retrieval import load_retrieval_model
        m = load_retrieval_model({str(path)!r})
        out = m.serve(history=np.load({str(tmp_path / 'hist.npy')!r}))
        np.save({str(tmp_path / 'ids.npy')!r}, out["ids"].numpy())
    """)
    subprocess.run([sys.executable, "-c", code], check=True)
    ids = np.load(tmp_path / "ids.npy")
    assert ids.shape == (16, 20)
    np.testing.assert_array_equal(ids, expected)
    raw = np.load(f"{path}/item_ids.npy")
    assert len(raw) == model.num_items + 1
