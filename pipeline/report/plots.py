"""Charts as inline SVG, and one self-contained HTML page to show them.

Standard library only: no matplotlib, no JavaScript, no network. The functions
take plain data and return strings, so a report is ``page(...)`` written to a
file that opens offline in any browser. Every user string is escaped with
``html.escape``; the output is deterministic (same input, same string).
"""

from __future__ import annotations

import math
from html import escape

SVG_NS = "http://www.w3.org/2000/svg"
# Okabe-Ito, colour-blind friendly; black last so that it is rarely needed.
PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")
CHAR_W = 7  # rough width of one character at font-size 12, for layout only
BAR_H, BAR_GAP, GROUP_GAP = 14, 2, 10


def _n(x: float) -> str:
    """A coordinate with at most two decimals and no trailing zeros."""
    s = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def _svg(width: float, height: float, body: list[str]) -> str:
    head = (
        f'<svg xmlns="{SVG_NS}" width="{_n(width)}" height="{_n(height)}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" font-family="sans-serif" font-size="12">'
    )
    return "\n".join([head, *body, "</svg>"])


def _title(title: str, width: float) -> tuple[list[str], float]:
    """The chart title (if any) and the vertical space it takes."""
    if not title:
        return [], 8
    return [
        f'<text class="title" x="{_n(width / 2)}" y="20" text-anchor="middle" '
        f'font-size="15" font-weight="bold">{escape(title)}</text>'
    ], 34


def _empty(title: str, width: int) -> str:
    body, top = _title(title, width)
    body.append(
        f'<text class="empty" x="{_n(width / 2)}" y="{_n(top + 20)}" text-anchor="middle" fill="#666">no data</text>'
    )
    return _svg(width, top + 36, body)


