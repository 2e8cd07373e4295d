"""Backend commands: list them and the ops they implement, explain which one runs each node, check
one for conformance."""

from __future__ import annotations

import argparse
import warnings

from ..refimpl.errors import PerformanceWarning
from ..session import load
from . import backend_options


def cmd_backends(args: argparse.Namespace) -> int:
    from ..plugins.explain import format_backends

    print(with_options(format_backends()))
    return 0


def with_options(listing: str) -> str:
    """`gossamer backends`' listing with, under each backend that declares options
    (`Backend.options`), one indented line per option: its name, its choices, its doc (what
    `--backend-option BACKEND.OPTION=VALUE` and `backend_options=` accept)."""
    from ..plugins.manager import plugin_state

    backends = plugin_state().backends
    lines = []
    for line in listing.splitlines():
        lines.append(line)
        words = line.split(maxsplit=1)
        backend = backends.get(words[0]) if words and not line.startswith(" ") else None
        if backend is None or " not loaded: " in line:
            continue
        lines.extend(f"    option {o.describe()}" for o in getattr(backend, "options", ()))
    return "\n".join(lines)


def cmd_explain(args: argparse.Namespace) -> int:
    from ..plugins.explain import NodeFilter, format_explanation

    with warnings.catch_warnings():  # explain prints the fallback summary itself, in full
        warnings.simplefilter("ignore", PerformanceWarning)
        sess = load(
            args.model, backends=args.backends, optimize=args.optimize, precision=args.precision,
            backend_options=backend_options(args),
        )  # fmt: skip
    only = NodeFilter(tuple(args.op), tuple(args.only_backends), args.fallback)
    text = format_explanation(
        sess.graph, sess.placement, summary=args.summary, only=only, report=sess.placement_report()
    )
    print(text)
    return 0


def cmd_ops(args: argparse.Namespace) -> int:
    from ..plugins.op_support import format_ops_json, format_ops_markdown, format_ops_text, op_table

    names = [n.strip() for item in args.only_backends for n in item.split(",") if n.strip()]
    table = op_table(names or None)
    if args.json:
        print(format_ops_json(table))
    elif args.markdown:
        command = " ".join(["gossamer ops --markdown", *(f"--backend {n}" for n in names)])
        print(format_ops_markdown(table, command), end="")
    else:
        print(format_ops_text(table), end="")
    return 0


def cmd_conformance(args: argparse.Namespace) -> int:
    from ..conformance.cli import run

    return run(args)
