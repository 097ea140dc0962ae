"""The /stats chart: fulfilment and time to acceptance per city or officer, as a PNG.

matplotlib's object API with the Agg canvas (no pyplot, no global state), so a chart can be
drawn in a worker thread. Chinese needs a CJK font: we look for one (matplotlib's font list,
then fontconfig for fonts installed after matplotlib built its cache); without one the chart
is labelled in English and rows are numbered like the lines of the /stats message.
"""

from __future__ import annotations

import io
import logging
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

from handlers.i18n import translate as t

log = logging.getLogger(__name__)

PNG_MIME = "image/png"
# Simplified Chinese first; any of these draws every character of the catalogues.
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Noto Serif CJK SC",
    "Source Han Serif SC",
    "AR PL UMing CN",
    "Droid Sans Fallback",
)
# Characters a usable font must have (from the chart's own title and labels).
CJK_SAMPLE = "履约受理工作日质量帮扶"
MAX_ROWS = 15
MAX_LABEL = 16
ON_TIME_COLOUR, LATE_COLOUR, ACCEPT_COLOUR = "#2e7d32", "#f9a825", "#1565c0"


@dataclass(frozen=True)
class ChartRow:
    """One bar pair: a city or officer, its fulfilment and its median days to accept."""

    label: str
    due: int
    on_time: int
    late: int
    median_days_to_accept: float | None


@dataclass(frozen=True)
class Chart:
    png: bytes
    # The font the Chinese text was drawn with; None when the chart fell back to English.
    cjk_font: FontProperties | None
    figure: Figure


def has_glyphs(font: FontProperties, text: str) -> bool:
    """Tell whether the font file matplotlib picks for `font` draws every character."""
    face = font_manager.get_font(font_manager.findfont(font, fallback_to_default=False))
    return all(face.get_char_index(ord(ch)) for ch in text if not ch.isspace())


@lru_cache(maxsize=1)
def find_cjk_font() -> FontProperties | None:
    """Return a font with Simplified Chinese glyphs installed on this machine, or None."""
    known = {entry.name for entry in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in known and _usable(FontProperties(family=family)):
            return FontProperties(family=family)
    for path in _fontconfig_chinese_files() + _cjk_files_by_name():
        try:
            font_manager.fontManager.addfont(path)
        except (OSError, RuntimeError, ValueError):
            continue
        font = FontProperties(fname=path)
        if _usable(font):
            return font
    log.warning(
        "no CJK font found: the /stats chart is labelled in English "
        "(install one, e.g. apt-get install fonts-noto-cjk)"
    )
    return None


def _usable(font: FontProperties) -> bool:
    try:
        return has_glyphs(font, CJK_SAMPLE)
    except (OSError, RuntimeError, ValueError):
        return False


def _fontconfig_chinese_files() -> list[str]:
    """Font files fontconfig says cover Chinese (none without fontconfig)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    try:
        listed = subprocess.run(
            [fc_list, ":lang=zh", "file"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted({line.strip().rstrip(":") for line in listed.splitlines() if line.strip()})


def _cjk_files_by_name() -> list[str]:
    """Font files in the usual folders whose names say CJK (for machines without fc-list)."""
    pattern = re.compile(r"cjk|wqy|wenquan|sourcehan|source-han|droidsansfallback|uming", re.I)
    return sorted(path for path in font_manager.findSystemFonts() if pattern.search(path))


def _safe_label(text: str, limit: int = MAX_LABEL) -> str:
    """A name as plain text: no mathtext, no control characters, not too long."""
    cleaned = "".join(ch for ch in text if ch.isprintable()).replace("$", r"\$")
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def render_chart(
    rows: list[ChartRow],
    lang: str,
    scope: str,
    day: date,
    cjk_font: FontProperties | None,
) -> Chart:
    """Draw fulfilment (on time / late of due) and median days to accept, one row each."""
    rows = rows[:MAX_ROWS]
    if cjk_font is None:
        # Without a CJK font Chinese comes out as empty boxes: English, numbered rows.
        lang = "en"
        scope = scope if scope.isascii() else ""
    font = cjk_font or FontProperties(family="DejaVu Sans")
    labels = [
        _safe_label(row.label) if cjk_font is not None or row.label.isascii() else f"#{i}"
        for i, row in enumerate(rows, 1)
    ]
    title = " ".join(t(lang, "chart.title", scope=scope, day=day.isoformat()).split())
    figure = Figure(figsize=(9, 2.4 + 0.42 * max(len(rows), 3)), dpi=100)
    FigureCanvasAgg(figure)
    fulfilment_axes, accept_axes = figure.subplots(1, 2, sharey=True, width_ratios=(3, 2))
    positions = list(range(len(rows)))
    on_time = [row.on_time / row.due if row.due else 0 for row in rows]
    late = [row.late / row.due if row.due else 0 for row in rows]
    fulfilment_axes.barh(positions, on_time, color=ON_TIME_COLOUR, label=t(lang, "chart.on_time"))
    fulfilment_axes.barh(
        positions, late, left=on_time, color=LATE_COLOUR, label=t(lang, "chart.late")
    )
    for position, row, done in zip(positions, rows, on_time, strict=True):
        share = (row.on_time + row.late) / row.due if row.due else None
        text = f"{share:.0%} ({row.on_time + row.late}/{row.due})" if share is not None else "—"
        fulfilment_axes.text(
            min(done + (late[position]), 1.0) + 0.01, position, text, va="center", fontsize=8
        )
    fulfilment_axes.set_xlim(0, 1.3)
    fulfilment_axes.set_xticks([0, 0.25, 0.5, 0.75, 1.0], ["0", "25%", "50%", "75%", "100%"])
    fulfilment_axes.set_yticks(positions, labels, fontproperties=font)
    fulfilment_axes.invert_yaxis()
    fulfilment_axes.set_title(t(lang, "chart.fulfilment"), fontproperties=font, fontsize=11)
    # Under the axis, where no bar can hide it.
    fulfilment_axes.legend(
        prop=font, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False
    )
    medians = [row.median_days_to_accept or 0 for row in rows]
    accept_axes.barh(positions, medians, color=ACCEPT_COLOUR)
    for position, row in zip(positions, rows, strict=True):
        value = row.median_days_to_accept
        accept_axes.text(
            (value or 0) + 0.05, position, "—" if value is None else f"{value:g}", va="center"
        )
    accept_axes.set_xlim(0, max([*medians, 1.0]) * 1.3)
    accept_axes.set_title(t(lang, "chart.days_to_accept"), fontproperties=font, fontsize=11)
    for axes in (fulfilment_axes, accept_axes):
        axes.spines[["top", "right"]].set_visible(False)
    figure.suptitle(_safe_label(title, limit=80), fontproperties=font, fontsize=14)
    figure.tight_layout()
    buffer = io.BytesIO()
    # The figures in words travel with the picture (alt text for screen readers and tests),
    # with the real names even where the picture had to number them (no CJK font).
    description = "; ".join(
        f"{_safe_label(row.label)}: {row.on_time}+{row.late}/{row.due}, {row.median_days_to_accept}"
        for row in rows
    )
    figure.savefig(buffer, format="png", metadata={"Title": title, "Description": description})
    return Chart(buffer.getvalue(), cjk_font, figure)
