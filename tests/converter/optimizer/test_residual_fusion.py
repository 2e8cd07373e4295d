"""O2 residual fusion: Add(Conv(x), z) -> gossamer::FusedConv(x, W, b, "", z), then + activation."""

import numpy as np
import pytest
from gossamer.converter.optimizer import optimize

from ._helpers import graph_of, node, ops, optimized_matches

F32 = np.float32
RNG = np.random.default_rng(7)
W = {"w": RNG.standard_normal((4, 3, 3, 3)).astype(F32), "b": RNG.standard_normal(4).astype(F32)}


def _block(act=None, z_shape=(1, 4, 5, 5), extra_out=False):
    """y = [act](Conv(x) + Relu(z)) (z's producer makes it a computed tensor, as a shortcut is)."""
    nodes = [
        node("Relu", ["z"], ["zr"]),
        node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        node("Add", ["c", "zr"], ["s" if act else "y"]),
    ]
    if act:
        nodes.append(node(act, ["s"], ["y"]))
    outs = [("y", [1, 4, 5, 5])] + ([("c", [1, 4, 5, 5])] if extra_out else [])
    return graph_of(nodes, [("x", [1, 3, 5, 5]), ("z", list(z_shape))], outs, W)


def test_conv_plus_shortcut_becomes_fused_conv_with_the_shortcut_as_input_4():
    out = optimized_matches(_block(), ["residual_fusion"], rtol=0)  # bit for bit
    assert ops(out) == {"Relu": 1, "gossamer::FusedConv": 1}
    fused = next(n for n in out.nodes if n.op_type == "FusedConv")
    assert fused.inputs[3] == "" and fused.inputs[4] == "zr"


@pytest.mark.parametrize("act", ["Relu", "PRelu"])
def test_the_following_activation_fuses_after_the_shortcut(act):
    g = _block(act if act != "PRelu" else None)
    if act == "PRelu":  # y = PRelu(conv + z, slope)
        g = graph_of(
            [
                node("Relu", ["z"], ["zr"]),
                node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
                node("Add", ["c", "zr"], ["s"]),
                node("PRelu", ["s", "slope"], ["y"]),
            ],
            [("x", [1, 3, 5, 5]), ("z", [1, 4, 5, 5])],
            [("y", [1, 4, 5, 5])],
            W | {"slope": RNG.random((4, 1, 1)).astype(F32)},
        )
    out = optimized_matches(g, ["residual_fusion", "activation_fusion"], rtol=0)
    fused = next(n for n in out.nodes if n.op_type == "FusedConv")
    assert ops(out) == {"Relu": 1, "gossamer::FusedConv": 1}
    assert fused.attrs["activation"] == act and fused.inputs[4] == "zr"
    if act == "PRelu":
        assert fused.inputs[3] == "slope"


def test_a_broadcast_shortcut_is_not_fused():
    out, report = optimize(_block(z_shape=(1, 4, 1, 1)), passes=["residual_fusion"])
    assert report.changed("residual_fusion") == 0 and ops(out)["Add"] == 1


def test_a_conv_read_elsewhere_is_not_fused():
    out, report = optimize(_block(extra_out=True), passes=["residual_fusion"])
    assert report.changed("residual_fusion") == 0


def test_a_conv_with_an_activation_already_is_not_fused():
    g = graph_of(
        [
            node("Relu", ["z"], ["zr"]),
            node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
            node("Relu", ["c"], ["r"]),
            node("Add", ["r", "zr"], ["y"]),
        ],
        [("x", [1, 3, 5, 5]), ("z", [1, 4, 5, 5])],
        [("y", [1, 4, 5, 5])],
        W,
    )
    out = optimized_matches(g, ["activation_fusion", "residual_fusion"], rtol=0)
    assert ops(out)["Add"] == 1  # relu(conv) + z is not relu(conv + z)


def test_resnet_blocks_fuse_every_shortcut():
    from gossamer.converter.onnx_import import graph_from_onnx

    from gossamer.builtin_models import resnet18

    out, report = optimize(graph_from_onnx(resnet18()), 3)
    assert report.changed("residual_fusion") == 8
    assert "Add" not in ops(out) and "Relu" not in ops(out)


W2 = {
    "w1": RNG.standard_normal((4, 3, 3, 3)).astype(F32),
    "w2": RNG.standard_normal((4, 4, 3, 3)).astype(F32),
    "wd": RNG.standard_normal((4, 3, 1, 1)).astype(F32),
    "b": RNG.standard_normal(4).astype(F32),
}


def _downsample_block(shortcut_listed_first: bool):
    """ResNet's downsampling block: y = Relu(Conv2(Relu(Conv1(x))) + ConvD(x)), as exported:
    the shortcut ConvD after the main branch; the Add's inputs in either order."""
    x = "xr"  # the block's input, computed (the block before wrote it)
    main, short = "c2", "cd"
    return graph_of(
        [
            node("Relu", ["x"], [x]),
            node("Conv", [x, "w1", "b"], ["c1"], pads=[1, 1, 1, 1], strides=[2, 2]),
            node("Relu", ["c1"], ["r1"]),
            node("Conv", ["r1", "w2", "b"], [main], pads=[1, 1, 1, 1]),
            node("Conv", [x, "wd", "b"], [short], strides=[2, 2]),
            node("Add", [short, main] if shortcut_listed_first else [main, short], ["s"]),
            node("Relu", ["s"], ["y"]),
        ],
        [("x", [1, 3, 8, 8])],
        [("y", [1, 4, 4, 4])],
        W2,
    )


@pytest.mark.parametrize("shortcut_listed_first", [False, True])
def test_a_shortcut_conv_runs_first_and_the_main_branch_takes_the_add(shortcut_listed_first):
    g = _downsample_block(shortcut_listed_first)
    out = optimized_matches(g, ["residual_fusion", "activation_fusion"], rtol=0)  # same bits
    order = [n.outputs[0] for n in out.nodes]
    assert order.index("cd") < order.index("r1")  # the shortcut reads x before conv1 does
    fused = next(n for n in out.nodes if n.op_type == "FusedConv" and len(n.inputs) == 5)
    assert fused.inputs[0] == "r1" and fused.inputs[4] == "cd"  # conv2 + the shortcut
    assert fused.attrs["activation"] == "Relu"
