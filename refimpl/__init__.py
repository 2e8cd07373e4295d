"""The reference layer: graph IR, dtypes, the op registry, the numpy ops and the interpreter.

Only numpy, ml_dtypes (for bfloat16/float8/int4) and the standard library are imported here.
"""
