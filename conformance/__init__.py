"""Conformance: proving that a backend computes what the reference computes.

`onnx_node_suite` runs the ONNX backend node tests (generated from the installed `onnx` package)
through Gossamer.
"""
