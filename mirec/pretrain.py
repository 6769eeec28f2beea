"""The generic pre-training stage (MIRACLE, UniSRec, S3-Rec): ``run_pretraining``.

:func:`mirec.train.train_and_evaluate` calls :func:`run_pretraining` after building the model
and before fine-tuning when ``config.pretrain.enabled``. Any model with
``pretrain_loss(features, training=True) -> scalar`` works; optional hooks:

* ``set_item_text_features(table)``: needed to pre-train on other datasets than the
  downstream one (their item text table is swapped in, then the model's own is restored);
* ``finish_pretraining()``: called at the end (freezing, switching ID embeddings on, ...).

``config.pretrain`` fields:

* ``enabled``; ``epochs`` (MIRACLE official 3); ``batch_size`` (2048); ``learning_rate``
  (1e-3); ``optimizer`` ``"adam"`` (paper) or ``"adamw"`` (official, with ``weight_decay``
  0); ``clipnorm`` (global gradient-norm clip, 0 = none; official 1.0); ``min_history`` (1).
* ``datasets``: a tuple of sources. ``"self"`` = the prepared (downstream) dataset's own
  training sequences (``prepared.split.train``); any other entry is a dataset config name
  (:func:`mirec.configs.dataset_config`) prepared with the downstream ``max_len`` and the text
  features ``config.pretrain.text_features[name]``. Sequences are never merged across
  datasets: each dataset's items get their own id range in one union text table (row 0 =
  padding), and the (history, target) samples of all datasets are shuffled together, as the
  official MIRACLE code trains on its mixed "FHCKM" corpus.

Samples: every (history, next item) pair of the training sequences (sliding window,
:func:`mirec.data.pipeline.sliding_window_samples`), shuffled afresh every epoch from
``config.seed`` and the epoch number (a resumed run sees the same order).

Workdir (``<run>/pretrain``): ``ckpt/`` (model + optimizer + epoch, saved after every epoch;
an interrupted run resumes after its last finished epoch), ``progress.json`` (losses and
times of the finished epochs) and ``done.json`` (``epochs``, ``seconds``,
``samples_per_second``, ``loss`` per epoch, ``samples``, ``datasets``,
``optimizer_steps``). When ``done.json`` exists with at least the requested epochs, training
is skipped, but the final pre-trained weights are still restored from ``ckpt/``: when the
fine-tuning resumes from its own checkpoint, that checkpoint (restored afterwards, it holds
every weight) overrides them; without one (zero-shot evaluation, or an interruption before
the first fine-tuning epoch) the pre-trained weights are exactly what is needed. Asking for
more epochs than ``done.json`` records continues from the checkpoint.

Hooks are called as follows: ``set_item_text_features`` before and after training (only with
other datasets); one eager ``pretrain_loss(two samples, training=False)`` to build the
variables; ``finish_pretraining()`` after training, and also when it is skipped.
"""

from __future__ import annotations

import json
import logging
import os
import time

import numpy as np

import mirec  # noqa: F401
import tensorflow as tf

from mirec.data import pipeline

log = logging.getLogger(__name__)

DONE_FILE = "done.json"
PROGRESS_FILE = "progress.json"


def _read_json(path):
    with open(path) as f:
        return json.load(f)


def _write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
    os.replace(tmp, path)


def _source_sequences(name, config, prepared, data_dir):
    """(train CSR (items, splits, users), text table or None) of one pre-training source."""
    if name == "self":
        return prepared.split.train, prepared.info.item_text_features
    from mirec.configs import dataset_config
    from mirec.data.prepare import prepare

    cfg = dataset_config(name)
    cfg.max_len = int(prepared.info.max_len)
    paths = config.pretrain.get("text_features", {}) or {}
    if name not in paths:
        raise ValueError(f"pre-training dataset {name!r} needs config.pretrain.text_features"
                         f"[{name!r}] (a file written by `python -m mirec.data encode-text`)")
    cfg.text_features = paths[name]
    other = prepare(cfg, data_dir=data_dir, seed=int(config.get("seed", 0)))
    return other.split.train, other.info.item_text_features


