"""The .gsm byte layout: the fixed header, its version and flag checks, the sections, the CRC."""

from __future__ import annotations

import struct
import zlib

import numpy as np

from ..errors import ModelFormatError

MAGIC = b"GOSSAMER"
FORMAT_MAJOR = 1  # a reader refuses any other major version
# a newer minor only adds things an older reader may ignore (1: model_info; 2: quant, packed codes;
# 3: pre-packed forms of weights, see prepacked.py; 4: stored layouts, see layouts.py)
FORMAT_MINOR = 4
# magic, major, minor, flags, graph offset, graph length, data offset, data length, graph CRC32,
# then 12 reserved bytes (written as zero, ignored on read).
HEADER = struct.Struct("<8sHHIQQQQI12x")
ALIGNMENT = 64
REQUIRED_FLAGS = 0x0000FFFF  # low flag bits name features a reader must know
# bit 0: the top-level graph has "state" (values kept between runs); a reader that ignored it
# would run a stateful model as a stateless one, so it must refuse the file instead
FLAG_STATE = 0x0001
# bit 1: some tensors are bit-packed N-bit codes (quantised weights, see packing.py); a reader that
# did not know would misread their bytes
FLAG_PACKED = 0x0002
KNOWN_FLAGS = FLAG_STATE | FLAG_PACKED


def align(n: int) -> int:
    """n rounded up to a multiple of ALIGNMENT."""
    return -(-n // ALIGNMENT) * ALIGNMENT


def head(
    text: bytes,
    data_size: int,
    major: int = FORMAT_MAJOR,
    minor: int = FORMAT_MINOR,
    flags: int = 0,
) -> bytes:
    """Header, graph section and the padding up to the 64-byte-aligned data section."""
    data_offset = align(HEADER.size + len(text))
    header = HEADER.pack(
        MAGIC, major, minor, flags, HEADER.size, len(text), data_offset, data_size, zlib.crc32(text)
    )
    return header + text + b"\0" * (data_offset - HEADER.size - len(text))


def sections(buf: np.ndarray, where: str) -> tuple[memoryview, np.ndarray]:
    """The checked graph section (bytes) and data section (a view of `buf`) of a file's bytes.

    Raises ModelFormatError for a wrong magic, a truncated file, another major version, unknown
    required flags, sections out of range, misaligned or overlapping, or a checksum mismatch.
    """
    size = buf.size
    start = bytes(buf[: HEADER.size])
    if start[: len(MAGIC)] != MAGIC:
        if size < len(MAGIC) and MAGIC.startswith(start):
            raise ModelFormatError(
                f"{where} is truncated: {size} bytes, the header needs {HEADER.size}"
            )
        raise ModelFormatError(
            f"{where} is not a .gsm file: it starts with {start[: len(MAGIC)]!r}, not {MAGIC!r}"
        )
    if size < HEADER.size:
        raise ModelFormatError(
            f"{where} is truncated: {size} bytes, the header needs {HEADER.size}"
        )
    _, major, minor, flags, g_off, g_len, d_off, d_len, crc = HEADER.unpack(start)
    if major != FORMAT_MAJOR:
        raise ModelFormatError(
            f"{where} is .gsm format version {major}.{minor}; this Gossamer reads version "
            f"{FORMAT_MAJOR}.x only (re-export the model with a matching Gossamer)"
        )
    unknown = flags & REQUIRED_FLAGS & ~KNOWN_FLAGS
    if unknown:
        raise ModelFormatError(
            f"{where} needs format features this reader lacks (flag bits {unknown:#06x}); "
            "upgrade Gossamer"
        )
    _check_section(where, "graph", g_off, g_len, size)
    _check_section(where, "data", d_off, d_len, size)
    if d_off % ALIGNMENT:
        raise ModelFormatError(
            f"{where}: data section offset {d_off} is not {ALIGNMENT}-byte aligned"
        )
    if g_off < d_off + d_len and d_off < g_off + g_len:
        raise ModelFormatError(
            f"{where}: graph section [{g_off}, {g_off + g_len}) overlaps data section "
            f"[{d_off}, {d_off + d_len})"
        )
    section = buf[g_off : g_off + g_len].data
    actual = zlib.crc32(section)
    if actual != crc:
        raise ModelFormatError(
            f"{where}: graph section checksum mismatch (header says {crc:#010x}, content has "
            f"{actual:#010x}); the file is corrupt"
        )
    return section, buf[d_off : d_off + d_len]


def _check_section(where: str, name: str, offset: int, length: int, size: int) -> None:
    if offset < HEADER.size:
        raise ModelFormatError(
            f"{where}: {name} section offset {offset} lies inside the {HEADER.size}-byte header"
        )
    if offset > size:
        raise ModelFormatError(
            f"{where}: {name} section offset {offset} is outside the file ({size} bytes)"
        )
    if offset + length > size:
        raise ModelFormatError(
            f"{where} is truncated: the {name} section needs bytes [{offset}, {offset + length}) "
            f"but the file has {size} bytes"
        )
