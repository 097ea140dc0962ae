"""Reading certificate fields from OCR boxes: labels paired with values by position."""

from __future__ import annotations

from datetime import date

from domain.certificate_text import TextBox, parse_certificate, read_date


def box(text: str, left: float, top: float, width: float = 200, height: float = 34) -> TextBox:
    return TextBox(text, left, top, left + width, top + height)


def test_values_in_separate_boxes_to_the_right_are_paired_by_line() -> None:
    boxes = [
        box("检定证书", 360, 80),
        # Out of reading order, as OCR engines return them; values slightly off the line.
        box("有效期至", 100, 700),
        box("2027年03月14日", 420, 703),
        box("证书编号", 100, 260),
        box("出厂编号", 100, 500),
        box("JD2026-12345", 420, 258),
        box("Z709067", 420, 505),
        box("检定日期", 100, 600),
        box("2026年03月15日", 420, 598),
        box("计量器具名称", 100, 360),
        box("压力表", 420, 362),
    ]
    reading = parse_certificate(boxes)
    assert reading.certificate_number == "JD2026-12345"
    assert reading.serial_number == "Z709067"
    assert reading.instrument == "压力表"
    assert reading.verified_on == date(2026, 3, 15)
    assert reading.valid_until == date(2027, 3, 14)
    assert reading.missing() == ["model", "verifying_body"]


def test_label_and_value_in_one_box() -> None:
    reading = parse_certificate(
        [box("证书编号：JD2026-1", 100, 100, 500), box("有效期至:2027-1-31", 100, 200, 500)]
    )
    assert reading.certificate_number == "JD2026-1"
    assert reading.valid_until == date(2027, 1, 31)


def test_a_value_below_its_label_in_narrow_layouts() -> None:
    reading = parse_certificate([box("出厂编号", 100, 100), box("A123456", 100, 140)])
    assert reading.serial_number == "A123456"


def test_a_label_is_not_taken_as_another_labels_value() -> None:
    reading = parse_certificate([box("证书编号", 100, 100), box("出厂编号", 420, 100)])
    assert reading.certificate_number is None
    assert reading.serial_number is None


def test_dates_as_printed() -> None:
    assert read_date("2027年3月14日") == date(2027, 3, 14)
    assert read_date("2027.03.14") == date(2027, 3, 14)
    assert read_date("2027年02月30日") is None
    assert read_date("合格") is None


def test_a_tilted_photo_pairs_along_the_tilt() -> None:
    # Rotated 4°: a value 450 px to the right sits 31 px lower than its label.
    slope = 0.07
    boxes = [
        TextBox("有效期至", 100, 700, 230, 734, slope),
        TextBox("检定机构", 100, 795, 230, 829, slope),
        TextBox("2027年03月14日", 560, 731, 800, 765, slope),
        TextBox("江南省计量测试研究院", 560, 826, 900, 860, slope),
        TextBox("检定结论", 100, 890, 230, 924, slope),
        TextBox("合格", 560, 921, 620, 955, slope),
    ]
    reading = parse_certificate(boxes)
    assert reading.valid_until == date(2027, 3, 14)
    assert reading.verifying_body == "江南省计量测试研究院"
