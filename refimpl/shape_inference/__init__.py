"""Static shape and dtype inference over the IR.

`infer_shapes(graph)` walks the nodes in topological order from the graph inputs (whose declared
shapes are the feeding contract) and the initializers; declared output and value_info shapes are not
trusted. A dim is an int, a symbol ("N", or a derived expression such as "N*2" or "(H-3)//2+1") or
None (unknown); a shape of None means the rank is unknown. Small integer tensors that hold shapes
(Shape outputs, constant vectors and what Gather/Slice/Concat/arithmetic make of them) are tracked
element by element, symbols included, so that Reshape(x, Concat(Shape(x)[0:1], [-1])) infers.
Nothing here raises on a model it does not understand: an unknown rule yields an unknown Value.

Modules: `core` (the driver, the rule table and the memos), `content_key` (a graph's content as
inference reads it: the key of `shapes_by_content`'s memo), `scope` (what is known per name),
`symbolic` (dim arithmetic), `shape_values` (constant folding of shape tensors) and the `rules_*`
modules.
"""

from __future__ import annotations

from .core import infer_shapes, inference_cache, shapes_by_content

__all__ = ["inference_cache", "infer_shapes", "shapes_by_content"]
