"""A/B assignment: a stable hash of the viewer id picks the arm (same viewer, same arm, every replica)."""

from __future__ import annotations

import hashlib

CHAMPION, CHALLENGER = "champion", "challenger"


def arm_for(user_id: int, challenger_percent: float, salt: str = "movierecs") -> str:
    """``challenger`` for ``challenger_percent`` % of viewers, ``champion`` for the rest.

    Examples
    --------
    >>> arm_for(42, 0.0), arm_for(42, 100.0)
    ('champion', 'challenger')
    >>> sum(arm_for(u, 25.0) == "challenger" for u in range(1, 10001)) in range(2300, 2700)
    True
    """
    if challenger_percent <= 0:
        return CHAMPION
    digest = hashlib.blake2b(f"{salt}:{user_id}".encode(), digest_size=8).digest()
    bucket = int.from_bytes(digest, "big") % 10_000
    return CHALLENGER if bucket < challenger_percent * 100 else CHAMPION
