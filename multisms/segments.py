"""How many SMS segments a body costs, and which characters force the expensive encoding.

GSM-7 fits 160 characters in one segment (153 per segment when concatenated);
characters from the extension table (`€ [ ] { } ~ ^ | \\`) take two slots. One character
outside GSM-7 switches the whole message to UCS-2: 70 UTF-16 units (67 concatenated).
An escape pair or a surrogate pair is never split across two segments.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

SINGLE_LIMITS = {"GSM-7": 160, "UCS-2": 70}
MULTI_LIMITS = {"GSM-7": 153, "UCS-2": 67}


@dataclass(frozen=True)
class SegmentInfo:
    """The encoding, the segment count and the characters that forced UCS-2 (if any)."""

    encoding: str
    segments: int
    units: int
    ucs2_characters: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "encoding": self.encoding,
            "segments": self.segments,
            "units": self.units,
            "ucs2_characters": list(self.ucs2_characters),
        }


def analyze(body: str) -> SegmentInfo:
    """Encoding and segment count of `body` as a carrier will bill it."""
    forcing = tuple(dict.fromkeys(ch for ch in body if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION))
    encoding = "UCS-2" if forcing else "GSM-7"
    sizes = [_units(ch, encoding) for ch in body]
    return SegmentInfo(encoding, _count_segments(sizes, encoding), sum(sizes), forcing)


def _units(ch: str, encoding: str) -> int:
    if encoding == "GSM-7":
        return 2 if ch in GSM7_EXTENSION else 1
    return 2 if ord(ch) > 0xFFFF else 1


def _count_segments(sizes: list[int], encoding: str) -> int:
    total = sum(sizes)
    if total == 0:
        return 0
    if total <= SINGLE_LIMITS[encoding]:
        return 1
    limit = MULTI_LIMITS[encoding]
    segments, used = 1, 0
    for size in sizes:
        if used + size > limit:
            segments += 1
            used = 0
        used += size
    return segments
