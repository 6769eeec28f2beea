"""Reproduces a paper table: trains every row's config (resuming finished runs), then prints
our numbers next to the paper's and writes the results JSON and markdown.

    python experiments/reproduce.py --table=sine_table1 --dataset=ml-1m \
        --data_dir=../shared/data --workdir=runs/sine_table1 --seeds=0,1,2

Each (model, seed) runs as its own ``experiments/main.py`` process in
``<workdir>/<dataset>/<model>/seed<k>``; a finished workdir is read, not re-run. With several
seeds the table shows mean ± std; the paired t-test of the paper's model against each
baseline is over test users (per-user metric averaged over seeds).
"""

import datetime
import json
import os
import platform
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# table -> (paper's own model, [(row label, config file relative to experiments/configs)])
TABLES = {
    "sine_table1": ("SINE", [
        ("GRU4Rec", "sine/gru4rec.py"),
        ("Caser", "sine/caser.py"),
        ("SASRec", "sine/sasrec.py"),
        ("MIND", "sine/mind.py"),
        ("MCPRN", "sine/mcprn.py"),
        ("SINE", "sine/sine.py"),
    ]),
    # A config file may carry extra comma-separated args after ":" (run as "<dataset>,<args>").
    "umi_table2": ("UMI", [
        ("DSSM", "umi/dssm.py"),
        ("YoutubeDNN", "umi/youtube_dnn.py"),
        ("MIND", "umi/mind.py"),
        ("MIND+HN", "umi/mind.py:hn"),
        ("ComiRec", "umi/comirec.py"),
        ("ComiRec+HN", "umi/comirec.py:hn"),
        ("UMI", "umi/umi.py"),
    ]),
    # MGNM Table 2 (Amazon columns; --dataset toys | instruments, or the offline stand-ins
    # toys-s3rec | instruments-2018). TGSRec is not reimplemented (see README).
    "mgnm_table2": ("MGNM", [
        ("Caser", "mgnm/caser.py"),
        ("A2SVD", "mgnm/a2svd.py"),
        ("GRU4Rec", "mgnm/gru4rec.py"),
        ("SLi-Rec", "mgnm/slirec.py"),
        ("MIMN", "mgnm/mimn.py"),
        ("MIND", "mgnm/mind.py"),
        ("ComiRec-DR", "mgnm/comirec_dr.py"),
        ("ComiRec-SA", "mgnm/comirec_sa.py"),
        ("SURGE", "mgnm/surge.py"),
        ("MGNM", "mgnm/mgnm.py"),
    ]),
    "mgnm_table3": ("MGNM", [
        ("w/o UGCN", "mgnm/mgnm.py:no_ugcn"),
        ("w/o L1Norm", "mgnm/mgnm.py:no_l1"),
        ("w/o BiLSTM", "mgnm/mgnm.py:no_bilstm"),
        ("w/o MaxPool", "mgnm/mgnm.py:no_maxpool"),
        ("SCN→BiLSTM", "mgnm/mgnm.py:scn_bilstm"),
        ("SCN→SumPool", "mgnm/mgnm.py:scn_sumpool"),
        ("SCN→SelfAtt", "mgnm/mgnm.py:scn_selfatt"),
        ("SCN (Transformer)", "mgnm/mgnm.py:scn_transformer"),
        ("MGNM", "mgnm/mgnm.py"),
    ]),
    # MGNM Figures 3-4 (no printed numbers): the number of graph layers L and of interests K.
    "mgnm_fig3_layers": ("MGNM", [(f"MGNM L={v}", f"mgnm/mgnm.py:layers={v}")
                                  for v in (1, 2, 3, 4)]),
    "mgnm_fig4_interests": ("MGNM", [(f"MGNM K={v}", f"mgnm/mgnm.py:interests={v}")
                                     for v in (1, 2, 3, 4, 5, 6)]),
    # MIRACLE Table 2 (--dataset scientific offline; the other five need their files).
    "miracle_table2": ("MIRACLE", [
        ("GRU4Rec", "miracle/gru4rec.py"),
        ("SASRec", "miracle/sasrec.py"),
        ("FDSA", "miracle/fdsa.py"),
        ("MIND", "miracle/mind.py"),
        ("ComiRec-DR", "miracle/comirec_dr.py"),
        ("S3-Rec", "miracle/s3rec.py"),
        ("BERT4Rec", "miracle/bert4rec.py"),
        ("UniSRec", "miracle/unisrec.py"),
        ("MIRACLE", "miracle/miracle.py"),
    ]),
    "miracle_table3": ("MIRACLE", [(f"MIRACLE L={v}", f"miracle/miracle.py:layers={v}")
                                   for v in (1, 2, 3)]),
    "miracle_table4": ("MIRACLE", [(f"MIRACLE C={v}", f"miracle/miracle.py:capsules={v}")
                                   for v in (16, 24, 32, 40)]),
}

