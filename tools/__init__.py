"""Debugging tools built on the reference.

`gossamer compare` is six modules, by role: `first_divergence` (run both sides, walk the
intermediates, name the first node outside tolerance), `ort_intermediates` (the onnxruntime side:
every intermediate exposed as an output), `tensor_diff` (the error statistics of two values; which
elements mismatch is refimpl/mismatch.py's one definition), `divergence_repro` (the divergent node
replayed alone, and the folder with it, its inputs and a repro script), `compare_report` (the text
and JSON report) and `compare_plot` (the error-per-node chart).
`gossamer benchmark` is `benchmark` (time a session: cold and warm runs, memory, the profile, a
trace), `benchmark_report` (its text, JSON and chart) and `golden` (outputs against a stored
`.npz`). `node_backend` says which backend computed a node (also for `gossamer dump`); `plots`
holds the chart helpers (matplotlib, the `plot` extra). `fuzz_models` and `fuzz/` generate
hostile models.
"""
