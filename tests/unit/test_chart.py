"""The /stats chart: a real PNG, Chinese drawn with a CJK font, English where none exists."""

from __future__ import annotations

import io
from datetime import date

import pytest
from matplotlib.font_manager import FontProperties
from PIL import Image

from handlers.charts import ChartRow, find_cjk_font, has_glyphs, render_chart

ROWS = [
    ChartRow("李强", due=14, on_time=2, late=0, median_days_to_accept=2),
    ChartRow("赵敏", due=12, on_time=5, late=4, median_days_to_accept=1),
    # Markup, mathtext and control characters in a name are drawn as text, not interpreted.
    ChartRow("王丽 $\\frac{1}{0}$ \x01\x1b", due=13, on_time=7, late=3, median_days_to_accept=2.5),
    ChartRow("Nobody", due=0, on_time=0, late=0, median_days_to_accept=None),
]
DAY = date(2026, 11, 30)


def opened(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def test_the_chart_is_a_png_of_sensible_size() -> None:
    font = find_cjk_font()
    chart = render_chart(ROWS, "zh_CN", "宁波市", DAY, font)
    image = opened(chart.png)
    assert image.format == "PNG"
    assert 600 <= image.width <= 2000 and 300 <= image.height <= 1500
    assert "李强: 2+0/14, 2" in image.info["Description"]


def test_the_chinese_title_is_drawn_with_a_cjk_font() -> None:
    font = find_cjk_font()
    if font is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk): glyph check skipped")
    chart = render_chart(ROWS, "zh_CN", "宁波市", DAY, font)
    title = chart.figure.get_suptitle()
    assert title == "履约与受理时效 宁波市 2026-11-30"
    drawn = next(text for text in chart.figure.texts if text.get_text() == title)
    # The font the title was actually laid out with has a glyph for every character.
    assert has_glyphs(drawn.get_fontproperties(), title)
    # The check can fail: matplotlib's default font has no Chinese.
    assert not has_glyphs(FontProperties(family="DejaVu Sans"), title)
    labels = [label.get_text() for label in chart.figure.axes[0].get_yticklabels()]
    assert labels[:2] == ["李强", "赵敏"] and labels[2].startswith("王丽 \\$\\frac")


def test_without_a_cjk_font_the_chart_speaks_english_and_numbers_the_rows() -> None:
    chart = render_chart(ROWS, "zh_CN", "宁波市", DAY, cjk_font=None)
    assert chart.figure.get_suptitle() == "Fulfilment and time to accept 2026-11-30"
    labels = [label.get_text() for label in chart.figure.axes[0].get_yticklabels()]
    # Row numbers match the numbered lines of the /stats message; ASCII names stay.
    assert labels == ["#1", "#2", "#3", "Nobody"]
    image = opened(chart.png)
    assert image.width >= 600
    # The words that travel with the picture (alt text) keep the real names.
    assert "李强: 2+0/14, 2; 赵敏: 5+4/12, 1" in image.info["Description"]


def test_no_rows_still_draws() -> None:
    assert opened(render_chart([], "en", "", DAY, None).png).format == "PNG"
