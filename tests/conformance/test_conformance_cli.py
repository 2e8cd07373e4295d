"""`gossamer conformance`: matrix on stdout, reports, exit status."""

import json

import pytest

from gossamer.cli import main


def test_cli_prints_matrix_and_writes_json_report(tmp_path, capsys):
    out = tmp_path / "r.json"
    code = main(["conformance", "--backend", "reference", "--ops", "Relu,Softmax:opset11",
                 "--max-examples", "3", "--report", str(out)])  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0
    assert "Softmax:opset11" in text and "0 unexpected" in text
    doc = json.loads(out.read_text())
    assert doc["backend"] == "reference"
    assert {c["case_id"] for c in doc["cells"]} == {"Relu", "Softmax:opset11"}
    assert {c["status"] for c in doc["cells"]} == {"pass"}


def test_cli_markdown_report(tmp_path):
    out = tmp_path / "r.md"
    assert main(["conformance", "--backend", "reference", "--ops", "Add", "--max-examples", "2",
                 "--report", str(out)]) == 0  # fmt: skip
    assert "| Add |" in out.read_text()


def test_cli_unknown_backend_is_an_error_with_exit_2(capsys):
    assert main(["conformance", "--backend", "no_such_backend", "--ops", "Relu"]) == 2
    assert "no_such_backend" in capsys.readouterr().err


def test_cli_html_report_is_a_self_contained_colour_grid(tmp_path):
    html, js = tmp_path / "r.html", tmp_path / "r.json"
    assert main(["conformance", "--backend", "reference", "--ops", "Relu,Sigmoid", "--quick",
                 "--report", str(html), "--report", str(js)]) == 0  # fmt: skip
    page = html.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert "<script" not in page and "http" not in page  # inline CSS only, nothing fetched
    assert page.count('class="v s-pass"') == len(json.loads(js.read_text())["cells"])
    assert "background:#2e7d32" in page and ">Sigmoid</td>" in page


def test_cli_png_report_needs_matplotlib_and_says_so_before_running(tmp_path, capsys):
    png = tmp_path / "r.png"
    code = main(["conformance", "--backend", "reference", "--ops", "Relu", "--quick",
                 "--report", str(png)])  # fmt: skip
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert code == 2 and "needs matplotlib" in capsys.readouterr().err
        assert not png.exists()
    else:
        assert code == 0 and png.read_bytes()[:4] == b"\x89PNG"


def test_cli_presets_are_exclusive_and_seeded_runs_repeat(tmp_path):
    with pytest.raises(SystemExit):
        main(["conformance", "--backend", "reference", "--quick", "--thorough"])
    runs = []
    for k in range(2):
        out = tmp_path / f"{k}.json"
        assert main(["conformance", "--backend", "reference", "--ops", "Add", "--seed", "7",
                     "--report", str(out)]) == 0  # fmt: skip
        runs.append([(c["case_id"], c["dtype"], c["examples"]) for c in
                     json.loads(out.read_text())["cells"]])  # fmt: skip
    assert runs[0] == runs[1] and all(n > 3 for *_, n in runs[0])  # edges + drawn examples
