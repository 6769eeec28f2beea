"""Prints measured numbers next to the paper's as a markdown table.

    # from a committed results file
    python experiments/report.py --results=experiments/results/sine_table1.json
    # from run workdirs (each holds final.json and config.json)
    python experiments/report.py --table=sine_table1 --dataset=ml-1m \
        --workdirs=runs/table1/sine,runs/table1/mind
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from mirec import report  # noqa: E402

_RESULTS = flags.DEFINE_string("results", None, "A results JSON (experiments/results/*.json).")
_TABLE = flags.DEFINE_string("table", None, "Paper table key, e.g. sine_table1.")
_DATASET = flags.DEFINE_string("dataset", None, "Dataset key with --workdirs.")
_WORKDIRS = flags.DEFINE_list("workdirs", [], "Run workdirs; model name from config.json.")
_OUT = flags.DEFINE_string("out", None, "Also write the markdown to this file.")


def main(argv):
    del argv
    if _RESULTS.value:
        results = report.load_results(_RESULTS.value)
        table = _TABLE.value or os.path.splitext(os.path.basename(_RESULTS.value))[0]
    else:
        if not (_TABLE.value and _DATASET.value and _WORKDIRS.value):
            raise app.UsageError("give --results, or --table, --dataset and --workdirs")
        table = _TABLE.value
        results = report.results_from_workdirs(_DATASET.value, _WORKDIRS.value)
    md = report.markdown(table, results)
    print(md)
    if _OUT.value:
        with open(_OUT.value, "w") as f:
            f.write(md + "\n")


if __name__ == "__main__":
    app.run(main)
