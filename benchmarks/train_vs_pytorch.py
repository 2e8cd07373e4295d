"""Gossamer's training against PyTorch on the same architecture and weights: gradients (one batch,
cross-entropy, BatchNorm in training mode) and the time of one training step (forward, loss,
backward, Adam update) at 1 and 2 threads.

    .venv/bin/python benchmarks/train_vs_pytorch.py [--models lenet,mobilenet_v2,encoder]
        [--threads 1,2] [--steps 5] [--out benchmarks/results/training_vs_pytorch.md]

Models (benchmarks/train_torch_models.py): LeNet-5 at batch 64 (1x32x32), MobileNetV2 (width
1.0, 1000 classes) at batch 8 (3x224x224), a MiniLM-style encoder (2 layers, hidden 128, 4 heads,
MLP 512, vocabulary 1000) at batch 8 x sequence 128. Each is built in torch with seeded weights,
exported to ONNX (opset 20, TorchScript exporter, nothing folded) and trained by
gossamer.train.Trainer on that file; torch trains the module itself.

Gradients: each weight's gradient from Trainer.gradients vs torch autograd's, as
max|g - g_torch| / s per tensor, s = max|g_torch| (at least 1e-4 x the model's largest gradient
element, for gradients that are 0 in exact arithmetic), the worst tensor reported, and
np.allclose(g, g_torch, rtol=1e-4, atol=1e-4 * s) over every tensor; in float32 (as trained) and
in float64 (the same weights in double precision on both sides: the math without round-off), and
each side's float32 gradients against the float64 ones ("exact"), which shows whose float32
round-off a float32 difference is (MobileNetV2's stacked training-mode BatchNorms amplify it).
Step time: the median of `--steps` steps after two warm-up steps, Gossamer and torch steps
interleaved (the machine is shared), torch.set_num_threads(n) and Trainer(threads=n).
Needs the `bench` extra (torch, onnx). Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

BATCH = {"lenet": 64, "mobilenet_v2": 8, "encoder": 8}


def _trainer(onnx_bytes: bytes, threads: int | None):
    from gossamer.train import Trainer

    return Trainer(onnx_bytes, loss="sparse_cross_entropy", optimizer="adam", lr=1e-3,
                   threads=threads)  # fmt: skip


def _torch_gradients(model, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    import torch
    import torch.nn.functional as F

    model.train()
    model.zero_grad()
    F.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y)).backward()
    return {n: p.grad.numpy().astype(np.float64) for n, p in model.named_parameters()}


def _worst(got: dict, want: dict, floor: float) -> tuple[float, str]:
    """max over tensors of max|got - want| / max(max|want|, floor), and that tensor's name."""
    return max(
        (float(np.abs(got[k] - want[k]).max()) / max(float(np.abs(want[k]).max()), floor), k)
        for k in want
    )


def compare_gradients(model, x, y, input_name: str, onnx_bytes: bytes) -> dict:
    """Gossamer vs torch in float32 (as trained) and in float64 (the same weights, both in double
    precision: the math without round-off), and each float32 result against the float64 one."""
    import copy

    import torch
    from train_torch_models import export_onnx

    t32 = _torch_gradients(model, x, y)
    loss32, g32 = _trainer(onnx_bytes, None).gradients({input_name: x}, y)
    assert set(g32) == set(t32), sorted(set(g32) ^ set(t32))
    model64 = copy.deepcopy(model).double()
    x64 = x.astype(np.float64) if x.dtype.kind == "f" else x
    t64 = _torch_gradients(model64, x64, y)
    onnx64 = export_onnx(model64, torch.from_numpy(x64), input_name)
    g64 = _trainer(onnx64, None).gradients({input_name: x64}, y)[1]
    # a gradient that is 0 in exact arithmetic (an attention key bias: softmax ignores a per-row
    # shift; a bias feeding a training-mode BatchNorm) is round-off in both: measure it against
    # 1e-4 of the model's largest gradient
    floor = 1e-4 * max(float(np.abs(g).max()) for g in t64.values())
    close = all(
        np.allclose(g32[k], t32[k], rtol=1e-4, atol=1e-4 * max(np.abs(t32[k]).max(), floor))
        for k in t32
    )
    return {
        "tensors": len(t32),
        "loss": loss32,
        "f32": _worst(g32, t32, floor),
        "f64": _worst(g64, t64, floor),
        "ours_vs_exact": _worst(g32, t64, floor)[0],
        "torch_vs_exact": _worst(t32, t64, floor)[0],
        "allclose": close,
    }


