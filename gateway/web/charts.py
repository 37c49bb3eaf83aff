"""Charts drawn on the server as inline SVG: they render without scripts, in any language."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape


def bar_chart(points: Sequence[tuple[str, float]], *, width: int = 720, height: int = 220) -> str:
    """A bar chart of labelled values (e.g. declarations per day) as an SVG element."""
    if not points:
        return ""
    top = max(value for _, value in points) or 1
    pad_left, pad_bottom, pad_top = 36, 28, 12
    inner_w, inner_h = width - pad_left - 8, height - pad_bottom - pad_top
    step = inner_w / len(points)
    bar_w = max(2.0, step * 0.7)
    parts = [
        f'<svg role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="11">',
        f'<line x1="{pad_left}" y1="{pad_top + inner_h}" x2="{width - 8}" '
        f'y2="{pad_top + inner_h}" stroke="#8a99a8"/>',
        f'<text x="4" y="{pad_top + 8}" fill="#5b6b7c">{top:g}</text>',
    ]
    label_every = max(1, len(points) // 12)
    for index, (label, value) in enumerate(points):
        bar_h = inner_h * value / top
        x = pad_left + index * step + (step - bar_w) / 2
        y = pad_top + inner_h - bar_h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{bar_h:.1f}" '
            f'fill="#0b5cad"><title>{escape(label)}: {value:g}</title></rect>'
        )
        if index % label_every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{height - 10}" text-anchor="middle" '
                f'fill="#5b6b7c">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
