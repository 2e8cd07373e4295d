"""Conformance: proving that a backend computes what the reference computes.

- `cases/`: the case table (one module per op family, a case per op version, each with fixed
  edges), `case.py` the record, `values.py` the value domains and shape families (block-width
  sides), `special_values.py` NaN/±inf/-0.0/subnormals/overflowing values/integer extremes,
  `storage.py` the value domains of backends that store floats narrower (`storage_dtype`).
- `runner.py` runs examples and cells (fixed edges and extremes, then drawn examples), `claims.py`
  what a kernel backend can claim (its op versions and dtypes), `suite.py` a whole backend
  (presets, strict xfails), `graph_cases.py` the partition-boundary graphs, `tolerances.py` the
  one tolerance table, `repro.py` the runnable repro scripts, `summary.py` the dtype columns and
  the summary line, `report.py` the op x dtype matrix (`report_html.py`: as a colour grid),
  `cli.py` `gossamer conformance`, `pytest_plugin.py` the pytest11 plugin.
- `onnx_node_suite` runs the ONNX backend node tests (generated from the installed `onnx` package)
  through Gossamer.
See docs/conformance.md.
"""
