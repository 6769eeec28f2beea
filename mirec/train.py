"""Training and evaluation of one configuration, writing everything into a workdir.

``train_and_evaluate(config, workdir)``:

1. prepares the dataset and protocol split (:mod:`mirec.data.prepare`);
2. builds the model (:mod:`mirec.models.registry`) under a ``tf.distribute`` strategy
   (``MirroredStrategy`` when several GPUs are visible, else the default);
3. trains with ``model.fit``; after each epoch evaluates the *validation* set, appends a
   record to ``metrics.jsonl``, keeps the best weights by ``config.train.selection_metric``,
   stops early after ``config.train.patience`` epochs without improvement, and checkpoints
   model + optimizer + early-stopping state so an interrupted run resumes where it stopped;
4. restores the best weights, evaluates the test set once, and writes ``metrics.jsonl``
   (``split: test``), ``predictions.npz``, ``config.json`` and ``run.json`` (library
   versions, git commit, wall time, training samples/s). A finished workdir is not re-run.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import subprocess
import time

import numpy as np

import mirec  # noqa: F401
import tensorflow as tf

from mirec import evaluation
from mirec.data import pipeline
from mirec.data.prepare import prepare
from mirec.models.registry import build_model

log = logging.getLogger(__name__)

FINAL_FILE = "final.json"


def _git_commit():
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              cwd=os.path.dirname(os.path.abspath(__file__)),
                              check=True).stdout.strip()
    except Exception:  # noqa: BLE001 - not a checkout
        return None


def library_versions():
    import scann  # noqa: F401
    import tensorflow_recommenders as tfrs
    import pandas as pd

    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "tf_keras": getattr(tf.keras, "__version__", None) or _pkg_version("tf-keras"),
            "tensorflow_recommenders": tfrs.__version__, "scann": _pkg_version("scann"),
            "numpy": np.__version__, "pandas": pd.__version__, "mirec": mirec.__version__}


def _pkg_version(name):
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def machine_description():
    gpus = tf.config.list_physical_devices("GPU")
    return {"platform": platform.platform(), "processor": platform.processor(),
            "cpu_count": os.cpu_count(), "gpus": [g.name for g in gpus]}


def _append_jsonl(path, record):
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def get_strategy():
    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


class _ValidationCallback(tf.keras.callbacks.Callback):
    """Per-epoch validation, best-weight keeping, early stopping and resumable checkpoints."""

    def __init__(self, run, evalset, user_features, state):
        super().__init__()
        self.run = run
        self.evalset = evalset
        self.user_features = user_features
        self.state = state
        self._t0 = None

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.time()

    def on_epoch_end(self, epoch, logs=None):
        run, cfg = self.run, self.run.config
        train_time = time.time() - self._t0
        t = time.time()
        res = evaluation.evaluate(self.model, self.evalset, cfg.eval, self.user_features)
        eval_time = time.time() - t
        key = cfg.train.selection_metric
        value = res[key]
        improved = value > self.state["best"]
        if improved:
            self.state.update(best=value, best_epoch=epoch, wait=0)
            run.best_manager.save(checkpoint_number=epoch)
        else:
            self.state["wait"] += 1
        self.state["epoch"] = epoch + 1
        self.state["train_seconds"] += train_time
        self.state["train_samples"] += run.num_train_samples
        record = {"split": "valid", "epoch": epoch + 1, "loss": float(logs.get("loss", np.nan)),
                  **res, "train_seconds": train_time, "eval_seconds": eval_time,
                  "samples_per_second": run.num_train_samples / max(train_time, 1e-9),
                  "best": improved}
        _append_jsonl(run.metrics_path, record)
        with run.summary_writer.as_default(step=epoch + 1):
            for k, v in record.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    tf.summary.scalar(f"valid/{k}", v)
        run.epoch_var.assign(epoch + 1)
        run.last_manager.save(checkpoint_number=epoch + 1)
        with open(run.state_path, "w") as f:
            json.dump(self.state, f)
        log.info("epoch %d: %s=%.5f (best %.5f @%d) loss=%.4f %.0f samples/s",
                 epoch + 1, key, value, self.state["best"], self.state["best_epoch"] + 1,
                 record["loss"], record["samples_per_second"])
        if self.state["wait"] >= cfg.train.patience:
            self.model.stop_training = True


def make_training_samples(config, split, max_len, seed):
    """Training (history, target) pairs as ``config.train.sampling`` says.

    ``"sliding_window"`` (SINE, MIRACLE, MGNM): every position of every training sequence.
    ``"random_target"`` (UMI, ComiRec): ``targets_per_user`` samples per training user, each a
    random target position with the items before it as history (drawn once with ``seed``;
    with ``config.train.fresh_targets`` the trainer draws new ones every epoch instead, see
    :func:`mirec.data.pipeline.fresh_random_target_dataset`, and these samples only size the
    epoch and build the model).
    """
    items, splits, users = split.train
    kind = config.train.get("sampling", "sliding_window")
    min_history = config.train.get("min_history", 1)
    if kind == "sliding_window":
        return pipeline.sliding_window_samples(items, splits, users, max_len,
                                               min_history=min_history)
    if kind == "random_target":
        rng = np.random.default_rng(seed)
        parts = [pipeline.random_target_samples(items, splits, users, max_len, rng,
                                                min_history=min_history)
                 for _ in range(int(config.train.get("targets_per_user", 10)))]
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    raise ValueError(f"config.train.sampling must be 'sliding_window' or 'random_target', "
                     f"got {kind!r}")


class Run:
    """The state of one training run in a workdir."""

    def __init__(self, config, workdir, data_dir=None):
        self.config = config
        self.workdir = workdir
        self.data_dir = data_dir
        os.makedirs(workdir, exist_ok=True)
        self.metrics_path = os.path.join(workdir, "metrics.jsonl")
        self.state_path = os.path.join(workdir, "state.json")


def train_and_evaluate(config, workdir: str, data_dir: str | None = None) -> dict:
    """Runs ``config`` in ``workdir`` and returns the final test metrics."""
    final_path = os.path.join(workdir, FINAL_FILE)
    if os.path.exists(final_path):
        with open(final_path) as f:
            final = json.load(f)
        log.info("%s already finished; not re-running", workdir)
        return final["test"]
    wall0 = time.time()
    run = Run(config, workdir, data_dir)
    seed = int(config.get("seed", 0))
    tf.keras.utils.set_random_seed(seed)
    data_dir = data_dir or config.dataset.get("data_dir", None) or None
    prepared = prepare(config.dataset, data_dir=data_dir, seed=seed)
    split, info = prepared.split, prepared.info
    with open(os.path.join(workdir, "config.json"), "w") as f:
        f.write(config.to_json_best_effort(indent=2))

    samples = make_training_samples(config, split, info.max_len, seed)
    samples = pipeline.add_user_features(samples, prepared.user_features)
    run.num_train_samples = len(samples["target"])
    if config.train.get("sampling") == "random_target" and config.train.get("fresh_targets"):
        items, splits, users = split.train
        ds = pipeline.fresh_random_target_dataset(
            items, splits, users, info.max_len, config.train.batch_size,
            int(config.train.get("targets_per_user", 10)), seed=seed,
            min_history=config.train.get("min_history", 1),
            user_features=prepared.user_features)
    else:
        ds = pipeline.train_dataset(samples, config.train.batch_size, seed=seed)

    strategy = get_strategy()
    with strategy.scope():
        model = build_model(config, info)
        optimizer = tf.keras.optimizers.Adam(config.train.learning_rate)
        model.compile(optimizer=optimizer,
                      steps_per_execution=int(config.train.get("steps_per_execution", 1)),
                      jit_compile=bool(config.train.get("jit_compile", False)))
        # Build every variable before checkpoint restoration.
        warm = {k: v[:2] for k, v in samples.items()}
        model(warm, training=False)
        model.item_embeddings()
    if config.get("pretrain") and config.pretrain.get("enabled", False):
        # Pre-training stage (MIRACLE, UniSRec, S3-Rec): its own checkpoints under
        # workdir/pretrain, resumed like fine-tuning; skipped once it has finished.
        from mirec import pretrain

        pretrain.run_pretraining(model, config, prepared, os.path.join(workdir, "pretrain"),
                                 data_dir=data_dir)
        # Compile again: Keras 2 restores every layer's `trainable` flag to its value at
        # compile time when fit() starts, which would undo finish_pretraining()'s freezing.
        with strategy.scope():
            optimizer = tf.keras.optimizers.Adam(config.train.learning_rate)
            model.compile(optimizer=optimizer,
                          steps_per_execution=int(config.train.get("steps_per_execution", 1)),
                          jit_compile=bool(config.train.get("jit_compile", False)))
    run.epoch_var = tf.Variable(0, dtype=tf.int64, trainable=False)
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer, epoch=run.epoch_var)
    run.last_manager = tf.train.CheckpointManager(ckpt, os.path.join(workdir, "ckpt"), 1)
    run.best_manager = tf.train.CheckpointManager(tf.train.Checkpoint(model=model),
                                                  os.path.join(workdir, "best"), 1)
    run.summary_writer = tf.summary.create_file_writer(os.path.join(workdir, "tensorboard"))
    state = {"best": -np.inf, "best_epoch": -1, "wait": 0, "epoch": 0, "train_seconds": 0.0,
             "train_samples": 0}
    if run.last_manager.latest_checkpoint and os.path.exists(run.state_path):
        ckpt.restore(run.last_manager.latest_checkpoint)
        with open(run.state_path) as f:
            state = json.load(f)
        log.info("resumed %s at epoch %d", workdir, state["epoch"])
    start_epoch = int(state["epoch"])
    epochs = int(config.train.epochs)
    if start_epoch < epochs and state["wait"] < config.train.patience:
        callback = _ValidationCallback(run, split.valid, prepared.user_features, state)
        model.fit(ds, epochs=epochs, initial_epoch=start_epoch,
                  verbose=config.train.get("verbose", 2), callbacks=[callback])

    if run.best_manager.latest_checkpoint:
        tf.train.Checkpoint(model=model).restore(run.best_manager.latest_checkpoint).expect_partial()
    t = time.time()
    test, preds = evaluation.evaluate(model, split.test, config.eval, prepared.user_features,
                                      return_predictions=True)
    test_seconds = time.time() - t
    valid = evaluation.evaluate(model, split.valid, config.eval, prepared.user_features)
    _append_jsonl(run.metrics_path, {"split": "test", "epoch": state["best_epoch"] + 1, **test,
                                     "eval_seconds": test_seconds})
    np.savez_compressed(os.path.join(workdir, "predictions.npz"), **preds)
    samples_per_s = state["train_samples"] / max(state["train_seconds"], 1e-9)
    final = {
        "test": test, "valid": valid, "best_epoch": state["best_epoch"] + 1,
        "epochs_run": state["epoch"], "selection_metric": config.train.selection_metric,
        "train_samples": run.num_train_samples, "train_samples_per_second": samples_per_s,
        "train_seconds": state["train_seconds"], "wall_seconds": time.time() - wall0,
        "test_eval_seconds": test_seconds, "dataset": prepared.stats,
        "versions": library_versions(), "git_commit": _git_commit(),
        "machine": machine_description(), "config_name": config.get("name", ""),
    }
    with open(os.path.join(workdir, "run.json"), "w") as f:
        json.dump(final, f, indent=2, default=str)
    with open(final_path, "w") as f:
        json.dump(final, f, indent=2, default=str)
    run.model = model
    return test


def load_final(workdir):
    """The ``final.json`` record of a finished run."""
    with open(os.path.join(workdir, FINAL_FILE)) as f:
        return json.load(f)


def restore_run(config, workdir, data_dir=None):
    """Rebuilds a finished run's model with its best weights; returns (model, prepared data)."""
    prepared = prepare(config.dataset, data_dir=data_dir or config.dataset.get("data_dir") or None,
                       seed=int(config.get("seed", 0)))
    model = build_model(config, prepared.info)
    h = prepared.split.valid.features(prepared.user_features)
    model({k: v[:2] for k, v in h.items()}, training=False)
    model.item_embeddings()
    best = tf.train.latest_checkpoint(os.path.join(workdir, "best"))
    if best is None:
        raise FileNotFoundError(f"no best checkpoint in {workdir}/best")
    tf.train.Checkpoint(model=model).restore(best).expect_partial()
    return model, prepared


