"""The NPU delegate for Arm Ethos-U (`ethos-u`): partitions found and compiled by Arm's Vela,
executed on Gossamer's bit-exact int8 simulation. See docs/npu-delegate.md."""
