"""`gossamer train MODEL --data TRAIN.npz --labels y -o OUT.onnx|.gsm`: train or fine-tune a model
with gossamer.train.Trainer (see docs/training.md). The .npz holds one array per model input
(leading sample axis) plus the labels array; the loss applies to the model's first output."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ..refimpl.errors import InputError
from ..refimpl.grad.losses import LOSSES
from .model_io import MODEL_FORMATS, check_output_path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="model to train (.onnx, .gsm or .tflite)")
    p.add_argument("-o", "--output", required=True, help="trained model: .onnx or .gsm")
    p.add_argument(
        "--data",
        required=True,
        metavar="TRAIN.npz",
        help="one array per model input (first axis = samples) plus the labels",
    )
    p.add_argument("--labels", required=True, metavar="NAME", help="the labels array in the .npz")
    p.add_argument("--val", metavar="VAL.npz", help="validation data, laid out like --data")
    p.add_argument(
        "--loss",
        choices=LOSSES,
        default="cross_entropy",
        help="default cross_entropy (integer labels: class indices)",
    )
    p.add_argument("--optimizer", choices=["sgd", "adam", "adamw"], default="adam")
    p.add_argument("--lr", type=float, default=1e-3, help="learning rate (default 1e-3)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0, help="seed of the data order")
    p.add_argument(
        "--train",
        action="append",
        metavar="PATTERN",
        help="train only initializers matching this fnmatch pattern (repeatable)",
    )
    p.add_argument(
        "--freeze",
        action="append",
        default=[],
        metavar="PATTERN",
        help="keep initializers matching this pattern fixed (repeatable)",
    )
    p.add_argument("--checkpoint-dir", metavar="DIR", help="an atomic checkpoint every epoch")
    p.add_argument("--keep", type=int, default=3, help="checkpoints kept (default 3)")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint")
    p.add_argument("--log", metavar="LOG.csv|LOG.json", help="per-epoch metrics")
    p.add_argument("--plot", metavar="CURVE.png", help="the loss curve (needs matplotlib)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--backends", help="comma-separated backends to use (default: all)")
    p.add_argument("--threads", type=int, help="threads for the kernels (default: all cores)")


def cmd_train(args: argparse.Namespace) -> int:
    from ..train import Trainer

    check_output_path(args.output, "-o", suffixes=MODEL_FORMATS)
    for value, option in ((args.log, "--log"), (args.plot, "--plot")):
        if value:
            want = {".csv": "CSV", ".json": "JSON"} if option == "--log" else {".png": "PNG"}
            check_output_path(value, option, suffixes=want)
    if args.resume and not args.checkpoint_dir:
        raise InputError("--resume needs --checkpoint-dir")
    data, labels = _read_npz(args.data, args.labels, "--data")
    val = _read_npz(args.val, args.labels, "--val") if args.val else None
    loss = args.loss
    if loss == "cross_entropy" and labels.dtype.kind in "iu":
        loss = "sparse_cross_entropy"  # class indices, not probabilities
    trainer = Trainer(
        args.model,
        loss=loss,
        optimizer=args.optimizer,
        lr=args.lr,
        trainable=args.train or ["*"],
        frozen=args.freeze,
        backends=args.backends.split(",") if args.backends else None,
        threads=args.threads,
    )
    bar = _progress(len(labels), args.epochs, not args.no_progress and sys.stderr.isatty())
    history = trainer.fit(
        data,
        labels,
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        validation=val,
        checkpoint_dir=args.checkpoint_dir,
        keep=args.keep,
        resume=args.resume,
        on_batch=bar,
    )
    trainer.export(args.output)
    last = {k: v[-1] for k, v in history.items() if v}
    print(
        f"trained {trainer.epochs_done} epoch(s): "
        + ", ".join(f"{k} {v:.4g}" for k, v in last.items())
    )
    print(f"wrote {args.output}")
    if args.log:
        _write_log(Path(args.log), history)
    if args.plot:
        _plot(Path(args.plot), history)
    return 0


def _read_npz(path: str, label_name: str, option: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
    if not Path(path).is_file():
        raise InputError(f"{option} {path}: no such file")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise InputError(f"{option} {path}: not a .npz archive (np.savez writes one)")
        with loaded as npz:
            arrays = {k: np.array(npz[k]) for k in npz.files}
    except (OSError, ValueError) as err:
        raise InputError(f"{option} {path}: not a readable .npz ({err})") from err
    if label_name not in arrays:
        raise InputError(
            f"{option} {path} has no array {label_name!r} (--labels); it holds {sorted(arrays)}"
        )
    labels = arrays.pop(label_name)
    return arrays, labels


def _progress(samples: int, epochs: int, show: bool) -> Any:
    """An on_batch callback drawing one tqdm bar per epoch (None when not shown)."""
    if not show:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    bars: dict[int, Any] = {}

    def update(epoch: int, done: int, loss: float) -> None:
        if epoch not in bars:
            for old in bars.values():
                old.close()
            bars[epoch] = tqdm(total=samples, desc=f"epoch {epoch + 1}/{epochs}", unit="sample")
        bar = bars[epoch]
        bar.update(done - bar.n)
        bar.set_postfix(loss=f"{loss:.4f}")
        if done >= samples:
            bar.close()

    return update


def _write_log(path: Path, history: dict[str, list[float]]) -> None:
    rows = [
        {"epoch": i + 1, **{k: v[i] for k, v in history.items() if i < len(v)}}
        for i in range(len(history["loss"]))
    ]
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(rows, indent=1))
        return
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["epoch", *history])
        writer.writeheader()
        writer.writerows(rows)


def _plot(path: Path, history: dict[str, list[float]]) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise InputError("--plot needs matplotlib: pip install 'gossamer[plot]'") from err
    fig, ax = plt.subplots(figsize=(6, 4))
    for key in ("loss", "val_loss"):
        if history.get(key):
            ax.plot(range(1, len(history[key]) + 1), history[key], marker="o", label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
