"""Helpers shared by the benchmarks: timing and JSON output."""

import json
import os
import platform
import time

import mirec  # noqa: F401
import numpy as np
import tensorflow as tf


def machine():
    return {"platform": platform.platform(), "cpu_count": os.cpu_count(),
            "gpus": [g.name for g in tf.config.list_physical_devices("GPU")],
            "tensorflow": tf.__version__}


def write_json(path, payload):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    payload = dict(payload, machine=machine(), date=time.strftime("%Y-%m-%d %H:%M:%S"))
    with open(path, "w") as f:
        json.dump(payload, f, indent=2, default=float)
    print(f"wrote {path}")


def train_throughput(model, samples, batch_size, steps=200, warmup=16, seed=0,
                     steps_per_execution=8):
    """Training samples/s of ``model.fit`` over ``steps`` batches after ``warmup`` batches."""
    from mirec.data import pipeline

    ds = pipeline.train_dataset(samples, batch_size, seed=seed, drop_remainder=True).repeat()
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3),
                  steps_per_execution=steps_per_execution)
    model.fit(ds, steps_per_epoch=warmup, epochs=1, verbose=0)
    t = time.perf_counter()
    model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
    dt = time.perf_counter() - t
    return steps * batch_size / dt


def random_embeddings(n, dim, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, dim)).astype(np.float32)
