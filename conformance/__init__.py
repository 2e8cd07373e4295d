"""Conformance: proving that a backend computes what the reference computes.

- `cases/`: the case table (one module per op family), `case.py` the record, `values.py` the value
  domains and shape families, `special_values.py` NaN/±inf/-0.0/denormals/integer extremes.
- `runner.py` runs examples and cells, `suite.py` a whole backend (strict xfails), `graph_cases.py`
  the partition-boundary graphs, `tolerances.py` the one tolerance table, `repro.py` the runnable
  repro scripts, `report.py` the op x dtype matrix, `cli.py` `gossamer conformance`,
  `pytest_plugin.py` the pytest11 plugin.
- `onnx_node_suite` runs the ONNX backend node tests (generated from the installed `onnx` package)
  through Gossamer.
See docs/conformance.md.
"""
