# Cython wrappers for src/upsample.c (included by _ext.pyx).
