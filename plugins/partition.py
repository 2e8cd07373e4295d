"""Cutting a granted claim out of a graph, and replacing it by one fused node.

`extract_partition(graph, nodes)` makes the standalone Graph a subgraph backend compiles: the
claimed nodes, their boundary inputs as graph inputs (constants among them as initializers), and as
outputs every value read outside the partition or returned by the graph.
`fuse(graph, partitions)` returns the execution graph where each partition is one node of op
`gossamer.partition::Partition`, whose inputs/outputs are the partition boundary.
"""

from __future__ import annotations

from ..refimpl.ir import PARTITION_DOMAIN, Graph, Node, Value


def extract_partition(graph: Graph, node_names: tuple[str, ...], name: str) -> Graph:
    part = set(node_names)
    nodes = [n for n in graph.nodes if n.name in part]
    produced = {o for n in nodes for o in n.outputs if o}
    reads: list[str] = []
    for n in nodes:
        names = [i for i in n.inputs if i] + sorted(
            name for body in n.subgraphs() for name in body.free_names()
        )
        for i in names:
            if i not in produced and i not in reads:
                reads.append(i)
    used_outside = {v.name for v in graph.outputs}
    for n in graph.nodes:
        if n.name in part:
            continue
        used_outside.update(i for i in n.inputs if i)
        for body in n.subgraphs():
            used_outside |= body.free_names()
    outputs = [o for n in nodes for o in n.outputs if o and o in used_outside]
    known = {v.name: v for v in graph.inputs} | graph.value_info
    touched = set(reads) | produced  # the quantisation and types of these travel with the part
    fixed = graph.constant_initializers()  # one a feed may replace is an input here
    constants = {i for i in reads if i in fixed}
    return Graph(
        nodes=nodes,
        inputs=[known.get(i, Value(i)) for i in reads if i not in constants],
        outputs=[known.get(o, Value(o)) for o in outputs],
        initializers={i: graph.initializers[i] for i in constants},
        name=name,
        opsets=dict(graph.opsets),
        value_info={n: v for n, v in graph.value_info.items() if n in touched},
        quant={n: q for n, q in graph.quant.items() if n in touched},
    )


def fused_node(partition: Graph) -> Node:
    """The single node that stands for a partition in the execution graph."""
    return Node(
        op_type="Partition",
        inputs=[v.name for v in partition.inputs],  # constants were handed over at compile time
        outputs=[v.name for v in partition.outputs],
        name=partition.name,
        domain=PARTITION_DOMAIN,
    )


def fuse(graph: Graph, partitions: list[Graph]) -> Graph:
    """`graph` with every partition's nodes replaced by its fused node."""
    replaced = {n.name for p in partitions for n in p.nodes}
    nodes = [n for n in graph.nodes if n.name not in replaced] + [fused_node(p) for p in partitions]
    return Graph(
        nodes=nodes,
        inputs=graph.inputs,
        outputs=graph.outputs,
        initializers=graph.initializers,
        name=graph.name,
        opsets=graph.opsets,
        value_info=graph.value_info,
        metadata=graph.metadata,
        model_info=graph.model_info,
        quant=graph.quant,
        state=graph.state,
    )
