# Cython wrappers for src/spatial.c (included by _ext.pyx; one section per kernel family).
