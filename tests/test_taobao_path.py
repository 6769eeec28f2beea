"""SINE's large-catalogue path (Taobao clicks, ScaNN evaluation, user subsample) end to end on
the Taobao sample in ../shared/data; skipped when the real data is absent."""

import importlib.util
import pathlib

import pytest

from mirec import train

REPO = pathlib.Path(__file__).resolve().parents[1]


def _sine_config(arg):
    path = REPO / "experiments" / "configs" / "sine" / "sine.py"
    spec = importlib.util.spec_from_file_location("cfg_sine", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.get_config(arg)


@pytest.mark.realdata
def test_sine_on_the_taobao_sample_through_scann(shared_data, tmp_path):
    cfg = _sine_config("taobao-sample")
    assert cfg.eval.retrieval == "scann" and cfg.eval.cutoffs == (50, 100)
    assert (cfg.model.num_interests, cfg.model.num_prototypes) == (8, 1000)
    # 10 negatives in the authors' convention: 10 x batch 128, shared by the batch
    assert cfg.loss.num_negatives == 1280 and cfg.loss.shared_negatives
    cfg.dataset.max_users = 400
    cfg.dataset.user_core = 2
    cfg.dataset.item_core = 2
    cfg.model.embedding_dim = 16
    cfg.model.num_prototypes = 50
    cfg.train.epochs = 1
    cfg.train.verbose = 0
    test = train.train_and_evaluate(cfg, str(tmp_path), data_dir=str(shared_data))
    final = train.load_final(str(tmp_path))
    assert final["dataset"]["max_users"] == 400
    # 815 users in the sample, 813 of them with at least one click (pv)
    assert final["dataset"]["raw"]["users"] == 813
    assert set(test) == {"HR@50", "NDCG@50", "HR@100", "NDCG@100"}
    assert 0.0 <= test["NDCG@100"] <= test["HR@100"] <= 1.0
