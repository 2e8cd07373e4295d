"""Post-training quantisation: static int8 (QDQ/QOperator) with calibration, dynamic int8,
and (fp16.py, weight_only.py) float16 and weight-only quantisation.

    from gossamer.converter.quantization import quantize_static, quantize_dynamic
    graph, report = quantize_static(graph, "calibration.npz", method="kl", per_channel=True)

gossamer.quantize() is the public entry point that reads and writes model files.
"""

from __future__ import annotations

from .calibration_data import CalibrationData, load_calibration
from .dynamic import quantize_dynamic
from .fp16 import Fp16Report, quantize_fp16, quantize_fp16_report
from .layer_report import LayerStats, QuantReport
from .static import StaticOptions, quantize_static
from .weight_only import WeightReport, WeightStats, quantize_weights
from .weight_sweep import SweepRow, format_sweep, weight_sweep

__all__ = [
    "CalibrationData",
    "Fp16Report",
    "LayerStats",
    "QuantReport",
    "StaticOptions",
    "SweepRow",
    "WeightReport",
    "WeightStats",
    "format_sweep",
    "load_calibration",
    "quantize_dynamic",
    "quantize_fp16",
    "quantize_fp16_report",
    "quantize_static",
    "quantize_weights",
    "weight_sweep",
]
