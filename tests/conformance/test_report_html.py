"""The HTML report's summary grids: ops x versions (and ops x backends for several backends), one
coloured cell per (row, column) that has results, the worst verdict winning."""

from __future__ import annotations

from html.parser import HTMLParser

from gossamer.conformance.report_html import COLOURS, grid_cells, html_report, op_version
from gossamer.conformance.runner import CellResult


class Tables(HTMLParser):
    """Every <table> of a page as {id: rows}, each row a list of (class, title, text) cells."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[tuple[str, str, str]]]] = {}
        self.current: list[list[tuple[str, str, str]]] | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.current = self.tables.setdefault(a.get("id") or f"t{len(self.tables)}", [])
        elif tag == "tr" and self.current is not None:
            self.current.append([])
        elif tag in ("td", "th") and self.current is not None:
            self.cell = [a.get("class") or tag, a.get("title") or "", ""]

    def handle_data(self, data):
        if self.cell is not None:
            self.cell[2] += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None and self.current is not None:
            self.current[-1].append(tuple(self.cell))
            self.cell = None
        elif tag == "table":
            self.current = None


def cell(case_id, op, dtype, status, backend="cpu", message=""):
    return CellResult(case_id, op, "", dtype, backend, status, examples=1, claimed=1,
                      message=message)  # fmt: skip


RESULTS = [
    cell("Softmax", "Softmax", "float32", "pass"),
    cell("Softmax", "Softmax", "float16", "fail", message="max abs 0.5"),
    cell("Softmax:opset11", "Softmax", "float32", "pass"),
    cell("Relu", "Relu", "float32", "xfail"),
    cell("Relu", "Relu", "int8", "not claimed"),
    cell("Add", "Add", "float32", "pass"),
    cell("graph:chain", "graph", "float32", "pass"),
]


def tables_of(page: str) -> dict[str, list[list[tuple[str, str, str]]]]:
    parser = Tables()
    parser.feed(page)
    return parser.tables


def test_op_version_names_the_version_a_case_tests():
    assert op_version("Softmax") == "v13"
    assert op_version("Softmax:opset11") == "v1"  # the reference's Softmax-1 covers opset 1..12
    assert op_version("graph:chain") == "graph"


def test_the_version_grid_has_one_cell_per_row_and_column():
    rows, cols, groups = grid_cells(RESULTS, "op", "version")
    assert rows == ["Add", "Relu", "Softmax", "graph"]
    assert cols == ["v1", "v6", "v7", "v13", "graph"]  # versions by number, graph last
    table = tables_of(html_report(RESULTS, "cpu", 1.0))["by-op-version"]
    header, body = table[0], table[1:]
    assert [c[2] for c in header] == ["op", *cols]
    assert [r[0][2] for r in body] == rows
    assert all(len(r) == len(cols) + 1 for r in body)
    filled = [c for r in body for c in r[1:] if c[0] != "empty"]
    assert len(filled) == len(groups) == 5


def test_a_cell_takes_its_worst_verdict_and_counts_the_passes():
    table = tables_of(html_report(RESULTS, "cpu", 1.0))["by-op-version"]
    cols = [c[2] for c in table[0][1:]]
    by_row = {r[0][2]: r[1:] for r in table[1:]}
    softmax_13 = by_row["Softmax"][cols.index("v13")]
    assert softmax_13[0] == "v g s-fail" and softmax_13[2] == "FAIL 1/2 ok"
    assert "Softmax [float16] on cpu: fail (max abs 0.5)" in softmax_13[1]
    relu = next(c for c in by_row["Relu"] if c[0] != "empty")
    assert relu[0] == "v g s-xfail" and relu[2] == "xfail"  # xfail outranks not claimed


def test_cells_are_coloured_by_status():
    page = html_report(RESULTS, "cpu", 1.0)
    assert f'class="v g s-fail" style="background:{COLOURS["fail"]}"' in page
    assert 'class="v g s-not-claimed"' not in page  # Relu's int8 result shares its float32 cell


def test_a_backend_grid_appears_only_for_several_backends():
    assert "by-op-backend" not in tables_of(html_report(RESULTS, "cpu", 1.0))
    both = RESULTS + [cell("Add", "Add", "float32", "fail", backend="gpu")]
    table = tables_of(html_report(both, "cpu, gpu", 1.0))["by-op-backend"]
    assert [c[2] for c in table[0]] == ["op", "cpu", "gpu"]
    add = next(r for r in table[1:] if r[0][2] == "Add")
    assert [c[0] for c in add[1:]] == ["v g s-pass", "v g s-fail"]
    assert all(len(r) == 3 for r in table[1:])


def test_the_case_by_dtype_matrix_is_still_there():
    table = tables_of(html_report(RESULTS, "cpu", 1.0))
    matrix = next(t for name, t in table.items() if not name.startswith("by-"))
    assert [c[2] for c in matrix[0]] == ["case", "float32", "float16", "int8"]
    assert len(matrix) == 1 + len({r.case_id for r in RESULTS})
