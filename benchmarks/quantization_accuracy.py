"""Accuracy of static int8 quantisation: Gossamer's quantiser vs onnxruntime.quantization's
quantize_static, on the same calibration and test data (different samples for each).

    .venv/bin/python benchmarks/quantization_accuracy.py [--models ppocr_mobile_v2_cls,...]

Data (nothing downloaded; needs Pillow and scikit-image, the `bench` extra):
- ppocr_mobile_v2_cls: text lines rendered with Pillow (DejaVu fonts), fed at 0 and 180 degrees;
  metric: the int8 model picks the float model's class.
- ppocrv4_rec: rendered text lines; metric: the CTC greedy-decoded index sequence equals the
  float model's.
- mtcnn_rnet, mtcnn_onet, nudenet_320n_yolov8n: crops of scikit-image's sample photos (faces
  from its LFW subset for MTCNN); metric: cosine of every output to the float model's.
Gossamer's default gives 16-bit codes to the first layers of a model that int8 alone serves
badly (auto precision: ppocrv4_rec); the rows "all int8" turn that off, and the layers it chose
are listed under the table.
Every quantised model is evaluated by onnxruntime with graph optimisations off, which computes
the QDQ graph exactly as ONNX defines it (its fused u8s8 kernels would add their own error on CPUs
without VNNI, for both quantisers alike). Results go to benchmarks/results/quantization_accuracy.*
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
MODELS = Path.home() / ".cache" / "gossamer" / "models"
RESULTS = REPO / "benchmarks" / "results"
FONTS = sorted(Path("/usr/share/fonts/truetype/dejavu").glob("DejaVu*.ttf"))
WORDS = (
    "the quick brown fox jumps over lazy dog invoice total amount date paid receipt order "
    "number street city station platform exit open closed coffee tea bread milk price sale "
    "2024 17:45 No. 3812 EUR 12.50 km/h tel +49 ID A7-QX Gossamer ONNX int8 model layer"
).split()


# ---- data ------------------------------------------------------------------------------------
def text_line_images(count: int, seed: int) -> list:
    from PIL import Image, ImageDraw, ImageFont

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        text = " ".join(rng.choice(WORDS, size=int(rng.integers(2, 6))))
        font = ImageFont.truetype(
            str(FONTS[int(rng.integers(len(FONTS)))]), int(rng.integers(22, 34))
        )
        left, top, right, bottom = font.getbbox(text)
        pad = int(rng.integers(4, 12))
        img = Image.new("RGB", (right - left + 2 * pad, bottom - top + 2 * pad), _paper(rng))
        ImageDraw.Draw(img).text((pad - left, pad - top), text, fill=_ink(rng), font=font)
        out.append(img)
    return out


def _paper(rng: np.random.Generator) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(200, 256, 3))  # type: ignore[return-value]


def _ink(rng: np.random.Generator) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(0, 70, 3))  # type: ignore[return-value]


def ocr_input(img, width: int, rotate: bool = False) -> np.ndarray:
    """PaddleOCR's preprocessing: height 48, aspect kept up to `width`, (x/255 - 0.5)/0.5,
    right-padded with zeros; NCHW."""
    from PIL import Image

    if rotate:
        img = img.rotate(180)
    w = min(width, max(1, math.ceil(48 * img.width / img.height)))
    x = np.asarray(img.resize((w, 48), Image.Resampling.BILINEAR), np.float32) / 255.0
    x = (x - 0.5) / 0.5
    out = np.zeros((1, 3, 48, width), np.float32)
    out[0, :, :, :w] = x.transpose(2, 0, 1)
    return out


def photos() -> list[np.ndarray]:
    from skimage import data

    names = [
        "astronaut",
        "coffee",
        "chelsea",
        "rocket",
        "hubble_deep_field",
        "retina",
        "motorcycle_left",
        "motorcycle_right",
        "immunohistochemistry",
        "colorwheel",
    ]
    out = []
    for n in names:
        try:
            img = getattr(data, n)()
        except Exception:  # noqa: BLE001 - an image this scikit-image lacks or must download
            continue
        if img.ndim == 3 and img.shape[2] >= 3:
            out.append(img[:, :, :3])
    return out


def faces() -> list[np.ndarray]:
    from skimage import data

    gray = data.lfw_subset()  # 200 grayscale 25x25 crops, faces first
    return [np.repeat((g * 255)[:, :, None], 3, axis=2) for g in gray]


def crops(images: list[np.ndarray], count: int, size: int, seed: int) -> list[np.ndarray]:
    """Random square crops resized to size x size (uint8-range float HWC)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        img = images[int(rng.integers(len(images)))]
        h, w = img.shape[:2]
        side = int(rng.integers(min(h, w) // 4, min(h, w) + 1))
        y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        patch = Image.fromarray(np.asarray(img[y : y + side, x : x + side], np.uint8))
        out.append(np.asarray(patch.resize((size, size), Image.Resampling.BILINEAR), np.float32))
    return out


def mtcnn_feeds(size: int, count: int, seed: int) -> list[np.ndarray]:
    pool = crops(photos(), count // 2, size, seed) + crops(faces(), count - count // 2, size, seed)
    return [((p - 127.5) * 0.0078125)[None].astype(np.float32) for p in pool]


def nudenet_feeds(count: int, seed: int) -> list[np.ndarray]:
    return [
        (p / 255.0).transpose(2, 0, 1)[None].astype(np.float32)
        for p in crops(photos(), count, 320, seed)
    ]


def datasets(name: str, n_cal: int, n_test: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    if name == "ppocr_mobile_v2_cls":
        cal = text_line_images(n_cal, 1)
        test = text_line_images(n_test // 2, 2)
        return (
            [ocr_input(img, 192, rotate=i % 2 == 1) for i, img in enumerate(cal)],
            [ocr_input(img, 192, r) for img in test for r in (False, True)],
        )
    if name == "ppocrv4_rec":
        return (
            [ocr_input(img, 320) for img in text_line_images(n_cal, 3)],
            [ocr_input(img, 320) for img in text_line_images(n_test, 4)],
        )
    if name.startswith("mtcnn"):
        size = {"mtcnn_rnet": 24, "mtcnn_onet": 48}[name]
        return mtcnn_feeds(size, n_cal, 5), mtcnn_feeds(size, n_test, 6)
    return nudenet_feeds(n_cal, 7), nudenet_feeds(n_test, 8)


# ---- quantisers ----------------------------------------------------------------------------
def gossamer_int8(
    path: Path, inp: str, cal: list[np.ndarray], **options
) -> tuple[bytes, float, dict]:
    from gossamer.converter.onnx_export import graph_to_onnx
    from gossamer.converter.quantization import quantize_static

    from gossamer.quantization import session_runner
    from gossamer.session import read_model

    start = time.perf_counter()
    runner = session_runner()  # calibration on the fastest backends (cython), as gossamer.quantize
    graph, report = quantize_static(
        read_model(path), {inp: np.stack(cal)}, runner=runner, **options
    )
    mixed = {"sixteen_bit": sorted(report.sixteen_bit), "kept_float": sorted(report.kept_float)}
    return graph_to_onnx(graph).SerializeToString(), time.perf_counter() - start, mixed


def ort_int8(
    path: Path, inp: str, cal: list[np.ndarray], tmp: Path, **options
) -> tuple[bytes, float]:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter([{inp: x} for x in cal])

        def get_next(self):  # noqa: ANN201 - onnxruntime's interface
            return next(self.it, None)

    start = time.perf_counter()
    pre, out = tmp / f"{path.stem}.pre.onnx", tmp / f"{path.stem}.ort.onnx"
    source = path
    if options.get("per_channel"):  # per-axis DequantizeLinear needs opset 13, as it warns
        import onnx
        from onnx import version_converter

        model = onnx.load(str(path))
        if model.opset_import[0].version < 13:
            source = tmp / f"{path.stem}.opset13.onnx"
            onnx.save(version_converter.convert_version(model, 13), str(source))
    quant_pre_process(str(source), str(pre), skip_symbolic_shape=True)
    quantize_static(str(pre), str(out), Reader(), quant_format=QuantFormat.QDQ, **options)
    return out.read_bytes(), time.perf_counter() - start


def ort_outputs(model: bytes | Path, inp: str, feeds: list[np.ndarray]) -> list[list[np.ndarray]]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.log_severity_level = 3
    source = str(model) if isinstance(model, Path) else model
    sess = ort.InferenceSession(source, opts, providers=["CPUExecutionProvider"])
    return [sess.run(None, {inp: x}) for x in feeds]


# ---- metrics ---------------------------------------------------------------------------------
def ctc_greedy(probs: np.ndarray) -> list[int]:
    best = probs[0].argmax(axis=-1)
    return [int(c) for i, c in enumerate(best) if c != 0 and (i == 0 or c != best[i - 1])]


def metric(name: str, ref: list[list[np.ndarray]], got: list[list[np.ndarray]]) -> dict:
    """The model's task metric (PaddleOCR: the decision; the others: output cosine), and for the
    PaddleOCR models the mean output cosine too (a continuous view of the same runs)."""
    cos = []
    for r, g in zip(ref, got):
        a = np.concatenate([x.ravel() for x in r]).astype(np.float64)
        b = np.concatenate([x.ravel() for x in g]).astype(np.float64)
        cos.append(float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30)))
    if name == "ppocr_mobile_v2_cls":
        same = [int(np.argmax(r[0]) == np.argmax(g[0])) for r, g in zip(ref, got)]
        return {"same_class_pct": 100.0 * float(np.mean(same)), "mean_cosine": float(np.mean(cos))}
    if name == "ppocrv4_rec":
        same = [ctc_greedy(r[0]) == ctc_greedy(g[0]) for r, g in zip(ref, got)]
        return {
            "same_decoding_pct": 100.0 * float(np.mean(same)),
            "mean_cosine": float(np.mean(cos)),
        }
    return {"mean_cosine": float(np.mean(cos)), "min_cosine": float(np.min(cos))}


VARIANTS = {
    "gossamer default (per-channel, equalisation, bias correction, auto precision)": (
        "gossamer",
        {},
    ),
    "gossamer all int8 (auto precision off)": ("gossamer", {"auto_precision": False}),
    "gossamer all int8 without bias correction": (
        "gossamer",
        {"auto_precision": False, "bias_correction": False},
    ),
    "gossamer all int8 without equalisation": (
        "gossamer",
        {"auto_precision": False, "equalize": False},
    ),
    "onnxruntime default (per-tensor)": ("ort", {}),
    "onnxruntime per-channel": ("ort", {"per_channel": True}),
}
# what the tables cannot show, measured once (24 calibration / 60 test lines, onnxruntime)
FINDINGS = {
    "ppocrv4_rec": (
        "Why ppocrv4_rec is not all int8: its CTC decoding breaks in the backbone first (only "
        "the backbone int8: 70.0 % same decoding; only the SVTR neck and head int8: 91.7 %), "
        "and no int8 refinement can close the gap: with float activations, int8 / 9-bit / "
        "10-bit per-channel weights give 83.3 / 85.0 / 93.3 %; with float weights, 8- / 9- / "
        "10-bit activations give 70.0 / 70.0 / 83.3 % (error amplified through ~40 layers: "
        "each layer alone keeps 30-40 dB, the 12th quantised layer's output 9 dB). Every layer "
        "16-bit gives 96.7 % with the calibrated ranges and 100 % with them doubled: on lines "
        "it has not seen, values beyond the 24 calibration lines' ranges clip, so 16-bit ranges "
        "are widened (qdq_writer.WIDE_MARGIN). The error a layer adds grows with the layers "
        "after it, so auto precision widens the first layers (the first 12 quantised nodes "
        "16-bit: output cosine 0.9970 on the calibration lines even without bias correction; "
        "the 16 with the lowest SQNR of their own, with it: 0.9939) until the calibration "
        "cosine reaches 0.9995."
    ),
}
# extra rows for one model: {model: {row: (quantiser, options)}}
TARGETED: dict[str, dict[str, tuple[str, dict]]] = {}
INPUTS = {
    "ppocr_mobile_v2_cls": "x",
    "ppocrv4_rec": "x",
    "mtcnn_rnet": "input_2",
    "mtcnn_onet": "input_3",
    "nudenet_320n_yolov8n": "images",
}


def main(argv: list[str] | None = None) -> int:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(INPUTS))
    parser.add_argument("--calibration", type=int, default=24, help="calibration samples")
    parser.add_argument("--test", type=int, default=60, help="test samples")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="update these models' rows in the existing results (same sample counts)",
    )
    args = parser.parse_args(argv)
    results: dict = {
        "calibration_samples": args.calibration,
        "test_samples": args.test,
        "evaluated_by": "onnxruntime, graph optimisations off",
        "models": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            path, inp = MODELS / f"{name}.onnx", INPUTS[name]
            cal, test = datasets(name, args.calibration, args.test)
            ref = ort_outputs(path, inp, test)
            row: dict = {}
            for variant, (who, options) in {**VARIANTS, **TARGETED.get(name, {})}.items():
                mixed: dict = {}
                if who == "gossamer":
                    model, seconds, mixed = gossamer_int8(path, inp, cal, **options)
                else:
                    model, seconds = ort_int8(path, inp, cal, Path(tmp), **options)
                row[variant] = {
                    **metric(name, ref, ort_outputs(model, inp, test)),
                    "quantize_s": round(seconds, 1),
                }
                if mixed.get("sixteen_bit") or mixed.get("kept_float"):
                    row[variant]["mixed"] = mixed
                print(name, variant, row[variant], file=sys.stderr, flush=True)
            results["models"][name] = row
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "quantization_accuracy.json"
    if args.merge and path.exists():  # keep the other models' rows of an earlier, same-size run
        earlier = json.loads(path.read_text())
        same_size = all(
            earlier.get(k) == results[k] for k in ("calibration_samples", "test_samples")
        )
        if same_size:
            results["models"] = {**earlier["models"], **results["models"]}
    path.write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "quantization_accuracy.md").write_text(markdown(results))
    print(markdown(results))
    return 0


def markdown(results: dict) -> str:
    lines = [
        "# Static int8 accuracy: Gossamer vs onnxruntime.quantization",
        "",
        f"{results['calibration_samples']} calibration samples, {results['test_samples']} test "
        f"samples (different ones); evaluated by {results['evaluated_by']}. Written by "
        "benchmarks/quantization_accuracy.py.",
        "",
    ]
    for name, row in results["models"].items():
        keys = [k for k in next(iter(row.values())) if k not in ("quantize_s", "mixed")]
        lines += [
            f"## {name}",
            "",
            "| quantiser | " + " | ".join(keys) + " | quantize s |",
            "|---" * (len(keys) + 2) + "|",
        ]
        for variant, m in row.items():
            cells = [f"{m[k]:.5f}" if "cosine" in k else f"{m[k]:.1f}" for k in keys]
            lines.append(f"| {variant} | " + " | ".join(cells) + f" | {m['quantize_s']} |")
        lines.append("")
        if name in FINDINGS:
            lines += [FINDINGS[name], ""]
        for variant, m in row.items():
            mixed = m.get("mixed")
            if mixed:
                wide, kept = mixed["sixteen_bit"], mixed["kept_float"]
                lines += [
                    f"{variant}: {len(wide)} layers 16-bit ({', '.join(wide) or 'none'}), "
                    f"{len(kept)} float ({', '.join(kept) or 'none'}).",
                    "",
                ]
    lines += [
        "Gossamer calibrated on the fastest available backends (cython where it runs a node, "
        "the reference interpreter elsewhere); quantize s measured on a shared 2-core machine "
        "under load (not a speed measurement).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
