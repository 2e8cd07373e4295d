# Cython wrappers for src/layout.c (included by _ext.pyx; one section per kernel family).
