"""Backend commands: list them, explain which one runs each node, check one for conformance."""

from __future__ import annotations

import argparse

from ..session import load


def cmd_backends(args: argparse.Namespace) -> int:
    from ..plugins.explain import format_backends

    print(format_backends())
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from ..plugins.explain import format_placement

    sess = load(args.model, backends=args.backends)
    print(format_placement(sess.graph, sess.placement))
    return 0


def cmd_conformance(args: argparse.Namespace) -> int:
    from ..conformance.cli import run

    return run(args)
