"""`Trainer`: fine-tune or train a model where the data is.

trainer = gossamer.train.Trainer("model.onnx", loss="sparse_cross_entropy", optimizer="adam",
                                 lr=1e-3, frozen=["backbone.*"])
history = trainer.fit({"image": x}, y, epochs=5, batch_size=32)
trainer.evaluate({"image": x_val}, y_val); trainer.export("tuned.onnx")

The loss is appended to the model's first output and the backward program is built from the
reference's VJPs (refimpl/grad), so forward, loss and gradients run as one graph in a Session:
backends run whatever of it they claim, and their kernels for the optimiser's ONNX training ops
(Adam, Momentum) update the weights. During `fit`, BatchNormalization (opset >= 14) uses batch
statistics and updates its running statistics, and Dropout (opset >= 12) drops; `evaluate` and
`export` use inference mode.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .plugins.run_context import enter_run, leave_run
from .refimpl.errors import InputError, PerformanceWarning, UnsupportedModelError
from .refimpl.grad.backward_graph import GradientNotDefinedError, build_backward, trainable_names
from .refimpl.grad.checkpoint import checkpoints, load_checkpoint, prune, save_checkpoint
from .refimpl.grad.losses import Loss
from .refimpl.grad.optimizers import Optimizer, clip_by_global_norm, make_optimizer
from .refimpl.grad.schedules import Schedule
from .refimpl.grad.training_graph import training_mode, weights_as_inputs
from .refimpl.ir import Graph, Value
from .refimpl.ops.op_adam import adam_1
from .refimpl.ops.op_momentum import momentum_1
from .session import ModelSource, Session, read_model

__all__ = ["GradientNotDefinedError", "Loss", "Schedule", "Trainer"]


class Trainer:
    """Trains the float initializers of `model` that match `trainable` and no `frozen` pattern
    (fnmatch), except scalars, BatchNormalization's running statistics and Dropout's ratio.

    `loss`: a name from refimpl/grad/losses.LOSSES or a `Loss`; `optimizer`: "sgd", "adam",
    "adamw" or an `Optimizer`; `lr`: a number or a `Schedule` (stepped once per batch);
    `clip_norm`: clip the gradients' global norm to this before each update; `output`: the
    output the loss applies to (default: the first; use logits, not probabilities, for the
    cross-entropy losses); `backends`, `threads`: as for `gossamer.load` (every step's kernels,
    forward and backward, run on at most `threads` threads).
    """

    def __init__(
        self,
        model: ModelSource,
        *,
        loss: str | Loss = "cross_entropy",
        optimizer: str | Optimizer = "adam",
        lr: float | Schedule = 1e-3,
        trainable: Iterable[str] = ("*",),
        frozen: Iterable[str] = (),
        clip_norm: float | None = None,
        output: str | None = None,
        backends: Sequence[str] | None = None,
        threads: int | None = None,
    ) -> None:
        self.graph = read_model(model)
        self.loss = Loss(loss) if isinstance(loss, str) else loss
        self.optimizer = make_optimizer(optimizer) if isinstance(optimizer, str) else optimizer
        self.schedule = lr if isinstance(lr, Schedule) else Schedule(float(lr))
        self.clip_norm = clip_norm
        fixed = _not_weights(self.graph)
        self.trainable = [
            n for n in trainable_names(self.graph, trainable, frozen) if n not in fixed
        ]
        if not self.trainable:
            raise InputError(
                f"no float initializer of model {self.graph.name!r} matches trainable "
                f"{list(trainable)} and not frozen {list(frozen)}: nothing to train"
            )
        outputs = [v.name for v in self.graph.outputs]
        if output is not None and output not in outputs:
            raise InputError(f"model {self.graph.name!r} has no output {output!r}: {outputs}")
        self.output = output or outputs[0]
        self.weights = {n: np.array(self.graph.initializers[n]) for n in self.trainable}
        train_graph, self._stats = training_mode(self.graph)
        self._fed = [*self.trainable, *sorted(set(self._stats.values()) - set(self.trainable))]
        self.weights.update({n: np.array(self.graph.initializers[n]) for n in self._fed})
        with_loss = self.loss.append_to(train_graph, self.output)
        backward = build_backward(with_loss, "loss", self.trainable)
        backward.graph.outputs.extend(Value(o) for o in self._stats)
        self._gradients = backward.gradients
        self._train = _session(weights_as_inputs(backward.graph, self._fed), backends, threads)
        self.optimizer.ops = optimizer_kernels(self._train)
        evaluation = self.loss.append_to(self.graph, self.output)
        evaluation.outputs.append(Value(self.output))
        self._eval = _session(weights_as_inputs(evaluation, self._fed), backends, threads)
        self._infer = _session(weights_as_inputs(self.graph, self._fed), backends, threads)
        self._shapes: dict[int, tuple[int, ...]] = {}
        self.history: dict[str, list[float]] = {"loss": []}
        self.epochs_done = 0

    # ---- training ---------------------------------------------------------------------------
    def fit(
        self,
        data: Mapping[str, np.ndarray],
        labels: np.ndarray,
        *,
        epochs: int = 1,
        batch_size: int = 32,
        seed: int = 0,
        shuffle: bool = True,
        validation: tuple[Mapping[str, np.ndarray], np.ndarray] | None = None,
        checkpoint_dir: str | os.PathLike | None = None,
        keep: int = 3,
        resume: bool = False,
        on_batch: Callable[[int, int, float], None] | None = None,
    ) -> dict[str, list[float]]:
        """Trains `epochs` more epochs over (data, labels) in batches; epoch e's order is drawn
        from (seed, e), so a resumed run sees the same batches. Returns the history: per epoch
        the mean training loss ("loss") and, with `validation`, "val_loss" (and
        "val_accuracy" for classification).

        With `checkpoint_dir`, a checkpoint (weights, running statistics, optimiser state,
        history) is written atomically after every epoch, keeping the newest `keep`; with
        `resume`, the newest one there is loaded first and `epochs` counts the epochs of the
        whole run (those already done are not repeated). `on_batch(epoch, samples_done,
        batch_loss)` is called after every update (a progress bar)."""
        n = _check_data(data, labels, batch_size)
        end = self.epochs_done + epochs
        if resume:
            if checkpoint_dir is None:
                raise InputError("resume needs a checkpoint_dir")
            found = checkpoints(checkpoint_dir)
            if found:
                self.load_checkpoint(found[-1])
            end = epochs
        while self.epochs_done < end:
            rng = np.random.default_rng([seed, self.epochs_done])
            order = rng.permutation(n) if shuffle else np.arange(n)
            total = 0.0
            for start in range(0, n, batch_size):
                idx = order[start : start + batch_size]
                batch = {k: v[idx] for k, v in data.items()}
                step_loss = self.train_step(batch, labels[idx])
                total += step_loss * len(idx)
                if on_batch is not None:
                    on_batch(self.epochs_done, start + len(idx), step_loss)
            self.history["loss"].append(total / n)
            if validation is not None:
                for key, value in self.evaluate(*validation, batch_size=batch_size).items():
                    self.history.setdefault(f"val_{key}", []).append(value)
            self.epochs_done += 1
            if checkpoint_dir is not None:
                self.save_checkpoint(checkpoint_dir)
                prune(checkpoint_dir, keep)
        return self.history

    def save_checkpoint(self, folder: str | os.PathLike) -> Path:
        """Writes `<folder>/epoch-<epochs_done>.npz` atomically; returns its path."""
        arrays = {f"w/{k}": v for k, v in self.weights.items()}
        arrays.update({f"opt/{k}": v for k, v in self.optimizer.state_arrays().items()})
        meta = {"epochs_done": self.epochs_done, "history": self.history, "model": self.graph.name}
        return save_checkpoint(folder, self.epochs_done, arrays, meta)

    def load_checkpoint(self, path: str | os.PathLike) -> None:
        """Restores weights, running statistics, optimiser state and history from a checkpoint
        of this model."""
        arrays, meta = load_checkpoint(path)
        weights = {k[2:]: v for k, v in arrays.items() if k.startswith("w/")}
        if set(weights) != set(self.weights):
            raise InputError(
                f"checkpoint {os.fspath(path)!r} holds weights {sorted(weights)}, but this "
                f"trainer trains {sorted(self.weights)}: a checkpoint of another model or setup"
            )
        self.weights = weights
        self.optimizer.load_state_arrays(
            {k[4:]: v for k, v in arrays.items() if k.startswith("opt/")}
        )
        self.epochs_done = int(meta["epochs_done"])
        self.history = {k: list(v) for k, v in meta["history"].items()}

    def gradients(
        self, batch: Mapping[str, np.ndarray], labels: np.ndarray
    ) -> tuple[float, dict[str, np.ndarray]]:
        """(the batch's loss, {trainable weight: its gradient}) at the current weights, in
        training mode, without updating anything."""
        loss, grads, _ = self._run_backward(batch, labels)
        return loss, grads

    def train_step(self, batch: Mapping[str, np.ndarray], labels: np.ndarray) -> float:
        """One update on one batch; returns the batch's loss before the update."""
        loss, grads, stats = self._run_backward(batch, labels)
        if self.clip_norm is not None:
            grads, _ = clip_by_global_norm(grads, self.clip_norm)
        lr = self.schedule(self.optimizer.steps)
        params = {w: self.weights[w] for w in self.trainable}
        tokens = enter_run(self._train.threads, None)  # the optimiser's kernels: the run's threads
        try:
            self.weights.update(self.optimizer.step(params, grads, lr))
        finally:
            leave_run(tokens)
        for init, value in stats.items():
            self.weights[init] = value.astype(self.weights[init].dtype)
        return loss

    def _run_backward(
        self, batch: Mapping[str, np.ndarray], labels: np.ndarray
    ) -> tuple[float, dict[str, np.ndarray], dict[str, np.ndarray]]:
        """(loss, gradients, new running statistics by initializer) of one batch."""
        feeds = {**batch, **self.weights}
        feeds.update(self.loss.feeds(labels, self._output_shape(batch), self._dtype))
        names = ["loss", *self._gradients.values(), *self._stats]
        values = dict(zip(names, self._train.run(names, feeds)))
        grads = {w: values[g] for w, g in self._gradients.items()}
        stats = {init: np.asarray(values[out]) for out, init in self._stats.items()}
        return float(values["loss"]), grads, stats

    # ---- evaluation and export --------------------------------------------------------------
    def predict(self, data: Mapping[str, np.ndarray], *, batch_size: int = 256) -> np.ndarray:
        """The model's first output in inference mode, with the current weights."""
        n = _check_data(data, None, batch_size)
        parts = []
        for start in range(0, n, batch_size):
            batch = {k: v[start : start + batch_size] for k, v in data.items()}
            parts.append(self._infer.run([self.output], {**batch, **self.weights})[0])
        return np.concatenate(parts)

    def evaluate(
        self, data: Mapping[str, np.ndarray], labels: np.ndarray, *, batch_size: int = 256
    ) -> dict[str, float]:
        """{"loss": the mean of the batch losses weighted by batch size, and "accuracy" (argmax
        over axis 1 equals the label) for the cross-entropy losses}, in inference mode."""
        n = _check_data(data, labels, batch_size)
        total, correct = 0.0, 0
        for start in range(0, n, batch_size):
            batch = {k: v[start : start + batch_size] for k, v in data.items()}
            y = labels[start : start + batch_size]
            feeds = {**batch, **self.weights}
            feeds.update(self.loss.feeds(y, self._output_shape(batch), self._dtype))
            loss, z = self._eval.run(["loss", self.output], feeds)
            total += float(loss) * len(y)
            if self.loss.is_classification:
                target = y if self.loss.kind == "sparse_cross_entropy" else np.argmax(y, axis=1)
                correct += int(np.sum(np.argmax(z, axis=1) == target))
        result = {"loss": total / n}
        if self.loss.is_classification:
            result["accuracy"] = correct / n
        return result

    def trained_graph(self) -> Graph:
        """The model in inference mode with the trained weights (and running statistics)."""
        from dataclasses import replace

        return replace(self.graph, initializers={**self.graph.initializers, **self.weights})

    def export(self, path: str | os.PathLike) -> None:
        """Writes the trained model as ONNX (checked with onnx.checker) or .gsm, by extension."""
        from .quantization import save_model

        if os.fspath(path).lower().rsplit(".", 1)[-1] not in ("onnx", "gsm"):
            raise InputError(f"export path {os.fspath(path)!r}: use a .onnx or .gsm extension")
        save_model(self.trained_graph(), path)

    # ---- helpers ----------------------------------------------------------------------------
    @property
    def _dtype(self) -> np.dtype:
        return np.asarray(self.weights[self.trainable[0]]).dtype

    def _output_shape(self, batch: Mapping[str, np.ndarray]) -> tuple[int, ...]:
        """The first output's shape for this batch (run once per batch size)."""
        n = len(next(iter(batch.values())))
        if n not in self._shapes:
            z = self._infer.run([self.output], {**batch, **self.weights})[0]
            self._shapes[n] = tuple(np.shape(z))
            opset = self.graph.opsets.get("", self.graph.opsets.get("ai.onnx", 21))
            if self.loss.is_classification and np.ndim(z) != 2 and opset < 13:
                raise UnsupportedModelError(
                    f"{self.loss.kind} over an output of rank {np.ndim(z)} needs opset >= 13 "
                    f"(LogSoftmax over axis 1 only); model {self.graph.name!r} has opset {opset}"
                )
        return self._shapes[n]


def _not_weights(graph: Graph) -> set[str]:
    """Initializers that are statistics or settings, not weights: BatchNormalization's running
    mean and variance, Dropout's ratio, and scalars (constants such as 1/sqrt(d) or an exponent)."""
    found = {n for n, v in graph.initializers.items() if np.ndim(v) == 0}
    for node in graph.nodes:
        if node.op_type == "BatchNormalization":
            found.update(node.inputs[3:5])
        elif node.op_type == "Dropout":
            found.update(node.inputs[1:2])
    return found


def optimizer_kernels(session: Session) -> dict[Callable[..., Any], Callable[..., Any]]:
    """The optimiser ops' kernels (Adam, Momentum) of the backends `session` places nodes on, the
    highest priority first, as Optimizer.ops: one that declines at run time hands the call back to
    the reference."""
    from .plugins import RuntimeDecline
    from .plugins.backend import KernelBackend
    from .plugins.manager import all_backends

    used = set(session.placement.backend_of.values())
    candidates = sorted(
        (b for name, b in all_backends().items() if name in used and isinstance(b, KernelBackend)),
        key=lambda b: -b.priority,
    )
    found: dict[Callable[..., Any], Callable[..., Any]] = {}
    for op in (adam_1, momentum_1):
        for backend in candidates:
            k = backend.kernels.get(op)
            if k is not None:
                found[op] = _falling_back(k.fn, op, RuntimeDecline)
                break
    return found


def _falling_back(fn: Callable[..., Any], reference: Callable[..., Any], decline: type) -> Any:
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except decline:
            return reference(*args, **kwargs)

    return run


def _session(graph: Graph, backends: Sequence[str] | None, threads: int | None) -> Session:
    with warnings.catch_warnings():  # VJPs a backend does not claim run on the reference
        warnings.simplefilter("ignore", PerformanceWarning)
        return Session(graph, backends=backends, threads=threads)


def _check_data(data: Mapping[str, np.ndarray], labels: np.ndarray | None, batch_size: int) -> int:
    """The number of samples; every array (and the labels) must have it as its leading axis."""
    if not isinstance(data, Mapping) or not data:
        raise InputError("data must be a non-empty dict of model input name to array")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
    sizes = {k: len(np.asarray(v)) for k, v in data.items()}
    if labels is not None:
        sizes["labels"] = len(np.asarray(labels))
    if len(set(sizes.values())) != 1:
        raise InputError(f"every array needs the same number of samples (leading axis): {sizes}")
    n = next(iter(sizes.values()))
    if n == 0:
        raise InputError("no samples to train or evaluate on")
    return n
