"""The mutant table: every planted kernel bug, its bug class, its case family, and the case ids
a default `gossamer conformance` run must fail for it (and no other: the correct kernels beside
it pass). tests/planted_bugs/test_mutants.py checks each with a default run;
benchmarks/conformance_catch_rate.py measures each one's catch rate over random seeds.
"""

from __future__ import annotations

from dataclasses import dataclass

from gossamer.plugins import Backend

from . import mutants_compute, mutants_integer, mutants_layout
from .backends import ConvPadBug, ConvPadShift, InplaceAbs, KeepdimsBug, ReluLeak


@dataclass(frozen=True)
class Mutant:
    backend: type[Backend]
    family: str  # the conformance/cases module of the buggy op
    kind: str  # the bug class
    fails: frozenset[str]  # case ids the bug may fail; a default run must fail at least one

    @property
    def name(self) -> str:
        return self.backend.name


def _m(backend: type[Backend], family: str, kind: str, *fails: str) -> Mutant:
    return Mutant(backend, family, kind, frozenset(fails))


C, L, I = mutants_compute, mutants_layout, mutants_integer
MUTANTS: dict[str, Mutant] = {
    m.name: m
    for m in (
        _m(ConvPadBug, "nn", "ignored attribute", "Conv"),
        _m(ConvPadShift, "nn", "indexing", "Conv"),
        _m(C.DepthwiseBlock8, "nn", "block boundary", "Conv"),
        _m(
            C.MaxPoolCeil,
            "pool",
            "ignored attribute",
            "MaxPool",
            "MaxPool:opset10",
            "MaxPool:indices",
        ),  # fmt: skip
        _m(C.AvgPoolCountPad, "pool", "ignored attribute", "AveragePool"),
        _m(C.MaxPoolInt8Pad, "pool", "integer extremes", "MaxPool"),
        _m(ReluLeak, "activations", "wrong values", "Relu"),
        _m(C.SigmoidOverflow, "activations", "overflow", "Sigmoid"),
        _m(C.SoftmaxNaive, "activations", "overflow", "Softmax"),
        _m(C.SoftmaxV1Axis, "activations", "version semantics", "Softmax:opset11"),
        _m(C.PReluBroadcast, "activations", "broadcasting", "PRelu"),
        _m(InplaceAbs, "elementwise", "in-place write", "Abs"),
        _m(C.Cast19Round, "elementwise", "rounding mode", "Cast:to_int_opset19"),
        _m(C.AddBroadcast, "elementwise", "broadcasting", "Add"),
        _m(C.DivIntFloor, "elementwise", "rounding mode", "Div"),
        _m(C.MaxNaN, "elementwise", "special values", "Max"),
        _m(KeepdimsBug, "reductions", "wrong shape", "ReduceSum", "ReduceSum:opset11"),
        _m(C.ReduceSumBlock16, "reductions", "block boundary", "ReduceSum"),
        _m(C.ReduceMeanNoop, "reductions", "ignored attribute", "ReduceMean"),
        _m(C.ArgMaxLast, "reductions", "ignored attribute", "ArgMax"),
        _m(C.ArgMinInt32, "reductions", "wrong dtype", "ArgMin"),
        _m(C.MatMulKBlock, "matmul", "block boundary", "MatMul"),
        _m(C.GemmTrans, "matmul", "ignored attribute", "Gemm"),
        _m(
            L.LayerNormInplace,
            "norm",
            "in-place write",
            "LayerNormalization",
            "LayerNormalization:mean_invstd",
        ),  # fmt: skip
        _m(
            L.BatchNormEps,
            "norm",
            "ignored attribute",
            "BatchNormalization",
            "BatchNormalization:training",
        ),
        _m(L.UnsqueezeNegative, "shape", "wrong shape", "Unsqueeze"),
        _m(L.SliceNegativeStep, "shape", "indexing", "Slice"),
        _m(L.ShapeInt32, "layout", "wrong dtype", "Shape"),
        _m(L.PadReflect, "layout", "ignored attribute", "Pad"),
        _m(L.GatherNegative, "indexing", "indexing", "Gather"),
        _m(L.ScatterNDReduction, "indexing", "ignored attribute", "ScatterND:reduction"),
        _m(L.OneHotAxis, "indexing", "wrong shape", "OneHot"),
        _m(L.QuantizeHalfUp, "quantized", "rounding mode", "QuantizeLinear"),
        _m(L.DequantizeAxis, "quantized", "broadcasting", "DequantizeLinear"),
        _m(L.Dropout7Mask, "misc", "version semantics", "Dropout:opset7"),
        _m(L.GRULinearBeforeReset, "recurrent", "ignored attribute", "GRU"),
        _m(L.RoiAlignCoord, "vision", "version semantics", "RoiAlign"),
        _m(L.FusedConvResidual, "fused", "ignored input", "gossamer::FusedConv"),
        _m(L.DFTOnesided, "signal", "wrong shape", "DFT"),
        _m(L.NLLIgnoreIndex, "losses", "ignored attribute", "NegativeLogLikelihoodLoss"),
        _m(L.StringSplitMaxsplit, "strings", "ignored attribute", "StringSplit"),
        _m(L.LoopTripCount, "control", "ignored input", "Loop"),
        _m(L.ResizeNearestCoord, "resize", "ignored attribute", "Resize"),
        _m(
            I.QLinearAddZeroPointB,
            "quantized_contrib",
            "ignored input",
            "com.microsoft::QLinearAdd",
        ),  # fmt: skip
        _m(I.TFLiteAddActivation, "tflite_int8", "ignored attribute", "tflite::Add"),
        _m(I.ReluGradLeak, "gradients", "wrong values", "ai.gossamer.grad::ReluGrad"),
        _m(
            L.NchwcGapLastBlock,
            "blocked_layout",
            "block boundary",
            "gossamer::NchwcGlobalAveragePool",
        ),  # fmt: skip
        _m(
            L.NchwcConvShiftFirst,
            "blocked_layout",
            "wrong values",
            "gossamer::NchwcConv",
        ),  # fmt: skip
        _m(
            I.AdamNoBiasCorrection,
            "optimizers",
            "ignored input",
            "ai.onnx.preview.training::Adam",
            "ai.onnx.preview.training::Adam:2groups",
        ),  # fmt: skip
    )
}
NEW_CLASSES = mutants_compute.CLASSES + mutants_layout.CLASSES + mutants_integer.CLASSES
