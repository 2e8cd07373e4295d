"""What each `gossamer` subcommand does, one module per group; gossamer/cli.py dispatches.

model_io: convert, optimize, export, view. running: run, info, dump, demo. backends: backends,
explain, conformance. tools: compare, benchmark. inputs: the feeds those commands share
(--input, --random, --shape); images: image files for --input (--preprocess).
"""
