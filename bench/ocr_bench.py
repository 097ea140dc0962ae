"""Field accuracy of reading verification certificates from photos, on generated certificates.

    .venv/bin/python bench/ocr_bench.py [--count 30] [--tesseract]

Each certificate is drawn with a CJK font in one of three layouts (label and value in separate
columns, "label：value" in one line, a table), with blur, rotation, scale and JPEG quality
varied, then read by RapidOCR (the bot's reader) and, with --tesseract, by Tesseract's chi_sim
model (Debian: tesseract-ocr-chi-sim) through the same label/value pairing. A field counts as
right when it equals what was drawn; the dates as dates.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.certificate_text import (  # noqa: E402
    CertificateReading,
    TextBox,
    parse_certificate,
)
from handlers.ocr import RapidOcrReader  # noqa: E402
from tests.fakes.certificates import (  # noqa: E402
    CertificateFields,
    cjk_font_path,
    render_certificate,
    sample_fields,
)

FIELDS = {
    "certificate_number": "number",
    "instrument": "instrument",
    "model": "model",
    "serial_number": "serial",
    "verified_on": "verified_on",
    "valid_until": "valid_until",
    "verifying_body": "body",
}
LAYOUTS = ("columns", "inline", "table")


def variations(count: int) -> list[tuple[CertificateFields, dict[str, object]]]:
    """`count` certificates: layouts in turn, blur 0–2.2 px, rotation up to ±8°, scale
    0.5–1.2 (a 500-pixel-wide photo at the smallest), JPEG quality 35–85."""
    rng = random.Random(4754)
    made = []
    for index in range(count):
        options = {
            "layout": LAYOUTS[index % len(LAYOUTS)],
            "blur": rng.choice([0.0, 0.8, 1.5, 2.2]),
            "rotate": rng.choice([0.0, -8.0, -4.0, -2.0, 2.0, 4.0, 8.0]),
            "scale": rng.choice([0.5, 0.7, 1.0, 1.2]),
            "quality": rng.choice([35, 60, 85]),
        }
        made.append((sample_fields(rng), options))
    return made


def correct_fields(expected: CertificateFields, reading: CertificateReading | None) -> list[str]:
    if reading is None:
        return []
    return [
        name
        for name, attribute in FIELDS.items()
        if getattr(reading, name) == getattr(expected, attribute)
    ]


def tesseract_boxes(image: bytes) -> list[TextBox]:
    """Tesseract's words grouped into its lines, as boxes."""
    with tempfile.NamedTemporaryFile(suffix=".jpg") as handle:
        handle.write(image)
        handle.flush()
        tsv = subprocess.run(
            ["tesseract", handle.name, "-", "-l", "chi_sim+eng", "--psm", "11", "tsv"],
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
    lines: dict[tuple[str, ...], list[list[str]]] = {}
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12 or not cells[11].strip():
            continue
        lines.setdefault(tuple(cells[2:5]), []).append(cells)
    boxes = []
    for words in lines.values():
        lefts = [int(w[6]) for w in words]
        tops = [int(w[7]) for w in words]
        rights = [int(w[6]) + int(w[8]) for w in words]
        bottoms = [int(w[7]) + int(w[9]) for w in words]
        text = "".join(w[11] for w in words)
        boxes.append(TextBox(text, min(lefts), min(tops), max(rights), max(bottoms)))
    return boxes


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--tesseract", action="store_true", help="also measure Tesseract")
    args = parser.parse_args()
    if cjk_font_path() is None:
        sys.exit("no CJK font installed (apt-get install fonts-noto-cjk)")
    certificates = variations(args.count)
    readers = {"rapidocr": RapidOcrReader(timeout_seconds=120)}
    engines = list(readers)
    if args.tesseract:
        if shutil.which("tesseract") is None:
            sys.exit("tesseract not installed (apt-get install tesseract-ocr-chi-sim)")
        engines.append("tesseract")
    for engine in engines:
        right = {name: 0 for name in FIELDS}
        whole = 0
        seconds = []
        by_layout: dict[str, list[int]] = {layout: [] for layout in LAYOUTS}
        misses: list[int] = []
        for fields, options in certificates:
            image = render_certificate(fields, **options)  # type: ignore[arg-type]
            started = time.perf_counter()
            if engine == "rapidocr":
                reading = await readers["rapidocr"].read(image)
            else:
                reading = parse_certificate(await asyncio.to_thread(tesseract_boxes, image))
            seconds.append(time.perf_counter() - started)
            correct = correct_fields(fields, reading)
            for name in correct:
                right[name] += 1
            whole += len(correct) == len(FIELDS)
            by_layout[str(options["layout"])].append(len(correct))
            misses.append(len(FIELDS) - len(correct))
        total = len(certificates)
        print(f"\n{engine}: {total} certificates, {len(FIELDS)} fields each")
        for (_, options), count in zip(certificates, misses, strict=True):
            if count:
                print(f"  missed {count} field(s) on {options}")
        print(f"  all fields right: {whole}/{total}")
        for name in FIELDS:
            print(f"  {name:<20} {right[name]:>3}/{total}  {right[name] / total:6.1%}")
        fields_right = sum(right.values())
        print(
            f"  field accuracy     {fields_right}/{total * len(FIELDS)} = "
            f"{fields_right / (total * len(FIELDS)):.1%}"
        )
        for layout, counts in by_layout.items():
            if counts:
                share = sum(counts) / (len(counts) * len(FIELDS))
                print(f"  layout {layout:<8} {share:6.1%}")
        print(
            f"  seconds per photo: median {statistics.median(seconds):.2f}, "
            f"max {max(seconds):.2f} (the first includes loading the models)"
        )


if __name__ == "__main__":
    asyncio.run(main())
