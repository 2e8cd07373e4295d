"""Pixel-block chains (cython_kernels/bf16_pix_chain.py): a bf16 session claims the connected
convs of a ResNet-like graph as one partition and runs them on bf16 pixel blocks (its stride-2
convs on float32, as alone); the result within bf16's error of the float32 reference and of the
session without chains; none where the pass is off or the tiles are not in use; the block convs'
fallback where the tiles go off at run time."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels._native import ext
from gossamer.refimpl.ir import Value

from .test_bf16_conv_direct import values

F32 = np.float32


def _resnet_like(c=32, hw=(12, 10), stem=False):
    """stem-less ResNet stages: block A (3x3 Relu, 3x3 + x, Relu), block B (3x3 stride 2 Relu,
    3x3 + the 1x1 stride-2 shortcut, Relu, 2c channels), block C as A at 2c; then a global
    average pool (outside the chain). stem: x is ResNet's stem (7x7 stride 2, 3 -> c, Relu) and
    MaxPool (3x3, stride 2, pads 1) of the input x_in, 3 x 4h x 4w."""
    from tests.converter.optimizer._helpers import graph_of, node

    rng = np.random.default_rng(1)
    d = 2 * c
    inits = {}

    def conv(name, x, cin, cout, k, stride=1, relu=True):
        inits[f"{name}_w"] = (values(rng, (cout, cin, k, k), 1) / np.sqrt(cin * k * k)).astype(F32)
        inits[f"{name}_b"] = (values(rng, (cout,), 1) * 0.1).astype(F32)
        p = k // 2
        out = [node("Conv", [x, f"{name}_w", f"{name}_b"], [f"{name}_c"], kernel_shape=[k, k],
                    pads=[p, p, p, p], strides=[stride, stride])]  # fmt: skip
        if relu:
            out.append(node("Relu", [f"{name}_c"], [f"{name}_r"]))
        return out, f"{name}_r" if relu else f"{name}_c"

    nodes = []
    a1, t = conv("a1", "x", c, c, 3)
    a2, u = conv("a2", t, c, c, 3, relu=False)
    nodes += a1 + a2 + [node("Add", [u, "x"], ["a_s"]), node("Relu", ["a_s"], ["a_y"])]
    b1, t = conv("b1", "a_y", c, d, 3, 2)
    b2, u = conv("b2", t, d, d, 3, relu=False)
    bd, v = conv("bd", "a_y", c, d, 1, 2, relu=False)
    nodes += b1 + b2 + bd + [node("Add", [u, v], ["b_s"]), node("Relu", ["b_s"], ["b_y"])]
    c1, t = conv("c1", "b_y", d, d, 3)
    c2, u = conv("c2", t, d, d, 3, relu=False)
    nodes += c1 + c2 + [node("Add", [u, "b_y"], ["c_s"]), node("Relu", ["c_s"], ["c_y"])]
    nodes.append(node("GlobalAveragePool", ["c_y"], ["y"]))
    if not stem:
        return graph_of(nodes, [("x", [1, c, *hw])], [("y", None)], inits)
    inits["stem_w"] = (values(rng, (c, 3, 7, 7), 1) / np.sqrt(147)).astype(F32)
    inits["stem_b"] = (values(rng, (c,), 1) * 0.1).astype(F32)
    nodes[:0] = [node("Conv", ["x_in", "stem_w", "stem_b"], ["stem_c"], kernel_shape=[7, 7],
                      pads=[3, 3, 3, 3], strides=[2, 2]),
                 node("Relu", ["stem_c"], ["stem_r"]),
                 node("MaxPool", ["stem_r"], ["x"], kernel_shape=[3, 3], strides=[2, 2],
                      pads=[1, 1, 1, 1])]  # fmt: skip
    return graph_of(nodes, [("x_in", [1, 3, 4 * hw[0], 4 * hw[1]])], [("y", None)], inits)


def _session(graph, monkeypatch, pix: bool = True):
    import gossamer

    monkeypatch.setenv("GOSSAMER_BF16_PIX", "1" if pix else "0")
    return gossamer.load(graph, precision="bf16")


def _chains(session) -> list:
    return [c for b, c in session.placement.partitions if b.name == "cython-bf16" and
            len(c.nodes) > 1]  # fmt: skip


def _close(got, want, tol) -> None:
    err = np.abs(got.astype(np.float64) - want) / (np.abs(want).max() + 1e-30)
    assert err.max() <= tol, float(err.max())


@pytest.mark.parametrize(("c", "hw"), [(32, (12, 10)), (40, (9, 15)), (64, (28, 28))])
def test_a_resnet_stage_runs_as_one_chain(amx: None, monkeypatch, c, hw) -> None:
    from tests.converter.optimizer._helpers import run

    graph = _resnet_like(c, hw)
    x = values(np.random.default_rng(2), (1, c, *hw), 1)
    chained, plain = _session(graph, monkeypatch), _session(graph, monkeypatch, pix=False)
    (chain,) = _chains(chained)
    convs = [n.name for n in chained.graph.nodes if "Conv" in n.op_type]
    assert len(convs) == (4 if c % 32 == 0 else 7)  # FusedConvPairs where the channels allow
    assert sorted(chain.nodes) == sorted(convs)  # all in one partition
    assert "pixel-block chain" in chain.note
    assert not _chains(plain)
    got = chained.run(None, {"x": x})[0]
    want = run(graph, {"x": x})[0].astype(np.float64)
    _close(got, want, 2e-2)  # bf16 activations through seven convs
    _close(got, plain.run(None, {"x": x})[0].astype(np.float64), 2e-2)
    np.testing.assert_array_equal(chained.run(None, {"x": x})[0], got)  # buffers reused


def test_no_chain_without_the_tiles(monkeypatch) -> None:
    before = ext().bf16_amx_enabled()
    ext().bf16_set_amx(False)
    try:
        session = _session(_resnet_like(), monkeypatch)
    finally:
        ext().bf16_set_amx(before)
    assert not _chains(session)


def test_the_chain_falls_back_when_the_tiles_go_off(amx: None, monkeypatch) -> None:
    """Tiles switched off after the load: every conv of the chain on float32 tensors through
    its own kernel (vdpbf16ps), the result as the session without chains gives with the same
    switch."""
    graph = _resnet_like()
    x = values(np.random.default_rng(3), (1, 32, 12, 10), 1)
    chained, plain = _session(graph, monkeypatch), _session(graph, monkeypatch, pix=False)
    assert _chains(chained)
    before = ext().bf16_amx_enabled()
    ext().bf16_set_amx(False)
    try:
        got, want = chained.run(None, {"x": x})[0], plain.run(None, {"x": x})[0]
    finally:
        ext().bf16_set_amx(before)
    np.testing.assert_array_equal(got, want)


def test_a_chain_needs_two_block_convs(amx: None, monkeypatch) -> None:
    """One stride-1 conv beside stride-2 ones: the convs stay one node each."""
    from tests.converter.optimizer._helpers import graph_of, node

    rng = np.random.default_rng(4)
    inits = {"w1": values(rng, (32, 32, 3, 3), 1) * F32(0.1),
             "w2": values(rng, (32, 32, 3, 3), 1) * F32(0.1)}  # fmt: skip
    nodes = [node("Conv", ["x", "w1"], ["a"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                  strides=[2, 2]),
             node("Conv", ["a", "w2"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])]  # fmt: skip
    graph = graph_of(nodes, [("x", [1, 32, 12, 12])], [("y", None)], inits)
    assert not _chains(_session(graph, monkeypatch))


@pytest.mark.parametrize(("c", "hw"), [(32, (12, 10)), (40, (9, 15))])
def test_a_stage_output_is_written_as_the_next_stages_phase_split(
    amx: None, monkeypatch, c, hw
) -> None:
    """Block A's output, read only by block B's stride-2 3x3 and 1x1, is written as their phase
    split by its producer: the same bits as the form written then split
    (GOSSAMER_BF16_PIX_SPLIT=0)."""
    graph = _resnet_like(c, hw)
    x = values(np.random.default_rng(6), (1, c, *hw), 1)
    split = _session(graph, monkeypatch)
    monkeypatch.setenv("GOSSAMER_BF16_PIX_SPLIT", "0")
    apart = _session(graph, monkeypatch)
    monkeypatch.delenv("GOSSAMER_BF16_PIX_SPLIT")
    native, splits = ext().bf16_pix_conv_call, []

    def counted(*args):  # the chain's convs, with the stride of the split each one writes
        splits.append(args[20] if len(args) > 20 else 1)
        return native(*args)

    monkeypatch.setattr(ext(), "bf16_pix_conv_call", counted)
    got = split.run(None, {"x": x})[0]
    assert sorted(splits) == [1] * (len(splits) - 1) + [2]  # block A's last conv
    splits.clear()
    np.testing.assert_array_equal(got, apart.run(None, {"x": x})[0])
    assert splits and set(splits) == {1}
    np.testing.assert_array_equal(split.run(None, {"x": x})[0], got)  # buffers reused


@pytest.mark.parametrize(("c", "hw"), [(32, (12, 10)), (40, (9, 15)), (64, (14, 14))])
def test_the_stem_and_maxpool_join_the_chain_on_its_blocks(amx: None, monkeypatch, c, hw) -> None:
    """A stem and the MaxPool after it join the chain the pool feeds and run on its blocks: the
    same bits as the two run before it (STEM_BLOCKS off, read at every run: the stem's own
    kernel, the float32 pool, the reorder in) in the same session, as the session where they
    stay out (GOSSAMER_BF16_PIX_STEM=0), and as the session without chains with the tiles off."""
    from gossamer.cython_kernels import bf16_pix_chain

    graph = _resnet_like(c, hw, stem=True)
    x = values(np.random.default_rng(5), (1, 3, 4 * hw[0], 4 * hw[1]), 1)
    joined = _session(graph, monkeypatch)
    monkeypatch.setenv("GOSSAMER_BF16_PIX_STEM", "0")
    apart = _session(graph, monkeypatch)
    monkeypatch.delenv("GOSSAMER_BF16_PIX_STEM")
    (chain,) = _chains(joined)
    ops = {n.name: n.op_type for n in joined.graph.nodes}
    assert sorted(ops[n] for n in chain.nodes if "Conv" not in ops[n]) == ["MaxPool"]
    assert sum("Conv" in ops[n] for n in chain.nodes) == sum("Conv" in o for o in ops.values())
    assert "stem and MaxPool" in chain.note
    (other,) = _chains(apart)
    assert not any(ops.get(n) == "MaxPool" for n in other.nodes)
    got = joined.run(None, {"x_in": x})[0]
    np.testing.assert_array_equal(got, apart.run(None, {"x_in": x})[0])
    monkeypatch.setattr(bf16_pix_chain, "STEM_BLOCKS", False)
    np.testing.assert_array_equal(joined.run(None, {"x_in": x})[0], got)
    monkeypatch.setattr(bf16_pix_chain, "STEM_BLOCKS", True)
    plain = _session(graph, monkeypatch, pix=False)
    before = ext().bf16_amx_enabled()
    ext().bf16_set_amx(False)
    try:
        off, want = joined.run(None, {"x_in": x})[0], plain.run(None, {"x_in": x})[0]
    finally:
        ext().bf16_set_amx(before)
    np.testing.assert_array_equal(off, want)


def test_a_stem_read_outside_the_pool_stays_out(amx: None, monkeypatch) -> None:
    """A stem whose output another node reads too (here: a graph output) does not join."""
    graph = _resnet_like(stem=True)
    graph.outputs.append(Value("stem_r", "float32", (1, 32, 24, 20)))
    (chain,) = _chains(_session(graph, monkeypatch))
    assert not any(n.startswith("MaxPool") for n in chain.nodes)


@pytest.mark.parametrize("stem", [False, True])
def test_a_chain_replays_its_plan_with_the_same_bits(amx: None, monkeypatch, stem) -> None:
    """A run whose every step ran on the blocks is replayed at the next run of the same shapes
    (its kernel calls on the new input): the same bits as planning every run (REPLAY off), new
    inputs read; where the tiles go off, the float32 fallbacks, and no plan of theirs kept."""
    from gossamer.cython_kernels import bf16_pix_chain

    c, hw = 32, (12, 10)
    graph = _resnet_like(c, hw, stem=stem)
    name, shape = ("x_in", (1, 3, 4 * hw[0], 4 * hw[1])) if stem else ("x", (1, c, *hw))
    rng = np.random.default_rng(9)
    xs = [values(rng, shape, 1) for _ in range(3)]
    session = _session(graph, monkeypatch)
    replays = []
    real = bf16_pix_chain.PixChain._replay

    def spy(self, plan, args):
        out = real(self, plan, args)
        replays.append(out is not None)
        return out

    monkeypatch.setattr(bf16_pix_chain.PixChain, "_replay", spy)
    got = [session.run(None, {name: x})[0].copy() for x in xs]
    assert replays == [True, True]  # the first run recorded the plan
    monkeypatch.setattr(bf16_pix_chain, "REPLAY", False)
    want = [session.run(None, {name: x})[0] for x in xs]
    assert len(replays) == 2
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    assert not np.array_equal(got[0], got[1])
    monkeypatch.setattr(bf16_pix_chain, "REPLAY", True)
    plain = _session(graph, monkeypatch, pix=False)
    before = ext().bf16_amx_enabled()
    ext().bf16_set_amx(False)
    try:
        off = [session.run(None, {name: xs[0]})[0] for _ in range(2)]
        np.testing.assert_array_equal(off[0], plain.run(None, {name: xs[0]})[0])
    finally:
        ext().bf16_set_amx(before)
    assert len(replays) == 2  # the fallbacks' runs: planned each time
    np.testing.assert_array_equal(off[1], off[0])
    np.testing.assert_array_equal(session.run(None, {name: xs[0]})[0], got[0])
    assert replays == [True] * 3
