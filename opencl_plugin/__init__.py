"""OpenCL backend: a subgraph delegate that runs connected float32 regions on an OpenCL device.

Files by concern: `device` (which device, why none), `program_cache` (program binaries on disk),
`support` (which nodes it claims, why it declines the others), `fusion` (element-wise chains and
GEMM epilogues fused into generated kernels), `memory_plan` (a pool of device buffers reused by
liveness), `partition_runtime` (a compiled partition: weights uploaded once, one launch list per
input-shape signature), `tuning` (local work sizes, searched and persisted), `kernels/` (the
kernel families and their `.cl` sources). Registered by the entry point `opencl` (`plugin`).
"""