def restore_for_eval(config, workdir, data_dir=None):
    """Like :func:`restore_run`; returns (model, split, config)."""
    model, prepared = restore_run(config, workdir, data_dir)
    return model, prepared.split, config


def export_serving_model(config, workdir, path=None, index="scann", k=100, data_dir=None,
                         scann_kwargs=None):
    """Exports a finished run's user tower and an item index as one SavedModel.

    The SavedModel's ``serve(history=..., <profile fields>=...)`` returns
    ``{"scores": (B, k), "ids": (B, k)}`` item ids (1..M, the run's remapped ids; the raw ids
    are in ``item_ids.npy`` beside it). Reload with :func:`mirec.retrieval.load_retrieval_model`
    (it imports ScaNN's ops first). Returns the export path.
    """
    from mirec import retrieval

    model, prepared = restore_run(config, workdir, data_dir)
    items = model.item_embeddings().numpy()
    if index == "scann":
        idx = retrieval.ScaNNIndex(items, k=k, **dict(scann_kwargs or {}))
    else:
        idx = retrieval.BruteForceIndex(items)
    signature = {"history": tf.TensorSpec([None, prepared.info.max_len], tf.int32)}
    for name in model.user_tower.profile_vocab if hasattr(model.user_tower, "profile_vocab") \
            else ():
        signature[name] = tf.TensorSpec([None], tf.int32)
    if getattr(model.user_tower, "uses_user_id", False) or \
            getattr(model.user_tower, "user_embedding", None) is not None:
        signature["user"] = tf.TensorSpec([None], tf.int32)  # e.g. MGNM's user-aware graph
    path = path or os.path.join(workdir, "export")
    retrieval.export_retrieval_model(model.user_tower, idx, path, signature, k=k)
    np.save(os.path.join(path, "item_ids.npy"), prepared.sequences.item_ids.astype(str))
    return path
