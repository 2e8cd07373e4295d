"""The .gsm model format (placeholder: a helper is writing the real one)."""

from __future__ import annotations

MAGIC = b"GOSSAMER"


def load_gsm(source):  # noqa: ANN001
    raise NotImplementedError
