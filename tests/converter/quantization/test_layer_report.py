"""The per-layer report: table, Markdown, JSON (infinite SQNR as null) and the PNG chart."""

import json
import math

import pytest
from gossamer.converter.quantization.layer_report import LayerStats, QuantReport
from gossamer.refimpl.errors import InputError


def _report():
    r = QuantReport("static", settings={"method": "kl", "per_channel": True})
    r.layers = [
        LayerStats("conv1", "Conv", 8, "y1", -1.0, 2.0, 0.25, 0.9999, 38.5),
        LayerStats("pool", "MaxPool", 8, "y2", 0.0, 2.0, 0.0, 1.0, math.inf),
        LayerStats("fc", "Gemm", 8, "logits", None, None, None, 0.998, 24.0),
    ]
    r.kept_float = {"conv9": "--skip"}
    r.outputs = {"logits": {"cosine": 0.998, "sqnr_db": 24.0}}
    r.sizes = {"float": 4000, "quantized": 1100}
    return r


def test_table_lists_every_layer_and_what_stayed_float():
    text = _report().format()
    for word in ("conv1", "MaxPool", "[-1, 2]", "0.250", "38.5", "inf", "kept float: conv9"):
        assert word in text
    assert "output logits: cosine 0.99800" in text


def test_top_shows_only_the_worst_layers():
    lines = _report().format(top=1).splitlines()
    rows = [line for line in lines if line.startswith(("conv1", "pool", "fc"))]
    assert len(rows) == 1 and rows[0].startswith("fc")


def test_markdown_and_json_files(tmp_path):
    r = _report()
    r.save(tmp_path / "r.md")
    md = (tmp_path / "r.md").read_text()
    assert "| conv1 | Conv | 8 | [-1, 2] | 0.250 | 0.99990 | 38.5 |" in md
    r.save(tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["layers"][1]["sqnr_db"] is None  # exact: infinite SQNR
    assert data["kept_float"] == {"conv9": "--skip"}


def test_unknown_report_suffix_is_refused(tmp_path):
    with pytest.raises(InputError, match="use a .md or .json"):
        _report().save(tmp_path / "r.txt")


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "layers.png"
    _report().plot(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