def pretraining_samples(config, prepared, data_dir=None):
    """``(samples dict, union text table or None, per-dataset sample counts)``.

    With only ``"self"`` the table is None (the model keeps its own); otherwise every
    source's items are shifted into their own id range of one union table.
    """
    names = tuple(config.pretrain.get("datasets", ("self",)))
    if not names:
        raise ValueError("config.pretrain.datasets is empty")
    max_len = int(prepared.info.max_len)
    min_history = int(config.pretrain.get("min_history", 1))
    parts, tables, counts, offset = [], [], {}, 0
    for name in names:
        (items, splits, users), table = _source_sequences(name, config, prepared, data_dir)
        s = pipeline.sliding_window_samples(items, splits, users, max_len,
                                            min_history=min_history)
        if len(names) > 1:
            if table is None:
                raise ValueError(f"pre-training on several datasets needs item text features; "
                                 f"{name!r} has none")
            s["history"] = np.where(s["history"] > 0, s["history"] + offset, 0).astype(np.int32)
            s["target"] = (s["target"] + offset).astype(np.int32)
            tables.append(np.asarray(table, np.float32)[1:])
            offset += len(table) - 1
        parts.append(s)
        counts[name] = int(len(s["target"]))
    samples = {k: np.concatenate([p[k] for p in parts]) for k in ("history", "target", "user")}
    union = None
    if len(names) > 1:
        dims = {t.shape[1] for t in tables}
        if len(dims) != 1:
            raise ValueError(f"pre-training text tables have different widths {sorted(dims)}")
        union = np.concatenate([np.zeros((1, dims.pop()), np.float32)] + tables)
    return samples, union, counts


def make_optimizer(pcfg):
    """Adam (paper) or AdamW (official) with an optional global-norm clip."""
    kind = pcfg.get("optimizer", "adam")
    kwargs = dict(learning_rate=float(pcfg.get("learning_rate", 1e-3)))
    if float(pcfg.get("clipnorm", 0.0) or 0.0) > 0:
        kwargs["global_clipnorm"] = float(pcfg.clipnorm)
    if kind == "adam":
        return tf.keras.optimizers.Adam(**kwargs)
    if kind == "adamw":
        return tf.keras.optimizers.AdamW(weight_decay=float(pcfg.get("weight_decay", 0.0)),
                                         epsilon=1e-8, **kwargs)
    raise ValueError(f"config.pretrain.optimizer must be 'adam' or 'adamw', got {kind!r}")


def _make_step(model, optimizer, variables, element_spec=None):
    """One optimisation step as a tf.function; with ``element_spec`` (the batches' spec,
    batch dimension None) it is traced once, also for a smaller last batch."""
    signature = None if element_spec is None else [element_spec]

    @tf.function(input_signature=signature, reduce_retracing=True)
    def step(batch):
        with tf.GradientTape() as tape:
            loss = model.pretrain_loss(batch, training=True)
        grads = tape.gradient(loss, variables)
        pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
        optimizer.apply_gradients(pairs)
        return loss

    return step


def _run_epoch(step, dataset):
    """Mean loss of one pass over ``dataset`` (a seam for tests to interrupt)."""
    total, n = 0.0, 0
    for batch in dataset:
        total += float(step(batch))
        n += 1
    return total / max(n, 1)


def _restore_final(model, ckpt_dir):
    path = tf.train.latest_checkpoint(ckpt_dir)
    if path is None:
        raise FileNotFoundError(f"{ckpt_dir}: pre-training is marked done but has no checkpoint")
    tf.train.Checkpoint(model=model).restore(path).expect_partial()
    return path


def _finish(model):
    if hasattr(model, "finish_pretraining"):
        model.finish_pretraining()


