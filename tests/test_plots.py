"""pipeline.plots: well-formed SVG, counts, proportions, escaping, a self-contained page."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from pipeline.report.plots import PALETTE, bar_chart, line_chart, page

NS = {"s": "http://www.w3.org/2000/svg"}
ROWS = [
    {"method": "parabel", "metric": "P@1", "value": 0.9},
    {"method": "MMHSA+R+MHSA", "metric": "P@1", "value": 0.45},
    {"method": "parabel", "metric": "P@3", "value": 0.6},
    {"method": "MMHSA+R+MHSA", "metric": "P@3", "value": 0.3},
    {"method": "parabel", "metric": "P@5", "value": 0.5},  # (P@5, MMHSA+R+MHSA) missing: a gap
]


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("viewBox") and float(root.get("width")) > 0 and float(root.get("height")) > 0
    return root


def bars(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.get("class") == "bar"]


def legend(root: ET.Element) -> list[str]:
    return [
        g.find("s:text", NS).text for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "legend-item"
    ]


def test_bar_chart_one_bar_per_row_with_tooltip():
    root = parse(bar_chart(ROWS, category="metric", value="value", group="method", title="P@k"))
    found = bars(root)
    assert len(found) == len(ROWS)
    tips = [b.find("s:title", NS).text for b in found]
    assert tips[0] == "parabel / P@1: 0.900"
    assert "MMHSA+R+MHSA / P@3: 0.300" in tips
    values = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text") if t.get("class") == "value"]
    assert values == ["0.900", "0.450", "0.600", "0.300", "0.500"]


def test_bar_widths_proportional_to_values():
    found = bars(parse(bar_chart(ROWS, category="metric", value="value", group="method")))
    w = [float(b.get("width")) for b in found]
    assert w[1] == pytest.approx(w[0] / 2, abs=0.02)  # 0.45 vs 0.9
    assert w[3] == pytest.approx(w[0] / 3, abs=0.02)  # 0.3 vs 0.9
    # values in [0, 1]: the axis runs to 1.0, so 0.9 is not the full plot width
    full = bars(parse(bar_chart([{"c": "a", "v": 1.0}], category="c", value="v")))[0]
    assert w[0] == pytest.approx(0.9 * float(full.get("width")), abs=0.02)


def test_bar_axis_beyond_one_and_colours_by_group():
    rows = [{"c": "x", "g": "a", "v": 10.0}, {"c": "x", "g": "b", "v": 5.0}, {"c": "y", "g": "b", "v": 2.0}]
    found = bars(parse(bar_chart(rows, category="c", value="v", group="g")))
    assert [float(b.get("width")) for b in found][:2] == pytest.approx(
        [float(found[0].get("width")), float(found[0].get("width")) / 2], abs=0.02
    )
    assert [b.get("fill") for b in found] == [PALETTE[0], PALETTE[1], PALETTE[1]]
    assert float(found[1].get("y")) < float(found[2].get("y"))  # categories in first-seen order, top-down


def test_long_category_label_is_clipped_but_tooltip_keeps_it():
    long = "x" * 300
    root = parse(bar_chart([{"c": long, "v": 0.5}], category="c", value="v", width=400))
    shown = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text") if t.get("class") == "category"]
    assert len(shown) == 1 and shown[0].endswith("\u2026") and len(shown[0]) * 7 <= 400 * 0.4
    assert bars(root)[0].find("s:title", NS).text == f"{long}: 0.500"


def test_bar_chart_height_grows_with_bars():
    one = parse(bar_chart(ROWS[:1], category="metric", value="value", group="method"))
    many = parse(bar_chart(ROWS, category="metric", value="value", group="method"))
    assert float(many.get("height")) > float(one.get("height"))


def test_legend_each_group_once_in_first_seen_order():
    root = parse(bar_chart(ROWS, category="metric", value="value", group="method"))
    assert legend(root) == ["parabel", "MMHSA+R+MHSA"]
    assert legend(parse(bar_chart(ROWS, category="method", value="value"))) == []  # no group, no legend


def test_escaping_round_trips():
    name = "a<b&c"
    rows = [{"c": 'x"y', "g": name, "v": 0.5}]
    svg = bar_chart(rows, category="c", value="v", group="g", title=name)
    root = parse(svg)
    assert legend(root) == [name]
    assert bars(root)[0].find("s:title", NS).text == f'{name} / x"y: 0.500'
    lroot = parse(line_chart({name: [(1, 2), (2, 3)]}, x_label="<x>", y_label="&y", title=name))
    assert legend(lroot) == [name]
    texts = {t.get("class"): t.text for t in lroot.iter("{http://www.w3.org/2000/svg}text")}
    assert texts["x-label"] == "<x>" and texts["y-label"] == "&y" and texts["title"] == name


def test_line_chart_one_polyline_per_series():
    series = {"train": [(1, 0.9), (2, 0.5), (3, 0.4)], "valid": [(1, 1.0), (2, 0.7)]}
    root = parse(line_chart(series, x_label="epoch", y_label="loss"))
    lines = [p for p in root.iter("{http://www.w3.org/2000/svg}polyline") if p.get("class") == "series"]
    assert [len(p.get("points").split()) for p in lines] == [3, 2]
    assert [p.get("stroke") for p in lines] == [PALETTE[0], PALETTE[1]]
    circles = [c for c in root.iter("{http://www.w3.org/2000/svg}circle") if c.get("class") == "point"]
    assert len(circles) == 5
    assert legend(root) == ["train", "valid"]
    # higher y is drawn higher up (smaller SVG y)
    ys = [float(pt.split(",")[1]) for pt in lines[0].get("points").split()]
    assert ys[0] < ys[1] < ys[2]


@pytest.mark.parametrize(
    "series",
    [
        {"one": [(5, 0.3)]},
        {"flat": [(1, 2.0), (2, 2.0), (3, 2.0)]},
        {"zero": [(0, 0), (0, 0)]},
        {"a": [(1, 1)], "empty": []},
    ],
)
def test_line_chart_degenerate_series(series):
    root = parse(line_chart(series, x_label="x", y_label="y"))
    lines = [p for p in root.iter("{http://www.w3.org/2000/svg}polyline") if p.get("class") == "series"]
    assert [len(p.get("points").split()) for p in lines] == [len(v) for v in series.values() if v]
    for p in lines:
        for pt in p.get("points").split():
            x, y = map(float, pt.split(","))
            assert 0 <= x <= 720 and 0 <= y <= 320


def test_empty_inputs_say_no_data():
    for svg in (
        bar_chart([], category="c", value="v", title="t"),
        line_chart({}, x_label="x", y_label="y"),
        line_chart({"s": []}, x_label="x", y_label="y"),
    ):
        root = parse(svg)
        assert "no data" in [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
        assert not bars(root)


def test_page_is_self_contained():
    svg = bar_chart(ROWS, category="metric", value="value", group="method")
    lsvg = line_chart({"s": [(1, 1), (2, 2)]}, x_label="x", y_label="y")
    html = page("Report <1>", [("Precision & co", svg), ("Loss", lsvg)], note="a<b")
    assert html.startswith("<!DOCTYPE html>")
    assert "<h1>Report &lt;1&gt;</h1>" in html and "<p>a&lt;b</p>" in html
    assert "<h2>Precision &amp; co</h2>" in html and "<h2>Loss</h2>" in html
    assert html.index("<h2>Precision") < html.index(svg) < html.index("<h2>Loss") < html.index(lsvg)
    assert "<script" not in html.lower() and "<link" not in html.lower()
    assert "http" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "<p>" not in page("t", [])


def test_deterministic():
    args = dict(category="metric", value="value", group="method", title="x")
    assert bar_chart(ROWS, **args) == bar_chart([dict(r) for r in ROWS], **args)
    series = {"a": [(1, 0.5), (2, 0.25)], "b": [(1, 0.1)]}
    assert line_chart(series, x_label="x", y_label="y") == line_chart(dict(series), x_label="x", y_label="y")
    assert page("t", [("h", "c")]) == page("t", [("h", "c")])


def test_axis_max_rescales_the_bars():
    rows = [{"c": "a", "v": 0.1}, {"c": "b", "v": 0.05}]
    default = ET.fromstring(bar_chart(rows, category="c", value="v"))
    zoomed = ET.fromstring(bar_chart(rows, category="c", value="v", axis_max=0.2))
    width = lambda svg: float(next(e for e in svg.iter() if e.get("class") == "bar").get("width"))  # noqa: E731
    assert width(zoomed) == pytest.approx(5 * width(default), rel=1e-2)
