"""CythonBf16Backend (`cython-bf16`): the convolutions and matrix products of a float32 model in
bfloat16 with float32 accumulation, as OpenVINO's bf16 inference precision does; what
`gossamer.load(model, precision="bf16")` puts in front of the float32 `cython` backend. Everything
it declines falls back as usual (the float32 kernels, then the reference).

It runs only where named (precision="bf16", backends=[...], --backends) and only where the CPU
has AVX512_BF16 (vdpbf16ps; AMX's tdpbf16ps where the CPU has AMX-BF16 and GOSSAMER_AMX is not
off), unless GOSSAMER_BF16=emulate selects the bit-exact emulation (a
testing aid, slower than float32, that lets the backend and its conformance run on any CPU; see
bf16_mode.py).
"""

from __future__ import annotations

import os

from ..plugins.backend import Claim, CompiledPartition, Decline
from ..refimpl.ir import Graph, Node, Value
from .bf16_conv import keep_nchw
from .bf16_kernels import Bf16Kernels
from .bf16_mode import bf16_mode, bf16_unavailable


class CythonBf16Backend(Bf16Kernels):
    """bfloat16 Conv / Gemm / MatMul with float32 accumulation (vdpbf16ps, or its emulation)."""

    name = "cython-bf16"
    priority = 110  # in front of the float32 cython backend (100) for the ops it claims
    default_selected = False  # float32 stays the default: precision="bf16" names it

    def is_available(self) -> str | None:
        return bf16_unavailable()

    def get_capability(self, graph: Graph) -> list[Claim | Decline]:
        """The kernels' one-node claims, with the connected convs of each pixel-block chain
        (bf16_pix_chain.py: ResNet's stages) claimed as one partition instead, where the AMX
        tiles are in use at load (GOSSAMER_BF16_PIX=0: none)."""
        claims = super().get_capability(graph)
        from . import bf16_pix_chain

        if (
            not bf16_pix_chain.enabled()
            or bf16_unavailable() is not None
            or not self.takes_handoffs()
        ):
            return claims
        from ..refimpl.shape_inference import infer_shapes

        single = {c.nodes[0] for c in claims if isinstance(c, Claim) and len(c.nodes) == 1}
        chains = bf16_pix_chain.find_chains(graph, single, infer_shapes(graph))
        if not chains:
            return claims
        chained = {name for chain in chains for name in chain}
        out: list[Claim | Decline] = [
            c for c in claims if not (isinstance(c, Claim) and c.nodes[0] in chained)
        ]
        ops = {n.name: n.op_type for n in graph.nodes}
        for chain in chains:
            pooled = any(ops.get(name) == "MaxPool" for name in chain)
            more = ", its stem and MaxPool on the blocks" if pooled else ""
            out.append(Claim(tuple(chain), f"bf16 pixel-block chain of {len(chain)} nodes{more}"))
        return out

    def compile(self, graph: Graph, claim: Claim) -> CompiledPartition:
        """A pixel-block chain (more than one node: bf16_pix_chain.py), else the one node's
        kernel."""
        if len(claim.nodes) == 1:
            return super().compile(graph, claim)
        from .bf16_pix_chain import compile_chain

        return compile_chain(graph)

    def keep_nchw(self, node: Node, values: dict[str, Value]) -> bool:
        """Whether the blocked-layout pass leaves the conv `node` NCHW for this backend
        (gossamer/layout_planning.py; bf16_conv.keep_nchw says which)."""
        return keep_nchw(node, values)

    def layout_planning_state(self) -> tuple[str, list[str]]:
        """What this backend's part of the layout planning reads besides the graph, for the
        stored-layout key (gossamer/stored_layouts.py): whether the AMX tiles are in use now
        (keep_nchw's blocked AMX 1x1s, takes_handoffs), and the source files of its rules, in one
        folder (the key holds their checksum): a layout stored on a machine with the tiles, or by
        other rules, is planned again."""
        here = os.path.dirname(os.path.abspath(__file__))
        rules = ("bf16_conv.py", "bf16_conv_pair.py", "bf16_nchwc_conv.py")
        return f"tiles={int(self.takes_handoffs())}", [os.path.join(here, n) for n in rules]

    def takes_handoffs(self) -> bool:
        """Whether this backend runs gossamer::FusedConvPair with its bf16 hand-off (the direct
        convs: the AMX tiles in use now), so gossamer.layout_planning plans the pairs
        (converter/optimizer/bf16_handoff.py)."""
        if bf16_unavailable() is not None:
            return False
        from .bf16_conv import _amx_now

        return _amx_now()

    def takes_pair(self, node: Node, values: dict[str, Value]) -> bool:
        """Whether this backend claims the gossamer::FusedConvPair `node` (its inputs' types and
        shapes in `values`): the hand-off pass pairs only what it will run."""
        from .bf16_conv_pair import pair_refusal

        return pair_refusal(node, [values.get(n) if n else None for n in node.inputs]) is None

    def describe(self) -> str:
        reason = bf16_unavailable()
        if reason:
            return f"cython-bf16 (unavailable: {reason})"
        if bf16_mode() == "emulate":
            step = "emulated vdpbf16ps"
        else:
            from ._native import ext

            step = "AMX tdpbf16ps" if ext().bf16_amx_enabled() else "vdpbf16ps"
        return f"cython-bf16 ({step})"
