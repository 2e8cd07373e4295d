"""The device-buffer pool: storages whose lifetimes do not overlap share a buffer."""

from __future__ import annotations

from gossamer.opencl_plugin.memory_plan import plan_pool


def test_storages_that_live_one_after_another_share_a_buffer():
    plan = plan_pool({"a": (0, 1, 400), "b": (2, 3, 400), "c": (4, 5, 400)})
    assert len(plan.sizes) == 1
    assert plan.nbytes == 400


def test_storages_alive_at_the_same_launch_never_share():
    plan = plan_pool({"a": (0, 2, 100), "b": (2, 3, 100)})  # both used by launch 2
    assert plan.slot_of["a"] != plan.slot_of["b"]


def test_the_smallest_free_buffer_that_fits_is_reused():
    plan = plan_pool({"big": (0, 0, 1000), "small": (0, 0, 10), "next": (1, 1, 8)})
    assert plan.slot_of["next"] == plan.slot_of["small"]


def test_a_free_buffer_grows_rather_than_adding_one():
    plan = plan_pool({"a": (0, 0, 10), "b": (1, 1, 50)})
    assert plan.sizes == [50]


def test_a_chain_needs_two_buffers_whatever_its_length():
    lifetimes = {f"t{i}": (i, i + 1, 64) for i in range(20)}  # each read by the next launch
    assert len(plan_pool(lifetimes).sizes) == 2
