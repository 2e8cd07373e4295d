"""The model fuzzer behind tools/fuzz_models.py.

seeds: valid starting models; onnx_mutators / gsm_mutators (+ common): structure-aware mutations;
feeds: inputs matching a session; case: build, load, run and classify one case; runner: the
forked, memory-capped, timed sandbox; report: tallies, findings, JSON and repros.
"""
