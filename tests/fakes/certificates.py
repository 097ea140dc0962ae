"""Verification certificates drawn for the tests and the OCR bench (CJK font needed)."""

from __future__ import annotations

import io
import random
import subprocess
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from domain.registers import valid_until

FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)


@cache
def cjk_font_path() -> str | None:
    """A font that draws Chinese, or None (the tests that need one then skip)."""
    for candidate in FONT_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    try:
        found = (
            subprocess.run(
                ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=10
            )
            .stdout.split(":")[0]
            .strip()
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return found or None


@dataclass(frozen=True)
class CertificateFields:
    number: str
    instrument: str
    model: str
    serial: str
    verified_on: date
    valid_until: date
    body: str


def sample_fields(rng: random.Random) -> CertificateFields:
    """Random but plausible fields for one certificate."""
    instruments = [
        ("压力表", "Y-100"),
        ("电子天平", "FA2004"),
        ("数显卡尺", "0-150mm"),
        ("温度变送器", "SBWZ-2460"),
        ("电子汽车衡", "SCS-100"),
        ("可燃气体检测报警器", "GT-2000"),
    ]
    bodies = ["江南省计量测试研究院", "滨海市计量检定所", "江南省特种设备检验研究院"]
    instrument, model = rng.choice(instruments)
    year = rng.choice([2025, 2026])
    month = rng.randint(1, 12)
    day = rng.randint(1, 28)
    verified = date(year, month, day)
    return CertificateFields(
        number=f"JD{year}-{rng.randint(10000, 99999)}",
        instrument=instrument,
        model=model,
        serial=f"{rng.choice('ABCHKZ')}{rng.randint(100000, 999999)}",
        verified_on=verified,
        valid_until=valid_until(verified, 12),
        body=rng.choice(bodies),
    )


def _cn(day: date) -> str:
    return f"{day.year}年{day.month:02d}月{day.day:02d}日"


def render_certificate(
    fields: CertificateFields,
    layout: str = "columns",
    blur: float = 0.0,
    rotate: float = 0.0,
    scale: float = 1.0,
    quality: int = 85,
) -> bytes:
    """Draw a 检定证书 as a JPEG: labels and values in separate columns, or "label：value"."""
    font_path = cjk_font_path()
    if font_path is None:
        raise RuntimeError("no CJK font installed")
    width, height = 1000, 1250
    image = Image.new("RGB", (width, height), (252, 250, 244))
    draw = ImageDraw.Draw(image)
    title_font = ImageFont.truetype(font_path, 56)
    font = ImageFont.truetype(font_path, 32)
    draw.text((width // 2 - 140, 70), "检定证书", font=title_font, fill=(20, 20, 20))
    draw.text((width // 2 - 230, 150), "VERIFICATION CERTIFICATE", font=font, fill=(60, 60, 60))
    rows = [
        ("证书编号", fields.number),
        ("计量器具名称", fields.instrument),
        ("型号/规格", fields.model),
        ("出厂编号", fields.serial),
        ("检定日期", _cn(fields.verified_on)),
        ("有效期至", _cn(fields.valid_until)),
        ("检定机构", fields.body),
        ("检定结论", "合格"),
    ]
    top = 260
    for index, (label, value) in enumerate(rows):
        y = top + index * 95
        if layout == "inline":
            draw.text((110, y), f"{label}：{value}", font=font, fill=(10, 10, 10))
        else:
            draw.text((110, y), label, font=font, fill=(10, 10, 10))
            x_value = 420 if layout == "columns" else 560
            draw.text((x_value, y), value, font=font, fill=(10, 10, 10))
            if layout == "table":
                draw.rectangle((90, y - 18, 910, y + 70), outline=(90, 90, 90), width=2)
    if rotate:
        image = image.rotate(rotate, expand=True, fillcolor=(200, 200, 200))
    if scale != 1.0:
        image = image.resize((int(image.width * scale), int(image.height * scale)))
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
