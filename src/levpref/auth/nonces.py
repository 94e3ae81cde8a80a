"""The nonce window (SPEC §2.2), counted in nonces, not time.

Rules:
- A ``Nonce`` header is a decimal integer of at most 20 digits, else the request is not authenticated.
- Per key the ``W`` most recent accepted nonces are kept (default 256):
  a nonce in that set is a duplicate; a nonce below the smallest of a *full* set is below threshold;
  otherwise it is accepted, and the smallest is evicted when more than ``W`` would be kept.
- The highest nonce ever evicted is kept as the key's *floor*: a nonce at or below it is below threshold whatever
  the window now holds, so enlarging ``W`` on a restart never re-admits an evicted nonce (SPEC §2.2, revised).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

DEFAULT_WINDOW = 256
NONCE_DIGITS = 20
_NONCE = re.compile(r"[0-9]{1,20}")


def parse_nonce(text: str) -> int | None:
    """The nonce as an integer, or ``None`` when the header is malformed."""
    return int(text) if _NONCE.fullmatch(text) else None


def nonce_key(nonce: int) -> str:
    """A storage form that sorts like the number: zero-padded to 20 digits."""
    return f"{nonce:020d}"


class NonceVerdict(enum.Enum):
    ACCEPT = "accept"
    ACCEPT_AND_EVICT = "accept_and_evict"
    DUPLICATE = "duplicate"
    BELOW_THRESHOLD = "below_threshold"


def judge_nonce(
    nonce: int, *, known: bool, kept: int, smallest: int | None, window: int, floor: int | None = None
) -> NonceVerdict:
    """Judge ``nonce`` against a window holding ``kept`` nonces, the smallest ``smallest``, above ``floor``."""
    if known:
        return NonceVerdict.DUPLICATE
    if floor is not None and nonce <= floor:
        return NonceVerdict.BELOW_THRESHOLD
    if kept >= window:
        if smallest is not None and nonce < smallest:
            return NonceVerdict.BELOW_THRESHOLD
        return NonceVerdict.ACCEPT_AND_EVICT
    return NonceVerdict.ACCEPT


@dataclass(slots=True)
class NonceWindow:
    """An in-memory window, the reference the stores are tested against."""

    window: int = DEFAULT_WINDOW
    kept: set[int] = field(default_factory=set)
    floor: int | None = None

    def offer(self, nonce: int) -> NonceVerdict:
        verdict = judge_nonce(
            nonce,
            known=nonce in self.kept,
            kept=len(self.kept),
            smallest=min(self.kept, default=None),
            window=self.window,
            floor=self.floor,
        )
        if verdict in (NonceVerdict.ACCEPT, NonceVerdict.ACCEPT_AND_EVICT):
            self.kept.add(nonce)
            while len(self.kept) > self.window:
                evicted = min(self.kept)
                self.kept.remove(evicted)
                self.floor = evicted if self.floor is None else max(self.floor, evicted)
        return verdict
