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
}

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


def per_user_metrics(workdir, cutoffs, metrics, names=None):
    from mirec.metrics import full_ranking_metrics

    p = np.load(os.path.join(workdir, "predictions.npz"), allow_pickle=True)
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
            wd = os.path.join(_WORKDIR.value, _DATASET.value, label, f"seed{seed}")
            if _ONLY_FINISHED.value and not os.path.exists(os.path.join(wd, "final.json")):
                continue
            finals.append(run_one(cfg_file, _DATASET.value, wd, seed))
            cfg = json.load(open(os.path.join(wd, "config.json")))
            cutoffs = tuple(cfg["eval"]["cutoffs"])
            # The run's own metrics (UMI: recall shown as HitRate, precision).
            users, pu = per_user_metrics(wd, cutoffs,
                                         tuple(cfg["eval"].get("metrics", ("hr", "ndcg"))),
                                         cfg["eval"].get("metric_names") or None)
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
                                      if isinstance(v, float) and "@" in k)
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
    paper_dataset = "ml-1m" if _DATASET.value.startswith("ml-1m") else _DATASET.value
    out = {paper_dataset: {
        label: {k: v for k, v in e.items() if "@" in k and "_p_vs_" not in k}
        for label, e in results.items()},
        "meta": {"command": " ".join(sys.argv), "dataset_variant": _DATASET.value,
                 "date": datetime.date.today().isoformat(), "git_commit": _git_commit(),
                 "machine": f"{platform.machine()} {os.cpu_count()} CPUs, no GPU"
                 if not os.environ.get("CUDA_VISIBLE_DEVICES") else platform.machine(),
                 "wall_seconds_total": round(time.time() - t_all),
                 "wall_seconds_per_model": {k: round(v) for k, v in walls.items()},
                 "seeds": seeds, "details": results}}
    md = report.markdown(_TABLE.value, {paper_dataset: out[paper_dataset]})
    if own in per_user and len(per_user) > 1:
        md += "\n\nPaired t-test over test users, " + own + " vs each baseline (p-values):\n"
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
