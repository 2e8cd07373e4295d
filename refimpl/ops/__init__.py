"""The reference ops: one op per `op_<snake>.py`, plain numpy functions marked with @reference_op.

Conventions (DESIGN.md, contract 1): inputs positional in ONNX order (a missing optional input is
None), attributes keyword-only with ONNX defaults, a one-line math docstring. A function returns
one array, or a tuple when the op has several outputs (the interpreter keeps as many as the node
names). A keyword-only parameter `num_outputs` is filled with the node's output count when the
model does not set it. A graph attribute (If/Loop/Scan bodies) arrives as a callable: body(*inputs)
-> list of outputs. Helpers shared by several ops live in `_<topic>.py` modules.

After adding or renaming an op, run `python -m gossamer.refimpl.registry` to regenerate
`_index.py` (which lets a session import only the ops its model uses); a test fails until you do.
"""
