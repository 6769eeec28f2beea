"""`make bench`: every benchmark, JSON files in --out."""

import os
import subprocess
import sys

from absl import app, flags

_OUT = flags.DEFINE_string("out", "runs/bench", "Output folder.")

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv):
    del argv
    os.makedirs(_OUT.value, exist_ok=True)
    for script, args in (
        ("train_throughput.py", ["--models=youtube_dnn,mind,sine,gru4rec,caser,sasrec,mcprn"]),
        ("retrieval_throughput.py", []),
        ("umi_alibaba_scale.py", []),
    ):
        name = script.replace(".py", ".json")
        cmd = [sys.executable, os.path.join(HERE, script), f"--out={_OUT.value}/{name}", *args]
        print("$", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)


if __name__ == "__main__":
    app.run(main)
