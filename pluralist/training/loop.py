"""The one training loop, for every family.

Minibatches, Adam (adam.py), a validation split with early stopping on validation
log-likelihood (the step size halves at each epoch without improvement), seeds, and a progress bar with loss and validation accuracy.
Families plug in through their contract (loss, and the prepare / e_step /
finalize hooks); none has a loop of its own.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ..data.holdout import holdout
from ..metrics import correct
from ..models.base import PreferenceModel, evaluating
from ..models.data import PreferenceData
from .adam import Adam
from .noise import LabelNoise, PlainLabels


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 40
    batch_size: int = 512
    lr: float = 1e-2
    val_fraction: float = 0.1
    patience: int = 4
    seed: int = 0
    progress: bool = False
    holdout: str = "texts"   # validation rows share no text with the same rater's training rows


@dataclass
class TrainResult:
    epochs_run: int
    best_epoch: int
    best_val_accuracy: float
    best_val_log_loss: float
    seconds: float
    history: list[dict] = field(default_factory=list)
    noise: dict | None = None   # what the label-noise strategy learned (e.g. flip rates)
    validation: dict = field(default_factory=dict)   # how the validation rows were held out
    train_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)
    val_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)

    def summary(self) -> dict:
        """Everything but the history and the rows, JSON-ready (reports, model configs)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name not in ("history", "train_rows", "val_rows")}


def fit(model: PreferenceModel, data: PreferenceData, rows, config: TrainConfig = TrainConfig(),
        noise: LabelNoise = PlainLabels()) -> TrainResult:
    """`noise`: a label-noise strategy (training/noise.py); by default labels are taken as given."""
    torch.manual_seed(config.seed)   # the loop owns the randomness of training
    model.encoder_id, model.text_format = data.encoder_id, data.text_format
    rng = np.random.default_rng(config.seed)
    train_rows, val_rows, validation = _validation_split(data, np.asarray(rows), config, rng)
    optimizer = Adam(model.parameters(), lr=config.lr)
    started = time.perf_counter()
    model.prepare(data, train_rows)
    best, best_state, history, stale = None, None, [], 0
    with _Progress(config.progress, config.epochs, model.family) as progress:
        for epoch in range(config.epochs):
            model.e_step(data, train_rows)
            noise.start_epoch(model, data, train_rows, val_rows)
            train_loss = _epoch(model, data, model.epoch_order(data, train_rows, rng), optimizer,
                                config.batch_size, noise)
            val = evaluate_rows(model, data, val_rows, noise)
            history.append({"epoch": epoch + 1, "train_loss": train_loss, **val})
            progress.update(epoch + 1, train_loss, val)
            if best is None or val["log_loss"] < best["log_loss"] - 1e-5:
                best, best_state, stale = history[-1], copy.deepcopy(model.state_dict()), 0
            else:  # a plateau: halve the step size, and stop after `patience` of them
                stale += 1
                if stale >= config.patience:
                    break
                optimizer.lr *= 0.5
    model.load_state_dict(best_state)
    model.eval()   # returned ready to score, as a loaded model is
    model.finalize(data, train_rows)
    return TrainResult(len(history), best["epoch"], best["accuracy"], best["log_loss"],
                       time.perf_counter() - started, history, noise.report(), validation,
                       train_rows, val_rows)


def _epoch(model, data, rows, optimizer, batch_size, noise: LabelNoise) -> float:
    model.train()
    total, count = torch.zeros((), dtype=torch.float64), 0
    # differences streamed only where nothing but the model's loss reads the batch
    differences = model.trains_on_differences and type(noise) is LabelNoise
    for picked, batch in data.streamed_batches(rows, batch_size, differences=differences):
        noise.before_step(picked, batch)
        batch = noise.weigh(picked, batch)
        loss = model.loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        # summed as a tensor: no conversion to a Python float at every step
        total, count = total + loss.detach().double() * len(batch), count + len(batch)
    return float(total) / max(count, 1)


def evaluate_rows(model: PreferenceModel, data: PreferenceData, rows,
                  noise: LabelNoise = PlainLabels()) -> dict:
    """Accuracy (ties count one half) and mean log-loss of the model on these rows: the
    log-loss of the labels as the label-noise strategy's noise model predicts them."""
    hits, log_loss, n = 0.0, 0.0, 0
    with evaluating(model):
        for _, batch in data.streamed_batches(rows):
            hits += float(correct(model.margin(batch).numpy(), batch.tie.numpy()).sum())
            log_prob = noise.observed_log_prob(model, batch)
            log_loss -= float(log_prob.sum())
            n += len(batch)
    return {"accuracy": hits / max(n, 1), "log_loss": log_loss / max(n, 1)}


def _validation_split(data: PreferenceData, rows: np.ndarray, config: TrainConfig, rng):
    """(training rows, validation rows, how): fraction 0, or too few distinct texts to
    hold any out honestly: no held-out rows, the training rows themselves decide when
    to stop. Rows linking the two parts are trained on by neither."""
    if config.val_fraction > 0:
        kept, held, dropped = holdout(rows, data.rater.numpy(), data.chosen.numpy(),
                                      data.rejected.numpy(), config.val_fraction, rng, by=config.holdout)
        if len(kept) and len(held):
            return kept, held, {"held_out_by": config.holdout, "rows": len(held),
                                "dropped": len(dropped)}
    return np.sort(rows), np.sort(rows), {"held_out_by": "none: the training rows", "rows": len(rows),
                                          "dropped": 0}


class _Progress:
    def __init__(self, enabled: bool, epochs: int, label: str):
        self.enabled, self.epochs, self.label = enabled, epochs, label

    def __enter__(self):
        if self.enabled:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn(f"training {self.label:<12}"), BarColumn(),
                                TextColumn("epoch {task.completed}/{task.total}"),
                                TextColumn("{task.fields[stats]}"), TimeElapsedColumn())
            self.bar.start()
            self.task = self.bar.add_task("train", total=self.epochs, stats="")
        return self

    def update(self, epoch: int, loss: float, val: dict) -> None:
        if self.enabled:
            stats = f"loss {loss:.3f}  val acc {val['accuracy']:.3f}"
            self.bar.update(self.task, completed=epoch, stats=stats)

    def __exit__(self, *exc):
        if self.enabled:
            self.bar.stop()
        return False
