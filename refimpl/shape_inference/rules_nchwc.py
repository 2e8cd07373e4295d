"""Rules for the blocked channel layout's ops (domain gossamer, refimpl/ops/op_nchwc_*.py):
a blocked value (N, C/c, *spatial, c) of an NCHW value (N, C, *spatial)."""

from __future__ import annotations

from ..ir import Node
from .rules_nn import _window_dims as window_dims  # the conv rule's own window arithmetic
from .scope import Rule, Scope, in_name, out_name, rule_table
from .symbolic import Shape, dim_floordiv, dim_mul

RULES: dict[str, Rule] = {}
rule = rule_table(RULES)


def _blocked(shape: Shape, size: int) -> Shape:
    if shape is None or len(shape) < 3:
        return None
    return (shape[0], dim_floordiv(shape[1], size), *shape[2:], size)


def _plain(shape: Shape) -> Shape:
    if shape is None or len(shape) < 4:
        return None
    size = shape[-1]
    return (shape[0], dim_mul(shape[1], size), *shape[2:-1])


@rule("NchwcReorderInput")
def _reorder_input(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    s.set(out_name(n), x.dtype, _blocked(x.shape, int(n.attrs.get("block_size", 8))))


@rule("NchwcReorderOutput")
def _reorder_output(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    s.set(out_name(n), x.dtype, _plain(x.shape))


@rule("NchwcConv")
def _conv(s: Scope, n: Node) -> None:
    """The conv's NCHW shape (its rule on the unblocked input), blocked like the input."""
    x, w = s.value(in_name(n, 0)), s.shape(in_name(n, 1))
    blocked_in = x.shape is not None and w is not None and len(x.shape) == len(w) + 1
    plain = _plain(x.shape) if blocked_in else x.shape
    size = x.shape[-1] if blocked_in and x.shape is not None else 8
    out = _conv_shape(s, n, plain, w)
    s.set(out_name(n), x.dtype, _blocked(out, size) if isinstance(size, int) else None)


def _conv_shape(s: Scope, n: Node, x: Shape, w: Shape) -> Shape:
    if x is None or len(x) < 3:
        return None
    kernel = n.attrs.get("kernel_shape") or (
        list(w[2:]) if w is not None else [None] * (len(x) - 2)
    )
    cout = w[0] if w is not None else None
    return (x[0], cout, *window_dims(n, x[2:], kernel))


@rule("NchwcGlobalAveragePool")
def _global_average(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    plain = _plain(x.shape)
    s.set(out_name(n), x.dtype, None if plain is None else (*plain[:2], *([1] * (len(plain) - 2))))


@rule("NchwcMaxPool")
def _max_pool(s: Scope, n: Node) -> None:
    """MaxPool's window on the unblocked spatial dims, blocked like the input."""
    x = s.value(in_name(n, 0))
    if x.shape is None or len(x.shape) < 4:
        s.set(out_name(n), x.dtype, None)
        return
    spatial = window_dims(n, x.shape[2:-1], n.attrs.get("kernel_shape") or [])
    s.set(out_name(n), x.dtype, (x.shape[0], x.shape[1], *spatial, x.shape[-1]))


@rule("NchwcConvMaxPool")
def _conv_max_pool(s: Scope, n: Node) -> None:
    """NchwcConv's shape, then NchwcMaxPool's window (its attributes prefixed pool_)."""
    x, w = s.value(in_name(n, 0)), s.shape(in_name(n, 1))
    blocked_in = x.shape is not None and w is not None and len(x.shape) == len(w) + 1
    plain = _conv_shape(s, n, _plain(x.shape) if blocked_in else x.shape, w)
    size = x.shape[-1] if blocked_in and x.shape is not None else 8
    if plain is None or not isinstance(size, int):
        s.set(out_name(n), x.dtype, None)
        return
    pool = Node("MaxPool", [], [], {k[5:]: v for k, v in n.attrs.items() if k.startswith("pool_")})
    spatial = window_dims(pool, plain[2:], pool.attrs.get("kernel_shape") or [])
    s.set(out_name(n), x.dtype, _blocked((*plain[:2], *spatial), size))


@rule("NchwcDepthwisePointwise")
def _depthwise_pointwise(s: Scope, n: Node) -> None:
    """y: the depthwise conv's plane (NchwcConv's rule), the 1x1 conv's channels (pw_w's M); t:
    the depthwise conv's result."""
    x, w = s.value(in_name(n, 0)), s.shape(in_name(n, 1))
    pw = s.shape(in_name(n, 3))
    blocked_in = x.shape is not None and w is not None and len(x.shape) == len(w) + 1
    plain = _conv_shape(s, n, _plain(x.shape) if blocked_in else None, w)
    size = x.shape[-1] if blocked_in and x.shape is not None else None
    if plain is None or pw is None or not isinstance(size, int):
        s.set(out_name(n), x.dtype, None)
        if out_name(n, 1):
            s.set(out_name(n, 1), x.dtype, None)
        return
    s.set(out_name(n), x.dtype, _blocked((plain[0], pw[0], *plain[2:]), size))
    if out_name(n, 1):
        s.set(out_name(n, 1), x.dtype, _blocked(plain, size))
