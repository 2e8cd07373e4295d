"""tools/plots.py: the shared chart helpers save the format the suffix names, label what they
are given, and fail with PlotError (never a matplotlib traceback) on a mistake."""

import sys

import pytest
from gossamer.tools.plots import PlotError, bar_chart, check_plot_path, line_chart, series_colors

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def matplotlib():
    return pytest.importorskip("matplotlib")


def test_bar_chart_writes_a_png_and_returns_its_path(matplotlib, tmp_path):
    path = tmp_path / "bars.png"
    out = bar_chart(path, ["Conv", "Relu"], {"cython": [3.0, 0.5]}, title="t", value_label="ms")
    assert out == str(path) and path.read_bytes()[:8] == PNG_MAGIC


@pytest.mark.parametrize("horizontal", [True, False])
@pytest.mark.parametrize("stacked", [True, False])
def test_bar_chart_svg_names_every_label_and_series(matplotlib, tmp_path, horizontal, stacked):
    path = tmp_path / "bars.svg"
    series = {"cython": [3.0, 0.0, 1.0], "reference": [0.0, 2.0, 0.5]}
    bar_chart(path, ["Conv", "Softmax", "Add"], series, title="per op type",
              horizontal=horizontal, stacked=stacked)  # fmt: skip
    svg = path.read_text()
    for text in ("Conv", "Softmax", "Add", "cython", "reference", "per op type"):
        assert text in svg, text


def test_single_series_has_no_legend_unless_asked(matplotlib, tmp_path):
    bar_chart(tmp_path / "a.svg", ["Conv"], {"only_series": [1.0]})
    bar_chart(tmp_path / "b.svg", ["Conv"], {"only_series": [1.0]}, legend=True)
    assert "only_series" not in (tmp_path / "a.svg").read_text()
    assert "only_series" in (tmp_path / "b.svg").read_text()


def test_line_chart_writes_a_pdf_with_gaps_and_log_axes(matplotlib, tmp_path):
    path = tmp_path / "lines.pdf"
    out = line_chart(path, [1, 2, 4], {"a": [3.0, None, 1.0], "b": [2.0, 1.5, 1.2]},
                     x_label="threads", y_label="ms", log_x=True, log_y=True)  # fmt: skip
    assert out == str(path) and path.read_bytes()[:5] == b"%PDF-"


def test_series_colors_are_distinct_and_stable():
    colors = series_colors(["cython", "reference", "opencl"])
    assert len(set(colors.values())) == 3
    assert series_colors(["cython", "reference"]) == {k: colors[k] for k in ("cython", "reference")}


def test_series_of_the_wrong_length_is_a_plot_error(matplotlib, tmp_path):
    with pytest.raises(PlotError, match="'a' has 1 values for 2 positions"):
        bar_chart(tmp_path / "x.png", ["Conv", "Relu"], {"a": [1.0]})


@pytest.mark.parametrize("name", ["x.jpeg", "x", "x.json"])
def test_an_unknown_format_is_a_plot_error(tmp_path, name):
    with pytest.raises(PlotError, match=r"\.png, \.svg, \.pdf"):
        check_plot_path(tmp_path / name)


def test_a_missing_folder_is_a_plot_error(tmp_path):
    with pytest.raises(PlotError, match="does not exist"):
        check_plot_path(tmp_path / "no" / "x.png")


def test_missing_matplotlib_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(PlotError, match=r"pip install 'gossamer\[plot\]'"):
        check_plot_path(tmp_path / "x.png")
    with pytest.raises(PlotError, match="matplotlib"):
        line_chart(tmp_path / "x.png", [1], {"a": [1.0]})
