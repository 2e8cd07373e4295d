"""What each `gossamer` subcommand does, one module per group; gossamer/cli.py dispatches.

model_io: convert, optimize, export, view. running: run, info, dump, demo. backends: backends,
explain, conformance. tools: compare, benchmark. inputs: the feeds those commands share
(--input, --random, --shape); images: image files for --input (--preprocess).
"""

from __future__ import annotations

import argparse


def backend_options(args: argparse.Namespace) -> dict[str, dict[str, str]] | None:
    """The --backend-option BACKEND.OPTION=VALUE values as load()'s backend_options (None when
    none was given); the backends check them."""
    found: dict[str, dict[str, str]] = {}
    for backend, option, value in getattr(args, "backend_options", None) or []:
        found.setdefault(backend, {})[option] = value
    return found or None
