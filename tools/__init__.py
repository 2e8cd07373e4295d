"""Debugging tools built on the reference.

`gossamer compare` is four modules, by role: `first_divergence` (run both sides, walk the
intermediates, name the first node outside tolerance), `ort_intermediates` (the onnxruntime side:
every intermediate exposed as an output), `tensor_diff` (the error statistics of two values) and
`divergence_repro` (the folder with the divergent node, its inputs and a repro script).
`benchmark` times a session; `fuzz_models` and `fuzz/` generate hostile models.
"""
