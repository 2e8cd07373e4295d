"""The `@kernel` contract, checked when a KernelBackend class is created."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from gossamer.plugins import KernelBackend, kernel
from gossamer.plugins.backend import BackendContractError
from gossamer.refimpl.ops.op_add import add_7
from gossamer.refimpl.ops.op_relu import relu_6


def test_kernel_with_other_signature_fails_at_class_creation_naming_both_signatures():
    def bad_relu(x, alpha=0.0):
        return np.maximum(x, alpha)

    with pytest.raises(BackendContractError) as info:

        class Bad(KernelBackend):  # noqa: F841 - creating the class is the test
            name = "bad"
            relu = kernel(relu_6)(bad_relu)

    message = str(info.value)
    assert str(inspect.signature(relu_6)) in message
    assert str(inspect.signature(bad_relu)) in message


def test_kernel_with_renamed_parameter_is_rejected():
    with pytest.raises(BackendContractError, match="add_7"):

        class Bad(KernelBackend):  # noqa: F841
            name = "bad"

            @kernel(add_7)
            def add(a, other):
                return a + other


def test_kernel_of_a_plain_function_is_a_type_error():
    def not_an_op(x):
        return x

    with pytest.raises(TypeError, match="reference_op"):
        kernel(not_an_op)


def test_unknown_dtype_name_is_rejected():
    with pytest.raises(BackendContractError, match="unknown dtype.*float33"):
        kernel(relu_6, dtypes=["float32", "float33"])


def test_matching_kernel_is_collected_and_counted():
    class Good(KernelBackend):
        name = "good"

        @kernel(relu_6, dtypes=["float32"])
        def relu(x):
            return np.maximum(x, np.float32(0))

    assert list(Good.kernels) == [relu_6]
    assert Good().op_count() == 1


def test_subclass_inherits_and_replaces_kernels_without_touching_the_base():
    class Base(KernelBackend):
        name = "base"

        @kernel(relu_6)
        def relu(x):
            return np.maximum(x, 0)

        @kernel(add_7)
        def add(a, b):
            return a + b

    class Child(Base):
        name = "child"

        @kernel(relu_6, dtypes=["float32"])
        def relu_fast(x):
            return np.maximum(x, np.float32(0))

    assert set(Child.kernels) == {relu_6, add_7}
    assert Child.kernels[relu_6].dtypes == frozenset({"float32"})
    assert Base.kernels[relu_6].dtypes is None
