"""`gossamer conformance`: matrix on stdout, reports, exit status."""

import json

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


def test_cli_unknown_backend_is_an_error(capsys):
    assert main(["conformance", "--backend", "no_such_backend", "--ops", "Relu"]) == 1
    assert "no_such_backend" in capsys.readouterr().err
