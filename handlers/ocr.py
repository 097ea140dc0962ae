"""Reading certificates from photos, offline: a small interface and the RapidOCR engine.

rapidocr-onnxruntime ships PP-OCRv4 detection and recognition models (Chinese and Latin)
inside its wheel, so nothing is downloaded at run time. It is an optional dependency
(`pip install -e '.[ocr]'`); without it the registers ask for every field instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import logging
import threading
from collections import OrderedDict
from typing import Any, Protocol

from domain.certificate_text import CertificateReading, TextBox, parse_certificate

log = logging.getLogger(__name__)

OCR_TIMEOUT_SECONDS = 30.0
# Photos read ahead of their turn, kept until the turn asks (see handlers.registers.read_ahead).
CACHED_READINGS = 32


class CertificateReader(Protocol):
    async def read(self, image: bytes) -> CertificateReading | None:
        """The fields read from the photo; None when it could not be read in time."""
        ...


class RapidOcrReader:
    """RapidOCR in a worker thread, one photo at a time, with a time limit."""

    def __init__(self, timeout_seconds: float = OCR_TIMEOUT_SECONDS) -> None:
        self.timeout_seconds = timeout_seconds
        self._engine: Any = None
        self._engine_lock = threading.Lock()
        # OCR takes both cores of a small machine for seconds: one photo at a time.
        self._one_at_a_time = threading.Semaphore(1)
        self._readings: OrderedDict[str, CertificateReading | None] = OrderedDict()

    def _recognise(self, image: bytes) -> list[TextBox]:
        with self._one_at_a_time:
            with self._engine_lock:
                if self._engine is None:
                    from rapidocr_onnxruntime import RapidOCR

                    self._engine = RapidOCR()
            found, _elapsed = self._engine(image)
        boxes = []
        for corners, text, _score in found or []:
            xs = [point[0] for point in corners]
            ys = [point[1] for point in corners]
            # Corners run clockwise from the top left: the top edge gives the text's slope.
            (x0, y0), (x1, y1) = corners[0][:2], corners[1][:2]
            slope = (y1 - y0) / (x1 - x0) if x1 - x0 > 1 else 0.0
            boxes.append(TextBox(str(text), min(xs), min(ys), max(xs), max(ys), slope))
        return boxes

    async def read(self, image: bytes) -> CertificateReading | None:
        """Read in a thread so the event loop keeps serving other chats meanwhile; a photo
        read before is not read again."""
        digest = hashlib.sha256(image).hexdigest()
        if digest in self._readings:
            return self._readings[digest]
        reading: CertificateReading | None = None
        try:
            boxes = await asyncio.wait_for(
                asyncio.to_thread(self._recognise, image), self.timeout_seconds
            )
            reading = parse_certificate(boxes)
        except TimeoutError:
            # The thread finishes on its own; its result is dropped.
            log.warning(
                "certificate OCR took longer than %.0f s; fields asked for", self.timeout_seconds
            )
        except Exception:
            log.exception("certificate OCR failed; fields asked for")
        # A failure is kept too: the turn after a failed read-ahead asks for the fields at once.
        self._readings[digest] = reading
        while len(self._readings) > CACHED_READINGS:
            self._readings.popitem(last=False)
        return reading


def default_reader() -> CertificateReader | None:
    """RapidOCR when it is installed, else None (every field is typed)."""
    if importlib.util.find_spec("rapidocr_onnxruntime") is None:
        return None
    return RapidOcrReader()
