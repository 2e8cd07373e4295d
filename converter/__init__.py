"""Model conversion: ONNX import/export (and later TFLite import, optimisation passes,
quantisation)."""
