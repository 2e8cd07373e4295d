"""Transfer learning: the shared real model ppocr_mobile_v2_cls (PaddleOCR's text-orientation
classifier) with its backbone frozen and its 2-way head replaced by a new one, trained with the
`gossamer train` CLI on a task it was never trained for: which typeface a text line is set in.

    .venv/bin/python benchmarks/train_transfer.py [--epochs 15]

Task (constructed, nothing downloaded): text lines of random words rendered with Pillow in one
of three DejaVu families (Sans, Serif, Sans Mono; sizes 22-33 px, random paper and ink), PaddleOCR's
preprocessing (height 48, width 192, (x/255 - 0.5)/0.5); 360 training and 180 test lines from
different seeds. Model: the ONNX file from ~/.cache/gossamer/models with its last MatMul/Add/
Softmax removed and Gemm(features[N, 200], head.w[3, 200], head.b) -> logits added; only head.*
is trained (`--train 'head.*'`), so the backbone needs no gradients. Accuracy of the exported
model measured in onnxruntime. Needs the `bench` extra (Pillow, onnx, onnxruntime).
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

MODEL = Path.home() / ".cache" / "gossamer" / "models" / "ppocr_mobile_v2_cls.onnx"
FONTS = Path("/usr/share/fonts/truetype/dejavu")
FAMILIES = ["DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf"]
WORDS = (
    "the quick brown fox jumps over lazy dog invoice total amount date paid receipt order "
    "number street city station platform exit open closed coffee tea bread milk price sale "
    "2024 17:45 No. 3812 EUR 12.50 km/h tel ID A7-QX model layer weight train"
).split()
GOSSAMER = Path(sys.executable).with_name("gossamer")


def text_lines(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(x float32 [count, 3, 48, 192], family index int64 [count])."""
    from PIL import Image, ImageDraw, ImageFont

    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for _ in range(count):
        family = int(rng.integers(len(FAMILIES)))
        font = ImageFont.truetype(str(FONTS / FAMILIES[family]), int(rng.integers(22, 34)))
        text = " ".join(rng.choice(WORDS, size=int(rng.integers(2, 5))))
        left, top, right, bottom = font.getbbox(text)
        pad = int(rng.integers(4, 10))
        paper = tuple(int(v) for v in rng.integers(190, 256, 3))
        ink = tuple(int(v) for v in rng.integers(0, 70, 3))
        img = Image.new("RGB", (right - left + 2 * pad, bottom - top + 2 * pad), paper)
        ImageDraw.Draw(img).text((pad - left, pad - top), text, fill=ink, font=font)
        w = min(192, max(1, int(np.ceil(48 * img.width / img.height))))
        a = np.asarray(img.resize((w, 48), Image.Resampling.BILINEAR), np.float32) / 255.0
        x = np.zeros((3, 48, 192), np.float32)
        x[:, :, :w] = ((a - 0.5) / 0.5).transpose(2, 0, 1)
        xs.append(x)
        ys.append(family)
    return np.stack(xs), np.array(ys, np.int64)


def with_new_head(classes: int, seed: int = 0):
    """ppocr_mobile_v2_cls with MatMul/Add/Softmax replaced by Gemm -> logits [N, classes]."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(MODEL))
    g = model.graph
    matmul = next(n for n in g.node if n.op_type == "MatMul")
    features = matmul.input[0]
    cut = list(g.node).index(matmul)
    keep = list(g.node)[:cut]
    tensors = [t for t in g.initializer if t.name == matmul.input[1]] + [
        a.t for n in g.node if n.op_type == "Constant" and n.output[0] == matmul.input[1]
        for a in n.attribute if a.name == "value"
    ]  # fmt: skip
    dim = numpy_helper.to_array(tensors[0]).shape[0]
    rng = np.random.default_rng(seed)
    bound = np.sqrt(6.0 / dim)
    head_w = rng.uniform(-bound, bound, (classes, dim)).astype(np.float32)
    del g.node[:]
    g.node.extend(keep)
    g.node.append(helper.make_node("Gemm", [features, "head.w", "head.b"], ["logits"], transB=1,
                                   name="head"))  # fmt: skip
    head_b = np.zeros(classes, np.float32)
    g.initializer.extend([numpy_helper.from_array(head_w, "head.w"),
                          numpy_helper.from_array(head_b, "head.b")])  # fmt: skip
    del g.output[:]
    g.output.append(helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", classes]))
    used = {i for n in g.node for i in n.input}
    kept = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(kept)
    return model


def main(argv: list[str] | None = None) -> int:
    import onnx
    import onnxruntime as ort

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--train-size", type=int, default=360)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--workdir", type=Path)
    args = p.parse_args(argv)
    if not MODEL.exists():
        print(f"{MODEL} is missing (tests/fetch_models.sh fetches it)")
        return 1
    work = args.workdir or Path(tempfile.mkdtemp(prefix="gossamer-transfer-"))
    work.mkdir(parents=True, exist_ok=True)
    x_tr, y_tr = text_lines(args.train_size, seed=1)
    x_te, y_te = text_lines(180, seed=2)
    np.savez(work / "train.npz", x=x_tr, y=y_tr)
    onnx.save(with_new_head(len(FAMILIES)), str(work / "fonts.onnx"))
    command = [str(GOSSAMER), "train", str(work / "fonts.onnx"), "--data", str(work / "train.npz"),
               "--labels", "y", "--train", "head.*", "--optimizer", "adam", "--lr", str(args.lr),
               "--epochs", str(args.epochs), "--batch-size", "32", "--no-progress", "--log",
               str(work / "log.csv"), "-o", str(work / "fonts_trained.onnx")]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(command, check=True)
    seconds = time.perf_counter() - start

    def accuracy(path: Path) -> float:
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return float(np.mean(np.argmax(sess.run(None, {"x": x_te})[0], axis=1) == y_te))

    print(f"$ {shlex.join(command)}")
    print(f"{len(y_tr)} training / {len(y_te)} test lines, 3 typefaces; {seconds:.1f} s")
    print(f"test accuracy in onnxruntime: {accuracy(work / 'fonts.onnx'):.2%} (new head, random)"
          f" -> {accuracy(work / 'fonts_trained.onnx'):.2%} trained (chance 33.3 %)")  # fmt: skip
    print((work / "log.csv").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