# --dataset values that stand in for a paper column (offline copies of the paper's data).
PAPER_DATASET = {"ml-1m-sasrec": "ml-1m", "toys-s3rec": "toys", "instruments-2018": "instruments"}


def is_metric(key):
    """A test-metric key of a results entry ("HR@10", "GAUC", "HR@10_std"), not a p-value
    or run statistic."""
    return ("@" in key or key.split("_")[0] == "GAUC") and "_p_vs_" not in key


def workdir_name(label):
    """A row label as a directory name ("w/o UGCN" -> "w-o_UGCN", "SCN→BiLSTM" ->
    "SCN-to-BiLSTM"); labels of the SINE/UMI tables are unchanged."""
    return label.replace("/", "-").replace("→", "-to-").replace(" ", "_")

_TABLE = flags.DEFINE_enum("table", "sine_table1", list(TABLES), "Paper table.")
_DATASET = flags.DEFINE_string("dataset", "ml-1m", "Dataset column of the table.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "Folder with the dataset files.")
_WORKDIR = flags.DEFINE_string("workdir", "runs/sine_table1", "Root of the run workdirs.")
_SEEDS = flags.DEFINE_list("seeds", ["0"], "Seeds; several give mean ± std.")
_MODELS = flags.DEFINE_list("models", [], "Subset of row labels (default: all).")
_OVERRIDES = flags.DEFINE_multi_string("override", [], "Extra --config.x=y for every run.")
_RESULTS_OUT = flags.DEFINE_string("results_out", None, "Also write the results JSON here.")
_ONLY_FINISHED = flags.DEFINE_bool(
    "only_finished", False, "Report the finished runs only; start nothing (rows whose runs are "
    "missing or unfinished print as 'not run').")


def run_one(cfg_file, dataset, workdir, seed):
    final = os.path.join(workdir, "final.json")
    cfg_file, _, extra = cfg_file.partition(":")
    arg = f"{dataset},{extra}" if extra else dataset
    if not os.path.exists(final):
        cmd = [sys.executable, os.path.join(HERE, "main.py"),
               f"--config={os.path.join(HERE, 'configs', cfg_file)}:{arg}",
               f"--workdir={workdir}", f"--config.seed={seed}"]
        if _DATA_DIR.value:
            cmd.append(f"--data_dir={_DATA_DIR.value}")
        cmd += [f"--config.{o}" for o in _OVERRIDES.value]
        print("$", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
    with open(final) as f:
        return json.load(f)


def per_user_metrics(workdir, cutoffs, metrics, names=None, ties="average"):
    """Per-query metric arrays of a finished run (full ranking or sampled candidates)."""
    from mirec.metrics import full_ranking_metrics, sampled_ranking_metrics

    p = np.load(os.path.join(workdir, "predictions.npz"), allow_pickle=True)
    if "scores" in p:  # sampled candidates: one row per query (MGNM's protocol)
        _, per_user = sampled_ranking_metrics(p["scores"], cutoffs=cutoffs, ties=ties,
                                              per_user=True)
        return p["users"], {k: np.nan_to_num(v) for k, v in per_user.items()}
    targets = (p["target_values"], p["target_splits"])
    _, per_user = full_ranking_metrics(p["top_ids"], targets, cutoffs=cutoffs, metrics=metrics,
                                       per_user=True, names=names or None)
    return p["users"], per_user


def main(argv):
    del argv
    from mirec import report
    from mirec.metrics import paired_t_test
    from mirec.train import _git_commit

    own, rows = TABLES[_TABLE.value]
    if _MODELS.value:
        rows = [r for r in rows if r[0] in _MODELS.value]
    seeds = [int(s) for s in _SEEDS.value]
    t_all = time.time()
    results, per_user, walls = {}, {}, {}
    cutoffs = None
    for label, cfg_file in rows:
        finals = []
        for seed in seeds:
            wd = os.path.join(_WORKDIR.value, _DATASET.value, workdir_name(label),
                              f"seed{seed}")
            if _ONLY_FINISHED.value and not os.path.exists(os.path.join(wd, "final.json")):
                continue
            finals.append(run_one(cfg_file, _DATASET.value, wd, seed))
            cfg = json.load(open(os.path.join(wd, "config.json")))
            cutoffs = tuple(cfg["eval"]["cutoffs"])
            # The run's own metrics (UMI: recall shown as HitRate, precision).
            users, pu = per_user_metrics(wd, cutoffs,
                                         tuple(cfg["eval"].get("metrics", ("hr", "ndcg"))),
                                         cfg["eval"].get("metric_names") or None,
                                         cfg["eval"].get("ties", "average"))
            per_user.setdefault(label, []).append(pu)
        if not finals:
            print(f"{label}: no finished run", flush=True)
            continue
        walls[label] = float(np.mean([f["wall_seconds"] for f in finals]))
        entry = {}
        for m in finals[0]["test"]:
            vals = [f["test"][m] for f in finals]
            entry[m] = float(np.mean(vals))
            if len(vals) > 1:
                entry[f"{m}_std"] = float(np.std(vals, ddof=1))
        entry["wall_seconds"] = walls[label]
        entry["train_samples_per_second"] = float(np.mean(
            [f["train_samples_per_second"] for f in finals]))
        entry["best_epoch"] = [f["best_epoch"] for f in finals]
        results[label] = entry
        print(f"{label}: " + " ".join(f"{k}={v:.4f}" for k, v in entry.items()
                                      if isinstance(v, float) and is_metric(k))
              + f" wall={walls[label]:.0f}s", flush=True)
    # Paired t-tests over users: the paper's model vs each baseline.
    if own in per_user:
        mine = {k: np.mean([pu[k] for pu in per_user[own]], axis=0) for k in per_user[own][0]}
        for label in per_user:
            if label == own:
                continue
            theirs = {k: np.mean([pu[k] for pu in per_user[label]], axis=0)
                      for k in per_user[label][0]}
            for k in mine:
                _, p = paired_t_test(mine[k], theirs[k])
                results[label][f"{k}_p_vs_{own}"] = float(p)
    paper_dataset = PAPER_DATASET.get(_DATASET.value, _DATASET.value)
    out = {paper_dataset: {
        label: {k: v for k, v in e.items() if is_metric(k)}
        for label, e in results.items()},
        "meta": {"command": " ".join(sys.argv), "dataset_variant": _DATASET.value,
                 "date": datetime.date.today().isoformat(), "git_commit": _git_commit(),
                 "machine": f"{platform.machine()} {os.cpu_count()} CPUs, no GPU"
                 if not os.environ.get("CUDA_VISIBLE_DEVICES") else platform.machine(),
                 "wall_seconds_total": round(time.time() - t_all),
                 "wall_seconds_per_model": {k: round(v) for k, v in walls.items()},
                 "seeds": seeds, "details": results}}
    md = report.markdown(_TABLE.value, {paper_dataset: out[paper_dataset]})
    if paper_dataset != _DATASET.value:
        md += (f"\n\nData: `{_DATASET.value}` stands in for the paper's `{paper_dataset}` "
               "(see the dataset's config notes).")
    if own in per_user and len(per_user) > 1:
        md += ("\n\nPaired t-test over test users (queries, under sampled candidates), "
               + own + " vs each baseline (p-values):\n")
        for label, e in results.items():
            ps = {k.split("_p_vs_")[0]: v for k, v in e.items() if "_p_vs_" in k}
            if ps:
                md += f"\n- {label}: " + ", ".join(f"{k} p={v:.2g}" for k, v in ps.items())
    md += "\n\nWall time per model (s, mean over seeds): " + ", ".join(
        f"{k} {v:.0f}" for k, v in walls.items())
    print(md)
    root = os.path.join(_WORKDIR.value, _DATASET.value)
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "table.md"), "w") as f:
        f.write(md + "\n")
    report.save_results(os.path.join(root, f"{_TABLE.value}.json"), out)
    if _RESULTS_OUT.value:
        report.save_results(_RESULTS_OUT.value, out)


if __name__ == "__main__":
    app.run(main)
