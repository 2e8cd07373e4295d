"""Debugging tools built on the reference.

`compare`: which node is the first where a backend and the reference (or onnxruntime) disagree,
and by how much.
"""