def time_steps(model, x, y, input_name: str, onnx_bytes: bytes, threads: int, steps: int):
    """Median seconds of one Gossamer and one torch training step."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    trainer = _trainer(onnx_bytes, threads)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def torch_step() -> None:
        opt.zero_grad()
        F.cross_entropy(model(xt), yt).backward()
        opt.step()

    ours, theirs = [], []
    for i in range(steps + 2):
        t0 = time.perf_counter()
        trainer.train_step({input_name: x}, y)
        t1 = time.perf_counter()
        torch_step()
        t2 = time.perf_counter()
        if i >= 2:
            ours.append(t1 - t0)
            theirs.append(t2 - t1)
    return float(np.median(ours)), float(np.median(theirs))


def main(argv: list[str] | None = None) -> int:
    import torch
    from train_torch_models import build, export_onnx

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="lenet,mobilenet_v2,encoder")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--no-grad-check", action="store_true")
    p.add_argument(
        "--no-grad-kernels",
        action="store_true",
        help="every VJP on the reference (the cython backend's backward kernels withdrawn)",
    )
    p.add_argument("--out", type=Path, help="also write the tables here (Markdown)")
    args = p.parse_args(argv)
    threads = [int(t) for t in args.threads.split(",") if t]  # --threads "": gradients only
    if args.no_grad_kernels:
        from gossamer.cython_kernels.backend import CythonBackend
        from gossamer.cython_kernels.grad_kernels import GradKernels

        for reference in GradKernels.kernels:
            CythonBackend.kernels.pop(reference, None)
    grads, times = [], []
    for name in args.models.split(","):
        model, x, y, input_name = build(name, BATCH[name])
        onnx_bytes = export_onnx(model, torch.from_numpy(x), input_name)
        if not args.no_grad_check:
            r = compare_gradients(model, x, y, input_name, onnx_bytes)
            grads.append(
                f"| {name} | {BATCH[name]} | {r['tensors']} | {r['f32'][0]:.1e} ({r['f32'][1]}) "
                f"| {'yes' if r['allclose'] else 'no'} | {r['f64'][0]:.1e} | "
                f"{r['ours_vs_exact']:.1e} | {r['torch_vs_exact']:.1e} |"
            )
            print(grads[-1], flush=True)
        for n in threads:
            ours, theirs = time_steps(model, x, y, input_name, onnx_bytes, n, args.steps)
            times.append(
                f"| {name} | {BATCH[name]} | {n} | {ours * 1e3:.1f} | {theirs * 1e3:.1f} | "
                f"{ours / theirs:.2f}x |"
            )
            print(times[-1], flush=True)
    text = [
        f"$ {shlex.join([Path(sys.executable).name, *sys.argv])}",
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}",
        "",
        "| model | batch | weight tensors | float32: worst vs torch (tensor) | allclose rtol 1e-4 "
        "| float64: worst vs torch | float32 vs exact: gossamer | float32 vs exact: torch |",
        "|---|---|---|---|---|---|---|---|",
        *grads,
        "",
        "| model | batch | threads | gossamer step ms | torch step ms | gossamer / torch |",
        "|---|---|---|---|---|---|",
        *times,
    ]
    print("\n".join(text))
    if args.out:
        args.out.write_text("\n".join(text) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
