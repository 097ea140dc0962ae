"""Reading a verification certificate from OCR boxes: labels and values paired by position.

No I/O. An OCR engine returns text boxes; on a certificate a label (证书编号, 出厂编号,
有效期至 …) is followed by its value either in the same box ("有效期至：2027年3月14日") or in a
separate box to its right on the same line, or (narrow layouts) in the box below it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

FIELDS = (
    "certificate_number",
    "instrument",
    "model",
    "serial_number",
    "verified_on",
    "valid_until",
    "verifying_body",
)
# Label spellings per field, longest first so "检定日期" is not taken for "检定".
LABELS: dict[str, tuple[str, ...]] = {
    "certificate_number": ("证书编号", "证书号", "编号"),
    "instrument": ("计量器具名称", "器具名称", "仪器名称", "设备名称", "名称"),
    "model": ("型号/规格", "型号规格", "规格型号", "型号", "规格"),
    "serial_number": ("出厂编号", "器具编号", "设备编号"),
    "verified_on": ("检定日期", "校准日期", "检测日期"),
    "valid_until": ("有效期至", "有效期", "下次检定日期", "建议复校日期"),
    "verifying_body": ("检定机构", "校准机构", "检定单位", "授权单位"),
}
# Labels of fields we do not keep; known so that they are never taken for a value.
OTHER_LABELS = (
    "检定结论",
    "校准结论",
    "结论",
    "检定员",
    "核验员",
    "批准人",
    "送检单位",
    "委托单位",
)
_DATE = re.compile(r"(\d{4})\s*[年\-/.]\s*(\d{1,2})\s*[月\-/.]\s*(\d{1,2})")
_SEPARATORS = " :：;；|"


@dataclass(frozen=True)
class TextBox:
    """One OCR result: the text and its box (left, top, right, bottom) in pixels."""

    text: str
    left: float
    top: float
    right: float
    bottom: float
    # dy/dx of the text's baseline: a photo taken at a slant tilts every line alike.
    slope: float = 0.0

    @property
    def height(self) -> float:
        return max(1.0, self.bottom - self.top)

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2

    @property
    def centre(self) -> float:
        return (self.left + self.right) / 2


@dataclass
class CertificateReading:
    """What could be read; fields not found are None."""

    certificate_number: str | None = None
    instrument: str | None = None
    model: str | None = None
    serial_number: str | None = None
    verified_on: date | None = None
    valid_until: date | None = None
    verifying_body: str | None = None
    raw_lines: list[str] = field(default_factory=list)

    def missing(self) -> list[str]:
        return [name for name in FIELDS if getattr(self, name) is None]


def read_date(text: str) -> date | None:
    """The first date in the text (2027年03月14日, 2027-3-14, 2027.03.14), or None."""
    match = _DATE.search(text)
    if match is None:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def _label_of(text: str) -> tuple[str, str] | None:
    """(field, rest of the text after the label) when the box starts with a label."""
    compact = text.strip().replace(" ", "")
    best: tuple[str, str] | None = None
    best_length = 0
    for name, spellings in LABELS.items():
        for spelling in spellings:
            if compact.startswith(spelling) and len(spelling) > best_length:
                best, best_length = (
                    (name, compact[len(spelling) :].strip(_SEPARATORS)),
                    len(spelling),
                )
    return best


def _skew(boxes: list[TextBox]) -> float:
    """The page's tilt: the median slope of the longer boxes (short ones measure it badly)."""
    slopes = sorted(box.slope for box in boxes if box.right - box.left > 2 * box.height)
    return slopes[len(slopes) // 2] if slopes else 0.0


def _value_beside(label: TextBox, boxes: list[TextBox], taken: set[int], skew: float) -> int | None:
    """The nearest box to the right on the same (tilted) line, else the nearest just below."""
    same_line = [
        (box.left - label.right, index)
        for index, box in enumerate(boxes)
        if index not in taken
        and box.left >= label.right - label.height * 0.5
        and abs(box.middle - (label.middle + (box.centre - label.centre) * skew))
        < label.height * 0.6
    ]
    if same_line:
        return min(same_line)[1]
    below = [
        (box.top - label.bottom, index)
        for index, box in enumerate(boxes)
        if index not in taken
        and 0 <= box.top - label.bottom < label.height * 1.2
        and abs(box.left - label.left) < label.height * 2
    ]
    return min(below)[1] if below else None


def parse_certificate(boxes: list[TextBox]) -> CertificateReading:
    """Pair labels with their values and read the fields of a verification certificate."""
    reading = CertificateReading(raw_lines=[box.text for box in boxes])
    labels: dict[int, tuple[str, str]] = {}
    others: set[int] = set()
    for index, box in enumerate(boxes):
        found = _label_of(box.text)
        if found is not None:
            labels[index] = found
        elif box.text.strip().replace(" ", "").startswith(OTHER_LABELS):
            others.add(index)
    taken = set(labels) | others
    skew = _skew(boxes)
    values: dict[str, str] = {}
    for index, (name, rest) in sorted(labels.items(), key=lambda item: boxes[item[0]].top):
        if name in values:
            continue
        if rest:
            values[name] = rest
            continue
        beside = _value_beside(boxes[index], boxes, taken, skew)
        if beside is not None:
            taken.add(beside)
            values[name] = boxes[beside].text.strip().strip(_SEPARATORS)
    for name, value in values.items():
        if not value:
            continue
        if name in ("verified_on", "valid_until"):
            setattr(reading, name, read_date(value))
        else:
            setattr(reading, name, value[:100])
    return reading
