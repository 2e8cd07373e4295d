"""Fixtures for the Cython backend tests: both SIMD paths, 1 and 2 threads."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

native = pytest.importorskip("gossamer.cython_kernels._native")
if native.IMPORT_ERROR:  # pragma: no cover - only where the extension could not be built
    pytest.skip(native.IMPORT_ERROR, allow_module_level=True)


@pytest.fixture(scope="module", params=["avx2+fma", "generic"])
def simd(request: pytest.FixtureRequest) -> Iterator[str]:
    """Runs the test on the AVX2/FMA kernels (if this CPU has them) and on the generic ones."""
    from gossamer.cython_kernels import set_simd_level

    if request.param == "avx2+fma" and not native.ext().cpu_has_avx2_fma():
        pytest.skip("this CPU has no AVX2/FMA")
    before = native.simd_level()
    yield set_simd_level(request.param)
    set_simd_level(before)


@pytest.fixture(scope="module", params=[1, 2], ids=["1thread", "2threads"])
def threads(request: pytest.FixtureRequest) -> int:
    return request.param


@pytest.fixture(scope="module", params=["avx512f", "avx2+fma", "generic"])
def level(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every SIMD path this CPU has (avx512f included, unlike `simd`)."""
    from gossamer.cython_kernels import set_simd_level

    if request.param == "avx512f" and not native.ext().cpu_has_avx512f():
        pytest.skip("this CPU has no AVX-512F")
    if request.param == "avx2+fma" and not native.ext().cpu_has_avx2_fma():
        pytest.skip("this CPU has no AVX2/FMA")
    before = native.simd_level()
    assert set_simd_level(request.param) == request.param
    yield request.param
    set_simd_level(before)


@pytest.fixture(scope="module", params=[1, 2], ids=["1thread", "2threads"])
def nthreads(request: pytest.FixtureRequest) -> int:
    return request.param


@pytest.fixture
def amx() -> Iterator[None]:
    """The native bf16 implementation on AMX tiles (tdpbf16ps), where this CPU and Linux allow it;
    the previous implementation and AMX setting are put back after the test."""
    ext = native.ext()
    if not ext.bf16_cpu_native():
        pytest.skip("this CPU has no AVX512_BF16 (so no AMX-BF16 path): cannot run here")
    before, amx_before = ext.bf16_impl(), ext.bf16_amx_enabled()
    ext.bf16_set_impl("native")
    try:
        if not ext.bf16_set_amx(True):
            pytest.skip(
                "no AMX-BF16 here (CPU without AMX tiles, Linux refused the tile state, "
                "or GOSSAMER_AMX=off)"
            )
        yield
    finally:
        ext.bf16_set_amx(amx_before)
        ext.bf16_set_impl(before)
