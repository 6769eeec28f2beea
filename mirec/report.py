"""Results files and paper-vs-measured markdown tables.

A results file is ``{"<dataset>": {"<model>": {"<metric>": value}}, "meta": {...}}`` with
values as fractions. Entries may carry ``"<metric>_std"`` (over seeds) and ``"<metric>_p"``
(paired t-test p-value against the paper's model). Only measured values go in.
"""

from __future__ import annotations

import json
import os

from mirec.paper_tables import FRACTION_TABLES, TABLES


def load_results(path):
    with open(path) as f:
        return json.load(f)


def save_results(path, results):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)
        f.write("\n")


def results_from_workdirs(dataset, workdirs, model_names=None):
    """``{dataset: {model: test metrics}}`` from finished workdirs."""
    out = {dataset: {}}
    for i, wd in enumerate(workdirs):
        with open(os.path.join(wd, "final.json")) as f:
            final = json.load(f)
        name = (model_names[i] if model_names else None) or final.get("model_label") or \
            os.path.basename(os.path.normpath(wd))
        out[dataset][name] = final["test"]
    return out


def _fmt(v, pct=True):
    return "-" if v is None else (f"{100 * v:.2f}" if pct else f"{v:.4f}")


def markdown(table: str, results: dict, percent: bool | None = None) -> str:
    """One markdown table per dataset: paper, ours (± std), relative delta per metric.

    Values print as percentages unless the paper prints fractions (``FRACTION_TABLES``) or
    ``percent`` says otherwise.
    """
    if percent is None:
        percent = table not in FRACTION_TABLES
    paper = TABLES.get(table, {})
    blocks = []
    for dataset, models in results.items():
        if dataset == "meta":
            continue
        p_models = paper.get(dataset, {})
        metrics = []
        for src in list(p_models.values()) + list(models.values()):
            for m in src:
                if not m.endswith(("_std", "_p", "_n")) and m not in metrics:
                    metrics.append(m)
        order = list(p_models) + [m for m in models if m not in p_models]
        unit = " (%)" if percent else ""
        head = ["Model"] + [f"{m} paper / ours / Δrel" for m in metrics]
        lines = [f"### {table} — {dataset}{unit}", "", "| " + " | ".join(head) + " |",
                 "|" + "---|" * len(head)]
        for model in order:
            row = [model]
            for m in metrics:
                pv = p_models.get(model, {}).get(m)
                ov = models.get(model, {}).get(m)
                cell = _fmt(pv, percent) + " / "
                if ov is None:
                    cell += "not run"
                else:
                    cell += _fmt(ov, percent)
                    sd = models[model].get(f"{m}_std")
                    if sd is not None:
                        cell += f" ± {_fmt(sd, percent)}"
                    if pv:
                        cell += f" / {100 * (ov - pv) / pv:+.1f}%"
                row.append(cell)
            lines.append("| " + " | ".join(row) + " |")
        meta = results.get("meta")
        if meta:
            lines += ["", "Measured: " + ", ".join(f"{k}={v}" for k, v in meta.items()
                                                   if not isinstance(v, (dict, list)))]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
