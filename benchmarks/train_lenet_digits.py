"""LeNet-5 from random init, trained with the `gossamer train` CLI on scikit-learn's digits; the
exported ONNX model's test accuracy measured in onnxruntime.

    .venv/bin/python benchmarks/train_lenet_digits.py [--epochs 15] [--threads 1]

Data: sklearn.datasets.load_digits (1,797 8x8 images, 10 classes, shipped with scikit-learn),
pixels / 16, upsampled 4x (nearest) to LeNet-5's 32x32 input; a fixed stratified split
(train_test_split(test_size=0.25, random_state=0)): 1,347 training and 450 test images, written to
train.npz / test.npz. The model is LeNet-5 as LeCun et al. (1998) lay it out: conv 6@5x5 -> pool
-> conv 16@5x5 -> pool -> 120 -> 84 -> 10, with ReLU and max pooling (the modern variant), built as
an ONNX graph in code with He-uniform weights from a fixed seed. Needs the `bench` extra
(scikit-learn, onnx, onnxruntime). Results: benchmarks/results/training.md (section LeNet-5).
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
GOSSAMER = Path(sys.executable).with_name("gossamer")


def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test): float32 [N, 1, 32, 32] in [0, 1], int64 labels."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)
    x = np.repeat(np.repeat(x, 4, axis=1), 4, axis=2)[:, None]  # 8x8 -> 32x32, nearest
    y = digits.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    return x_tr, y_tr, x_te, y_te


def lenet5(seed: int = 0):
    """LeNet-5 (ReLU, max pooling) for float32 [N, 1, 32, 32] -> logits [N, 10], opset 17."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)

    def he(shape: tuple[int, ...], fan_in: int) -> np.ndarray:
        bound = np.sqrt(6.0 / fan_in)
        return rng.uniform(-bound, bound, shape).astype(np.float32)

    weights = {
        "conv1.w": he((6, 1, 5, 5), 25),
        "conv1.b": np.zeros(6, np.float32),
        "conv2.w": he((16, 6, 5, 5), 150),
        "conv2.b": np.zeros(16, np.float32),
        "fc1.w": he((120, 400), 400),
        "fc1.b": np.zeros(120, np.float32),
        "fc2.w": he((84, 120), 120),
        "fc2.b": np.zeros(84, np.float32),
        "fc3.w": he((10, 84), 84),
        "fc3.b": np.zeros(10, np.float32),
    }
    pool = {"kernel_shape": [2, 2], "strides": [2, 2]}
    nodes = [
        helper.make_node("Conv", ["image", "conv1.w", "conv1.b"], ["c1"], name="conv1"),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", **pool),
        helper.make_node("Conv", ["p1", "conv2.w", "conv2.b"], ["c2"], name="conv2"),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("MaxPool", ["r2"], ["p2"], name="pool2", **pool),
        helper.make_node("Flatten", ["p2"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "fc1.w", "fc1.b"], ["h1"], transB=1, name="fc1"),
        helper.make_node("Relu", ["h1"], ["a1"], name="relu3"),
        helper.make_node("Gemm", ["a1", "fc2.w", "fc2.b"], ["h2"], transB=1, name="fc2"),
        helper.make_node("Relu", ["h2"], ["a2"], name="relu4"),
        helper.make_node("Gemm", ["a2", "fc3.w", "fc3.b"], ["logits"], transB=1, name="fc3"),
    ]
    graph = helper.make_graph(
        nodes,
        "lenet5",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        [numpy_helper.from_array(v, k) for k, v in weights.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def onnxruntime_accuracy(model: Path, x: np.ndarray, y: np.ndarray) -> float:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    logits = sess.run(None, {"image": x})[0]
    return float(np.mean(np.argmax(logits, axis=1) == y))


def main(argv: list[str] | None = None) -> int:
    import onnx

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--workdir", type=Path, help="keep the files here (default: a temp folder)")
    args = p.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="gossamer-lenet-"))
    work.mkdir(parents=True, exist_ok=True)
    x_tr, y_tr, x_te, y_te = digits_split()
    np.savez(work / "train.npz", image=x_tr, y=y_tr)
    np.savez(work / "test.npz", image=x_te, y=y_te)
    onnx.save(lenet5(), str(work / "lenet5.onnx"))
    before = onnxruntime_accuracy(work / "lenet5.onnx", x_te, y_te)
    command = [str(GOSSAMER), "train", str(work / "lenet5.onnx"), "--data",
               str(work / "train.npz"), "--labels", "y", "--optimizer", "adam", "--lr",
               str(args.lr), "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
               "--seed", "0", "--no-progress", "--log", str(work / "log.csv"), "-o",
               str(work / "lenet5_digits.onnx")]  # fmt: skip
    if args.threads:
        command += ["--threads", str(args.threads)]
    start = time.perf_counter()
    subprocess.run(command, check=True)
    seconds = time.perf_counter() - start
    after = onnxruntime_accuracy(work / "lenet5_digits.onnx", x_te, y_te)
    print(f"$ {shlex.join(command)}")
    print(f"train {len(y_tr)} / test {len(y_te)} images; {args.epochs} epochs in {seconds:.1f} s")
    print(f"test accuracy in onnxruntime: {before:.2%} at random init -> {after:.2%} trained")
    print((work / "log.csv").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
