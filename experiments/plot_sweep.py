"""Plots a hyper-parameter sweep (MGNM Figures 3-4, MIRACLE Tables 3-4) from its results JSON.

    python experiments/plot_sweep.py --results=runs/mgnm_fig4/toys-s3rec/mgnm_fig4_interests.json \
        --out=runs/mgnm_fig4/toys-s3rec/interests.png

Rows are labelled "<model> <param>=<value>" (as ``experiments/reproduce.py`` writes them);
one line per metric, our measured values solid and the paper's (where it printed numbers)
dashed. Also prints the numbers as a markdown table. Needs the ``plot`` extra (matplotlib).
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from mirec import report  # noqa: E402
from mirec.paper_tables import TABLES  # noqa: E402

_RESULTS = flags.DEFINE_string("results", None, "Results JSON written by reproduce.py.")
_TABLE = flags.DEFINE_string("table", None, "Paper table key (default: the file's name).")
_OUT = flags.DEFINE_string("out", None, "PNG path (default: beside the results file).")

_LABEL = re.compile(r"^(?P<model>.*?)\s*(?P<param>\w+)=(?P<value>[-\d.]+)$")


def sweep_points(models: dict):
    """``{label: metrics}`` -> (param name, sorted values, {metric: [value per point]})."""
    points = []
    for label, metrics in models.items():
        m = _LABEL.match(label)
        if not m:
            raise ValueError(f"row label {label!r} is not '<model> <param>=<value>'")
        points.append((float(m["value"]), m["param"], metrics))
    points.sort(key=lambda p: p[0])
    params = {p[1] for p in points}
    if len(params) != 1:
        raise ValueError(f"one swept parameter expected, got {sorted(params)}")
    names = [k for k in points[0][2] if "@" in k or k == "GAUC"]
    names = [k for k in names if not k.endswith("_std")]
    series = {k: [p[2].get(k) for p in points] for k in names}
    return params.pop(), [p[0] for p in points], series


def main(argv):
    del argv
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = report.load_results(_RESULTS.value)
    table = _TABLE.value or os.path.splitext(os.path.basename(_RESULTS.value))[0]
    print(report.markdown(table, results))
    datasets = [d for d in results if d != "meta"]
    fig, axes = plt.subplots(1, len(datasets), figsize=(5 * len(datasets), 4), squeeze=False)
    for ax, ds in zip(axes[0], datasets):
        param, xs, ours = sweep_points(results[ds])
        paper = TABLES.get(table, {}).get(ds, {})
        for k, ys in ours.items():
            line, = ax.plot(xs, ys, "o-", label=f"{k} (ours)")
            if paper:
                _, pxs, pser = sweep_points(paper)
                if k in pser:
                    ax.plot(pxs, pser[k], "s--", color=line.get_color(), label=f"{k} (paper)")
        ax.set_xlabel(param)
        ax.set_title(f"{table} — {ds}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    out = _OUT.value or os.path.splitext(_RESULTS.value)[0] + ".png"
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print(f"wrote {out}")


if __name__ == "__main__":
    app.run(main)
