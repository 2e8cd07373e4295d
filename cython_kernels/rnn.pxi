# Cython wrappers for src/rnn.c (included by _ext.pyx; one section per kernel family).