def run_pretraining(model, config, prepared, workdir, data_dir=None) -> dict:
    """Pre-trains ``model`` with ``model.pretrain_loss`` (see module docstring); returns the
    ``done.json`` record."""
    if not hasattr(model, "pretrain_loss"):
        raise TypeError(f"{type(model).__name__} has no pretrain_loss(features, training)")
    pcfg = config.pretrain
    epochs = int(pcfg.get("epochs", 3))
    os.makedirs(workdir, exist_ok=True)
    ckpt_dir = os.path.join(workdir, "ckpt")
    done_path = os.path.join(workdir, DONE_FILE)
    if os.path.exists(done_path):
        done = _read_json(done_path)
        if int(done["epochs"]) >= epochs:
            if int(done["epochs"]) > epochs:
                log.warning("%s: pre-trained for %d epochs, %d requested; using the %d-epoch "
                            "weights", workdir, done["epochs"], epochs, done["epochs"])
            if int(done["epochs"]) > 0:
                _restore_final(model, ckpt_dir)
            _finish(model)
            log.info("pre-training already done in %s; restored its weights", workdir)
            return done

    samples, union, counts = pretraining_samples(config, prepared, data_dir)
    n = len(samples["target"])
    features = {"history": samples["history"], "target": samples["target"],
                "user": samples["user"]}
    if union is not None and not hasattr(model, "set_item_text_features"):
        raise TypeError(f"{type(model).__name__} cannot pre-train on other datasets: it has no "
                        "set_item_text_features(table)")
    batch_size = int(pcfg.get("batch_size", 2048))
    seed = int(config.get("seed", 0))
    progress_path = os.path.join(workdir, PROGRESS_FILE)
    progress = {"loss": [], "seconds": []}
    try:
        if union is not None:
            model.set_item_text_features(union)
        # One eager call on two samples builds every variable the loss uses.
        model.pretrain_loss({k: v[:2] for k, v in features.items()}, training=False)
        variables = list(model.trainable_variables)
        optimizer = make_optimizer(pcfg)
        optimizer.build(variables)
        epoch_var = tf.Variable(0, dtype=tf.int64, trainable=False)
        ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer, epoch=epoch_var)
        manager = tf.train.CheckpointManager(ckpt, ckpt_dir, max_to_keep=1)
        if manager.latest_checkpoint:
            ckpt.restore(manager.latest_checkpoint)
            if os.path.exists(progress_path):
                progress = _read_json(progress_path)
            progress = {k: list(v)[:int(epoch_var.numpy())] for k, v in progress.items()}
            log.info("resumed pre-training in %s at epoch %d", workdir, int(epoch_var.numpy()))
        step = None
        for epoch in range(int(epoch_var.numpy()), epochs):
            ds = pipeline.train_dataset(features, batch_size, seed=seed + 7919 * (epoch + 1))
            if step is None:
                step = _make_step(model, optimizer, variables, ds.element_spec)
            t0 = time.time()
            loss = _run_epoch(step, ds)
            seconds = time.time() - t0
            epoch_var.assign(epoch + 1)
            manager.save(checkpoint_number=epoch + 1)
            progress["loss"].append(loss)
            progress["seconds"].append(seconds)
            _write_json(progress_path, progress)
            log.info("pre-training epoch %d/%d: loss %.4f, %.0f samples/s", epoch + 1, epochs,
                     loss, n / max(seconds, 1e-9))
    finally:
        if union is not None:
            model.set_item_text_features(prepared.info.item_text_features)
    seconds = float(sum(progress["seconds"]))
    done = {"epochs": epochs, "seconds": seconds,
            "samples_per_second": n * len(progress["seconds"]) / max(seconds, 1e-9),
            "loss": progress["loss"], "epoch_seconds": progress["seconds"], "samples": n,
            "samples_per_dataset": counts, "datasets": list(counts),
            "optimizer_steps": int(optimizer.iterations.numpy())}
    _write_json(done_path, done)
    _finish(model)
    return done
