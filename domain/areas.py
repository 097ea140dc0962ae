"""The service areas a quality problem may touch (SPEC §1)."""

from __future__ import annotations

from enum import StrEnum


class ServiceArea(StrEnum):
    STANDARDS = "std"
    METROLOGY = "met"
    CERTIFICATION = "cert"
    TESTING = "test"
    BRAND = "brand"
    MANAGEMENT = "qms"
    TRACEABILITY = "trace"
    OTHER = "other"


def parse_areas(codes: list[str]) -> list[ServiceArea]:
    """Keep known area codes in catalogue order, dropping unknown ones and repeats."""
    wanted = set(codes)
    return [area for area in ServiceArea if area.value in wanted]