def _legend(names: list[str], top: float, width: float) -> tuple[list[str], float]:
    """One swatch + name per entry, left to right, wrapping; returns the parts and their height."""
    parts, x, y = [], 10.0, top
    for i, name in enumerate(names):
        item_w = 14 + 6 + CHAR_W * len(name) + 16
        if x > 10 and x + item_w > width:
            x, y = 10.0, y + 18
        parts.append(
            f'<g class="legend-item"><rect x="{_n(x)}" y="{_n(y)}" width="14" height="12" '
            f'fill="{PALETTE[i % len(PALETTE)]}"/><text x="{_n(x + 20)}" y="{_n(y + 10)}">'
            f"{escape(name)}</text></g>"
        )
        x += item_w
    return parts, (y - top + 24) if names else 0


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round numbers (steps of 1, 2, 2.5 or 5 times a power of ten) within [lo, hi]."""
    mag = 10 ** math.floor(math.log10((hi - lo) / n))
    best: list[float] = []
    for step in (m * mag for m in (10, 5, 2.5, 2, 1)):  # coarsest first: ties keep the rounder step
        ticks = [round(k * step, 12) for k in range(math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9) + 1)]
        if not best or abs(len(ticks) - n) < abs(len(best) - n):
            best = ticks
    return best


def _clip(label: str, chars: int) -> str:
    """``label`` shortened with an ellipsis to at most ``chars`` characters (the tooltip keeps it whole)."""
    return label if len(label) <= chars else label[: max(chars - 1, 1)] + "\u2026"


def bar_chart(
    rows: list[dict],
    *,
    category: str,
    value: str,
    group: str | None = None,
    title: str = "",
    value_format: str = "{:.3f}",
    width: int = 720,
    axis_max: float | None = None,
) -> str:
    """Horizontal (grouped) bar chart as an ``<svg>`` string.

    ``category`` values (first-seen order) are the blocks along the axis; ``group`` values are
    the bars inside each block, one colour each, with a legend (None: one bar per category).
    The axis runs 0..1 when all values lie in [0, 1], else 0..1.05 * max (``axis_max`` sets it). Each bar (class
    "bar") has a value label and a ``<title>`` tooltip; a missing combination leaves a gap;
    for duplicate combinations the last row wins.
    """
    cells = {(str(r[category]), None if group is None else str(r[group])): float(r[value]) for r in rows}
    if not cells:
        return _empty(title, width)
    cats = list(dict.fromkeys(c for c, _ in cells))
    groups = list(dict.fromkeys(g for _, g in cells))
    vmax = max(cells.values())
    top = 1.0 if all(0 <= v <= 1 for v in cells.values()) else (vmax * 1.05 if vmax > 0 else 1.0)
    if axis_max is not None and axis_max > 0:
        top = max(axis_max, vmax)
    body, y0 = _title(title, width)
    if group is not None:
        legend, h = _legend(groups, y0, width)
        body += legend
        y0 += h
    left = min(max(CHAR_W * max(len(c) for c in cats) + 24, 60), width * 0.4)
    plot_w = width - left - 64  # room on the right for the value label of a full-length bar
    block_h = len(groups) * (BAR_H + BAR_GAP) - BAR_GAP
    height = y0 + len(cats) * (block_h + GROUP_GAP) + 30
    axis_y = height - 30
    for t in _ticks(0, top):
        x = left + plot_w * t / top
        body.append(
            f'<line x1="{_n(x)}" y1="{_n(y0)}" x2="{_n(x)}" y2="{_n(axis_y)}" stroke="#ddd"/>'
            f'<text x="{_n(x)}" y="{_n(axis_y + 16)}" text-anchor="middle" font-size="11">'
            f"{t:.6g}</text>"
        )
    body.append(f'<line x1="{_n(left)}" y1="{_n(axis_y)}" x2="{_n(left + plot_w)}" y2="{_n(axis_y)}" stroke="#333"/>')
    for ci, cat in enumerate(cats):
        by = y0 + ci * (block_h + GROUP_GAP)
        body.append(
            f'<text class="category" x="{_n(left - 6)}" y="{_n(by + block_h / 2 + 4)}" '
            f'text-anchor="end">{escape(_clip(cat, int((left - 10) // CHAR_W)))}</text>'
        )
        for gi, grp in enumerate(groups):
            if (cat, grp) not in cells:
                continue
            v = cells[(cat, grp)]
            label = value_format.format(v)
            w, y = plot_w * max(v, 0) / top, by + gi * (BAR_H + BAR_GAP)
            tip = f"{cat}: {label}" if grp is None else f"{grp} / {cat}: {label}"
            colour = PALETTE[4] if grp is None else PALETTE[gi % len(PALETTE)]
            body.append(
                f'<rect class="bar" x="{_n(left)}" y="{_n(y)}" width="{_n(w)}" height="{BAR_H}" '
                f'fill="{colour}"><title>{escape(tip)}</title></rect>'
                f'<text class="value" x="{_n(left + w + 4)}" y="{_n(y + BAR_H - 3)}" '
                f'font-size="11">{escape(label)}</text>'
            )
    return _svg(width, height, body)


def line_chart(
    series: dict[str, list[tuple[float, float]]],
    *,
    x_label: str,
    y_label: str,
    title: str = "",
    width: int = 720,
    height: int = 320,
) -> str:
    """Line chart as an ``<svg>`` string: per series (in the given order) one polyline
    (class "series") through its points as given, point markers, and a legend entry; axes
    with about five ticks each and labels. Single points and constant values are fine."""
    points = [p for pts in series.values() for p in pts]
    if not points:
        return _empty(title, width)
    body, top = _title(title, width)
    legend, h = _legend(list(series), top, width)
    body += legend
    top += h
    left, right, bottom = 64, width - 16, height - 44
    bottom = max(bottom, top + 40)
    xlo, xhi = min(p[0] for p in points), max(p[0] for p in points)
    ylo, yhi = min(p[1] for p in points), max(p[1] for p in points)
    if xlo == xhi:
        xlo, xhi = xlo - 1, xhi + 1
    pad = (yhi - ylo) * 0.05 or max(abs(yhi) * 0.1, 1.0)
    ylo, yhi = ylo - pad, yhi + pad

    def sx(x: float) -> float:
        return left + (right - left) * (x - xlo) / (xhi - xlo)

    def sy(y: float) -> float:
        return bottom - (bottom - top) * (y - ylo) / (yhi - ylo)

    for t in _ticks(xlo, xhi):
        body.append(
            f'<line x1="{_n(sx(t))}" y1="{_n(top)}" x2="{_n(sx(t))}" y2="{_n(bottom)}" stroke="#eee"/>'
            f'<text x="{_n(sx(t))}" y="{_n(bottom + 16)}" text-anchor="middle" font-size="11">'
            f"{t:.6g}</text>"
        )
    for t in _ticks(ylo, yhi):
        body.append(
            f'<line x1="{left}" y1="{_n(sy(t))}" x2="{right}" y2="{_n(sy(t))}" stroke="#eee"/>'
            f'<text x="{left - 6}" y="{_n(sy(t) + 4)}" text-anchor="end" font-size="11">'
            f"{t:.6g}</text>"
        )
    body.append(
        f'<polyline points="{left},{_n(top)} {left},{_n(bottom)} {right},{_n(bottom)}" fill="none" stroke="#333"/>'
    )
    body.append(
        f'<text class="x-label" x="{_n((left + right) / 2)}" y="{_n(bottom + 36)}" '
        f'text-anchor="middle">{escape(x_label)}</text>'
    )
    body.append(
        f'<text class="y-label" transform="translate(16,{_n((top + bottom) / 2)}) rotate(-90)" '
        f'text-anchor="middle">{escape(y_label)}</text>'
    )
    for i, (name, pts) in enumerate(series.items()):
        if not pts:
            continue
        colour = PALETTE[i % len(PALETTE)]
        coords = " ".join(f"{_n(sx(x))},{_n(sy(y))}" for x, y in pts)
        body.append(
            f'<g class="line"><title>{escape(name)}</title>'
            f'<polyline class="series" points="{coords}" fill="none" stroke="{colour}" stroke-width="2"/>'
        )
        body += [
            f'<circle class="point" cx="{_n(sx(x))}" cy="{_n(sy(y))}" r="3" fill="{colour}">'
            f"<title>{escape(f'{name}: ({x:g}, {y:g})')}</title></circle>"
            for x, y in pts
        ]
        body.append("</g>")
    return _svg(width, height, body)


CSS = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
svg{max-width:100%;height:auto}table{border-collapse:collapse}td,th{padding:.2rem .6rem;border:1px solid #ddd}"""


def page(title: str, sections: list[tuple[str, str]], *, note: str = "") -> str:
    """A complete, self-contained HTML5 document: ``<h1>``, optional note, then per section an
    ``<h2>`` heading (escaped) followed by its content (SVG or HTML, inserted as is)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{escape(title)}</title>",
        f"<style>\n{CSS}\n</style>",
        "</head>",
        "<body>",
        f"<h1>{escape(title)}</h1>",
    ]
    if note:
        parts.append(f"<p>{escape(note)}</p>")
    for heading, content in sections:
        parts += [f"<h2>{escape(heading)}</h2>", content]
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)
