"""A compiled partition: weights on the device once, one launch plan per input-shape signature.

Integer partition inputs (shapes, axes, slice bounds computed outside the partition) are not
sent to the device: their values are constants of the plan and part of its key.
A plan is built the first time a signature runs (at compile time when the partition's input
shapes are static): shapes inferred, nodes lowered to launches (element-wise groups generated),
intermediates assigned to a pool of device buffers by liveness, kernel arguments set once. A run
is then: copy the inputs in, enqueue the launches, copy the outputs out. Nothing is allocated on
the device per run.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..plugins import check_allocation
from ..refimpl.ir import Graph, Node, Value
from ..refimpl.shape_inference import infer_shapes
from .builder import Builder, Ref
from .constant_nodes import fold
from .device import Device
from .fusion import elementwise_groups, emit_group, emit_softmax, softmax_prologues
from .host_layout import host_layout
from .kernels import common_source, library_source
from .kernels.reduce import softmax_geometry
from .kernels.registry import LOWER, is_elementwise, opset_of
from .memory_plan import plan_pool
from .program_cache import BUILD_OPTIONS, get_program, source_hash
from .tuning import LocalSize, default_local, rounded, table_for

SLACK = 64  # bytes past every buffer's end: gemm_f32 reads up to 15 floats beyond a row


@dataclass
class Plan:
    inputs: dict[str, Any]  # device buffer per float partition input
    launches: list[tuple[Any, tuple[int, ...], LocalSize, str]]  # kernel, global, local, key
    outputs: list[tuple[Any, tuple[int, ...]]]  # (buffer, shape) per partition output
    pool_bytes: int = 0
    seconds: float = 0.0
    kernels: dict[str, int] = field(default_factory=dict)
    pool: list[Any] = field(default_factory=list)  # kernels do not keep their buffers alive
    # what a run enqueues: kernel, global size rounded up to the local size, local size
    enqueue: list[tuple[Any, tuple[int, ...], LocalSize]] = field(default_factory=list)
    # zero-copy (a CPU device): the host memory of the input and output buffers, shaped
    in_views: dict[str, np.ndarray] = field(default_factory=dict)
    out_views: list[np.ndarray | None] = field(default_factory=list)
    hosts: list[np.ndarray] = field(default_factory=list)  # keeps the host memory alive
    fixed: list[np.ndarray | None] = field(default_factory=list)  # constant outputs (no buffer)
    # transposes done by the host copies instead of a launch (host_layout.py): a feed's perm on
    # the way in (its buffer holds the Transpose's output), an output's perm on the way out
    in_perm: dict[str, tuple[int, ...]] = field(default_factory=dict)
    out_perm: list[tuple[int, ...] | None] = field(default_factory=list)
    # for _run_zero_copy: (input index, host view, perm) per input; the output views, transposed
    copy_in: list[tuple[int, np.ndarray, tuple[int, ...] | None]] = field(default_factory=list)
    copy_out: list[np.ndarray] = field(default_factory=list)
    # for the tuner: the input signature (to rebuild the plan), the node of each launch, the
    # variant sites (site -> (node, options, chosen)) and the weights the plan uses
    signature: tuple = ()
    nodes: list[str] = field(default_factory=list)
    variants: dict[str, tuple[str, tuple[str, ...], str]] = field(default_factory=dict)
    weights: set[str] = field(default_factory=set)


class PartitionRuntime:
    def __init__(
        self, device: Device, graph: Graph, precision: str = "fp32", fp16_arith: str = "storage"
    ) -> None:
        self.device = device
        self.half = precision == "fp16"  # tensors stored as half (fp16 storage), float math
        # native: generated element-wise kernels compute in half (needs cl_khr_fp16)
        self.half_arith = self.half and fp16_arith == "native"
        self.options = BUILD_OPTIONS + (" -DGSM_FP16" if self.half else "")
        if self.half_arith:
            self.options += " -DGSM_HALF_ARITH"
        self.dtype = np.float16 if self.half else np.float32
        # constant subexpressions are computed here, once (constant_nodes.py)
        folded = fold(list(graph.nodes), dict(graph.initializers), dict(graph.opsets))
        done = {n.name for n in folded.nodes}
        self.nodes: list[Node] = [n for n in graph.nodes if n.name not in done]
        self.input_names = [v.name for v in graph.inputs]
        self.output_names = [v.name for v in graph.outputs]
        self.constants = {**graph.initializers, **folded.values}
        self.opsets = dict(graph.opsets)
        fusible = {n.name for n in self.nodes if is_elementwise(n)}
        self.groups = elementwise_groups(self.nodes, fusible, self.output_names)
        self._softmax = softmax_prologues(self.nodes, self.groups, self.output_names)
        inside_softmax = {id(g) for g in self._softmax.values()}
        self._root = {g[-1].name: g for g in self.groups if id(g) not in inside_softmax}
        self._member = {n.name for g in self.groups for n in g[:-1]} | {
            g[-1].name for g in self._softmax.values()
        }
        lib = library_source()
        self.library = get_program(device, lib, self.options)
        self.tuning = table_for(device.identity, source_hash(lib + self.options))
        self._weights: dict[str, Any] = {}
        self._plans: dict[tuple, Plan] = {}
        self._fast: dict[tuple, Plan] = {}  # input shapes -> plan, for _run_zero_copy
        self._trial: dict[str, str] = {}  # variant choices the tuner is trying
        self._lock = threading.Lock()
        static = all(
            v.dtype == "float32"
            and v.shape is not None
            and all(isinstance(d, int) for d in v.shape)
            for v in graph.inputs
        )
        if static:  # build the plan now: the first run does not pay for it
            self._plan({v.name: tuple(v.shape) for v in graph.inputs}, {})  # type: ignore[arg-type]

    # ---- running ---------------------------------------------------------------------------
    def __call__(self, *arrays: np.ndarray) -> Any:
        fast = self._fast
        if fast:  # float arrays in a shape already planned, on a zero-copy device
            plan = fast.get(
                tuple(
                    [
                        a.shape if type(a) is np.ndarray and a.dtype.kind == "f" else None
                        for a in arrays
                    ]
                )  # fmt: skip
            )
            if plan is not None:
                return self._run_zero_copy(plan, arrays)
        cl, queue = self.device.cl, self.device.queue
        feeds: dict[str, np.ndarray] = {}
        values: dict[str, np.ndarray] = {}
        for name, a in zip(self.input_names, arrays):
            a = np.asarray(a)
            if a.dtype.kind == "f":
                feeds[name] = np.require(a, self.dtype, "C")  # keeps 0-d arrays 0-d
            else:
                values[name] = a
        key = _key({n: a.shape for n, a in feeds.items()}, values)
        with self._lock:
            plan = self._plans.get(key) or self._plan(
                {n: a.shape for n, a in feeds.items()}, values
            )
            in_perm = plan.in_perm
            if plan.in_views:  # a CPU device: the buffers are this host memory
                for name, into in plan.in_views.items():
                    perm = in_perm.get(name) if in_perm else None
                    np.copyto(into, feeds[name] if perm is None else feeds[name].transpose(perm))
            else:
                for name, buf in plan.inputs.items():
                    feed = feeds[name]
                    perm = in_perm.get(name) if in_perm else None
                    if perm is not None:  # a temporary: copied before this returns
                        feed = np.ascontiguousarray(feed.transpose(perm))
                    if feed.size:
                        cl.enqueue_copy(queue, buf, feed, is_blocking=perm is not None)
            enqueue = cl.enqueue_nd_range_kernel
            for kernel, gsize, local in plan.enqueue:
                enqueue(queue, kernel, gsize, local)
            copies: list[np.ndarray | None] = []  # outputs copied by the device (not zero-copy)
            for (buf, shape), view in zip(plan.outputs, plan.out_views):
                if buf is None:  # a constant: copied from the host below
                    copies.append(None)
                    continue
                host = None if view is not None else np.empty(shape, self.dtype)
                if host is not None and host.size:
                    cl.enqueue_copy(queue, host, buf, is_blocking=False)
                copies.append(host)
            queue.finish()  # the one synchronisation of a run
            outs = [c if v is None else v.copy() for c, v in zip(copies, plan.out_views)]
            if plan.out_perm:  # transposed by the copy out (C order)
                outs = [
                    o if p is None or o is None else o.transpose(p).copy()
                    for o, p in zip(outs, plan.out_perm)
                ]
        if self.half:
            outs = [o if o is None else o.astype(np.float32) for o in outs]
        outs = [c.copy() if o is None else o for c, o in zip(plan.fixed, outs)]  # type: ignore[union-attr]
        return outs[0] if len(outs) == 1 else tuple(outs)

    def _run_zero_copy(self, plan: Plan, arrays: tuple[np.ndarray, ...]) -> Any:
        """A run with nothing but the copies in (numpy, casting to the storage type and applying
        a folded transpose), the launches, one finish and the copies out: what a tiny model
        pays per run on top of its kernels, so nothing else is done here."""
        with self._lock:
            for index, into, perm in plan.copy_in:
                a = arrays[index]
                np.copyto(into, a if perm is None else a.transpose(perm))
            queue = self.device.queue
            enqueue = self.device.cl.enqueue_nd_range_kernel
            for kernel, gsize, local in plan.enqueue:
                enqueue(queue, kernel, gsize, local)
            queue.finish()
            # fresh float32 arrays in C order (the views are the pool's memory)
            outs = [np.array(v, np.float32, order="C") for v in plan.copy_out]
        return outs[0] if len(outs) == 1 else tuple(outs)

    def _index_fast(self) -> None:
        """The plans `__call__` runs without its general path: every input a float tensor, every
        output in a zero-copy buffer; by the input shapes in input order."""
        fast: dict[tuple, Plan] = {}
        for plan in self._plans.values():
            shapes, values = plan.signature
            if values or not plan.in_views or any(v is None for v in plan.out_views):
                continue
            if set(shapes) != set(self.input_names):
                continue
            index = {n: i for i, n in enumerate(self.input_names)}
            plan.copy_in = [
                (index[n], view, plan.in_perm.get(n)) for n, view in plan.in_views.items()
            ]
            perms = plan.out_perm or [None] * len(plan.out_views)
            views = [v for v in plan.out_views if v is not None]  # all of them (checked above)
            plan.copy_out = [v if p is None else v.transpose(p) for v, p in zip(views, perms)]
            fast[tuple(tuple(shapes[n]) for n in self.input_names)] = plan
        self._fast = fast

    def plans(self) -> list[Plan]:
        return list(self._plans.values())

    @property
    def lock(self) -> threading.Lock:
        """Held while a run or a planning step uses the plans."""
        return self._lock

    # ---- planning --------------------------------------------------------------------------
    def _plan(self, in_shapes: dict[str, tuple[int, ...]], values: dict[str, np.ndarray]) -> Plan:
        plan = self._build(in_shapes, values)
        self._plans[_key(in_shapes, values)] = plan
        self._index_fast()
        return plan

    def _build(self, in_shapes: dict[str, tuple[int, ...]], values: dict[str, np.ndarray]) -> Plan:
        start = time.perf_counter()
        cl = self.device.cl
        constants = {**self.constants, **values}
        shapes = self._shapes(in_shapes, constants)
        used: set[str] = {"::absent"}

        def upload(key: str, array: np.ndarray, keep_float: bool = False) -> Any:
            used.add(key)
            return self._upload(key, array, keep_float)

        choices = {**self.tuning.choices, **self._trial}
        width = int(getattr(self.device.device, "native_vector_width_float", 8) or 8)
        bld = Builder(
            shapes,
            constants,
            upload,
            half=self.half,
            half_arith=self.half_arith,
            choices=choices,
            vector_width=width,
        )
        fused = self._member | set(self._root) | set(self._softmax)
        layout = host_layout(
            self.nodes, self.output_names, in_shapes, shapes, constants, self.opsets, fused
        )
        for node in self.nodes:
            bld.node = node.name
            if node.name in self._member or node.name in layout.skip:
                continue
            if node.name in layout.views:  # a Transpose folded into the weights it feeds
                bld.view(node.outputs[0], node.inputs[0])
                continue
            node = layout.nodes.get(node.name, node)
            opset = layout.opset.get(node.name) or opset_of(self.opsets, node.domain)
            if node.name in self._root:
                emit_group(bld, self._root[node.name], opset)
            elif node.name in self._softmax:
                geometry = softmax_geometry(bld.shape(node.inputs[0]), node, opset)
                emit_softmax(bld, self._softmax[node.name], node, geometry, opset)
            else:
                LOWER[node.op_type](bld, node, opset)
        gen = None
        if bld.sources:
            source = common_source() + "\n" + "\n".join(bld.sources)
            gen = get_program(self.device, source, self.options)
        hosts: dict[int, np.ndarray] = {}  # id(buffer) -> its host memory (zero-copy only)
        dev_name = {n: layout.inputs.get(n, (n, ()))[0] for n in in_shapes}  # buffer's value
        inputs = {
            dev_name[n]: self._buffer(_nbytes(s, self.dtype), hosts) for n, s in in_shapes.items()
        }
        end = len(bld.launches)
        lifetimes: dict[str, list[int]] = {}
        for i, launch in enumerate(bld.launches):
            for arg in launch.args:
                if isinstance(arg, Ref) and arg.storage not in inputs:
                    lifetimes.setdefault(arg.storage, [i, i])[1] = i
        out_source = [layout.outputs.get(o, (o, ()))[0] for o in self.output_names]
        out_storage = [bld.storage(o) for o in out_source]
        for s in out_storage:
            if s in bld.sizes:
                lifetimes.setdefault(s, [end, end])[1] = end
        item = np.dtype(self.dtype).itemsize
        pool = plan_pool({s: (a, b, bld.sizes[s] * item) for s, (a, b) in lifetimes.items()})
        for size in pool.sizes:  # the kernels index with 32-bit ints
            if size // item >= 2**31:
                raise ValueError(f"a tensor of {size // item} elements (opencl indexes below 2^31)")
        check_allocation(pool.nbytes, f"the opencl buffer pool of {len(pool.sizes)} buffers")
        buffers = [self._buffer(n, hosts) for n in pool.sizes]

        dummy = self._upload("::absent", np.zeros(1, np.float32))

        def resolve(arg: Any) -> Any:
            if arg is None:  # an absent operand (PoCL 3.1 asserts on NULL buffer arguments)
                return dummy
            if not isinstance(arg, Ref):
                return arg
            if arg.storage in inputs:
                return inputs[arg.storage]
            return buffers[pool.slot_of[arg.storage]]

        launches: list[tuple[Any, tuple[int, ...], LocalSize, str]] = []
        counts: dict[str, int] = {}
        for launch in bld.launches:
            program = self.library if launch.program == "lib" else gen
            kernel = _kernel(cl, program, launch.kernel)
            for i, arg in enumerate(launch.args):  # clSetKernelArg each: no invoker call
                kernel.set_arg(i, resolve(arg))
            local = (
                launch.local
                or self.tuning.local_size(launch.tune_key)
                or default_local(launch.kernel, launch.gsize)
            )
            launches.append((kernel, launch.gsize, local, launch.tune_key))
            kind = launch.kernel if launch.program == "lib" else "fused element-wise"
            kind = launch.family or kind
            counts[kind] = counts.get(kind, 0) + 1
        outputs = []
        for name, storage in zip(out_source, out_storage):
            if storage in inputs:
                buf = inputs[storage]
            elif storage in constants:
                buf = None  # returned from the host (it may be an integer tensor)
            else:
                buf = buffers[pool.slot_of[storage]]
            outputs.append((buf, shapes[name]))
        by_feed = {n: inputs[dev_name[n]] for n in in_shapes}
        plan = Plan(by_feed, launches, outputs, pool.nbytes, 0.0, counts, buffers)
        plan.in_perm = {n: p for n, (_, p) in layout.inputs.items()}
        if layout.outputs:
            plan.out_perm = [layout.outputs.get(o, ("", None))[1] for o in self.output_names]
        plan.signature = (in_shapes, values)
        plan.fixed = [
            constants[s] if b is None else None for s, (b, _) in zip(out_storage, outputs)
        ]
        plan.nodes = [launch.node for launch in bld.launches]
        plan.variants = dict(bld.variants)
        plan.weights = used
        plan.enqueue = [(k, rounded(g, lz), lz) for k, g, lz, _ in launches]
        if hosts:
            plan.hosts = list(hosts.values())
            plan.in_views = {
                n: _view(hosts[id(inputs[dev_name[n]])], shapes[dev_name[n]], self.dtype)
                for n in in_shapes
            }
            plan.out_views = [
                _view(hosts[id(b)], shape, self.dtype) if id(b) in hosts else None
                for b, shape in outputs
            ]
        else:
            plan.out_views = [None] * len(outputs)
        plan.seconds = time.perf_counter() - start
        return plan

    def _shapes(
        self, in_shapes: dict[str, tuple[int, ...]], constants: dict[str, np.ndarray]
    ) -> dict[str, tuple[int, ...]]:
        graph = Graph(
            nodes=self.nodes,
            inputs=[Value(n, "float32", s) for n, s in in_shapes.items()],
            outputs=[Value(o) for o in self.output_names],
            initializers=constants,
            opsets=self.opsets,
        )
        found = {n: tuple(v.shape) for n, v in infer_shapes(graph).items() if v.shape is not None}
        found.update({n: tuple(a.shape) for n, a in constants.items()})
        found.update(in_shapes)
        return found  # type: ignore[return-value]

    def _buffer(self, nbytes: int, hosts: dict[int, np.ndarray]) -> Any:
        """A pool or input buffer of `nbytes` (+ slack); on a CPU device backed by host memory
        (recorded in `hosts`), so a run copies feeds in and results out with numpy, no commands."""
        cl, ctx = self.device.cl, self.device.context
        if not self.device.zero_copy:
            return cl.Buffer(ctx, cl.mem_flags.READ_WRITE, nbytes + SLACK)
        host = _aligned(nbytes + SLACK)
        buf = cl.Buffer(ctx, cl.mem_flags.READ_WRITE | cl.mem_flags.USE_HOST_PTR, hostbuf=host)
        hosts[id(buf)] = host
        return buf

    def _upload(self, key: str, array: np.ndarray, keep_float: bool = False) -> Any:
        found = self._weights.get(key)
        if found is None:
            cl, ctx = self.device.cl, self.device.context
            if self.half and array.dtype == np.float32 and not keep_float:  # half weights too
                array = array.astype(np.float16)
            # aligned, so PoCL runs on this memory instead of copying it into its own
            host = _aligned(array.nbytes + SLACK).view(array.dtype)
            host[: array.size] = array.reshape(-1)
            mf = cl.mem_flags
            if self.device.host_unified_memory:  # the device reads host memory in place
                found = cl.Buffer(ctx, mf.READ_ONLY | mf.USE_HOST_PTR, hostbuf=host)
                self._weights[key + "::host"] = host  # keep the memory alive
            else:
                found = cl.Buffer(ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=host)
            self._weights[key] = found
        return found

    # ---- tuning ----------------------------------------------------------------------------
    def tune(self, budget: float) -> dict[str, tuple[Any, Any]]:
        """Searches the variant of every variant site (a convolution's algorithm), then the local
        size of every launch, of every plan, within `budget` seconds in all; returns site or
        launch key -> (before, after) and stores the table (partition_tuning.py)."""
        from .partition_tuning import tune

        return tune(self, budget)

    def rebuild(self) -> None:
        """Rebuilds every plan (after the tuned choices changed); weights no plan uses any more
        are released."""
        with self._lock:
            self._plans = {k: self._build(*p.signature) for k, p in self._plans.items()}
            self._index_fast()
            keep = set().union(*(p.weights for p in self._plans.values()))
            keep |= {f"{k}::host" for k in keep}
            self._weights = {k: b for k, b in self._weights.items() if k in keep}

    def trial(self, plan: Plan, choices: dict[str, str]) -> Plan:
        """`plan` built again with these variant choices (not kept)."""
        self._trial = choices
        try:
            return self._build(*plan.signature)
        finally:
            self._trial = {}


def _key(shapes: dict[str, tuple[int, ...]], values: dict[str, np.ndarray]) -> tuple:
    return tuple(sorted(shapes.items())) + tuple(
        (n, a.dtype.str, a.shape, a.tobytes()) for n, a in sorted(values.items())
    )


def _nbytes(shape: tuple[int, ...], dtype: Any) -> int:
    return int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize


def _aligned(nbytes: int, align: int = 128) -> np.ndarray:
    """Zeroed host memory aligned for the device (PoCL uses aligned USE_HOST_PTR memory as is)."""
    raw = np.zeros(nbytes + align, np.uint8)
    start = -raw.ctypes.data % align
    return raw[start : start + nbytes]


def _view(host: np.ndarray, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    count = int(np.prod(shape, dtype=np.int64))
    return host[: count * np.dtype(dtype).itemsize].view(dtype).reshape(shape)


def _kernel(cl: Any, program: Any, name: str) -> Any:
    """A kernel object without pyopencl's invoker set-up (an on-disk cache look-up, ~0.3 ms per
    object): arguments are set once with set_arg and runs enqueue it directly."""
    raw = getattr(program, "_get_prg", None)
    return cl._cl.Kernel(raw(), name) if raw else cl.Kernel(program, name)
