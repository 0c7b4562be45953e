"""Hand-parsed parameters of the hot route (GET /v1/recommendations/{user_id}).

FastAPI's parameter machinery costs more per request than the model itself (~0.25 ms vs ~0.07 ms
on this machine), so the one route that carries the traffic parses its few parameters here, with
the same rules and the same 422 error shape (``{"detail": [{"type", "loc", "msg", "input"}]}``);
the OpenAPI document still declares them (``RECOMMENDATION_PARAMETERS``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi.exceptions import RequestValidationError

from movierecs.events import MAX_ID

TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
FALSE = frozenset({"0", "false", "f", "no", "n", "off"})


@dataclass(frozen=True)
class RecommendationParams:
    user_id: int
    k: int
    genres: tuple[str, ...]
    exclude_seen: bool


def _int(raw: str, loc: tuple[str, str], low: int, high: int, errors: list[dict[str, Any]]) -> int:
    text = raw.strip()
    if not (text.lstrip("+-").isdigit() and text.isascii()):
        errors.append({"type": "int_parsing", "loc": loc, "msg": "Input should be a valid integer", "input": raw})
        return 0
    value = int(text)
    if not low <= value <= high:
        errors.append(
            {"type": "out_of_range", "loc": loc, "msg": f"Input should be between {low} and {high}", "input": raw}
        )
    return value


def normalise_genres(names: Iterable[str]) -> tuple[str, ...]:
    """Genre filter names stripped, deduplicated and sorted, ignoring case (the first spelling kept),
    so that ``Drama,comedy`` and ``Comedy,Drama,drama`` are one filter (and one cache entry).

    Examples
    --------
    >>> normalise_genres([" Drama", "comedy", "", "Comedy", "drama "])
    ('comedy', 'Drama')
    """
    unique: dict[str, str] = {}
    for name in names:
        name = name.strip()
        if name:
            unique.setdefault(name.casefold(), name)
    return tuple(unique[key] for key in sorted(unique))


def parse_recommendation_params(path: Mapping[str, str], query: Mapping[str, str]) -> RecommendationParams:
    errors: list[dict[str, Any]] = []
    user_id = _int(path["user_id"], ("path", "user_id"), 1, MAX_ID, errors)
    k = _int(query.get("k", "10"), ("query", "k"), 1, 100, errors)
    genres_raw = query.get("genres") or ""
    if len(genres_raw) > 1000:
        errors.append(
            {
                "type": "string_too_long",
                "loc": ("query", "genres"),
                "msg": "String should have at most 1000 characters",
                "input": genres_raw[:50],
            }
        )
    exclude_raw = query.get("exclude_seen", "true").strip().lower()
    if exclude_raw not in TRUE | FALSE:
        errors.append(
            {
                "type": "bool_parsing",
                "loc": ("query", "exclude_seen"),
                "msg": "Input should be a valid boolean",
                "input": exclude_raw,
            }
        )
    if errors:
        raise RequestValidationError(errors)
    genres = normalise_genres(genres_raw.split(","))
    return RecommendationParams(user_id, k, genres, exclude_raw in TRUE)


RECOMMENDATION_PARAMETERS: list[dict[str, Any]] = [
    {"name": "user_id", "in": "path", "required": True, "description": "positive integer viewer id",
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}},
    {"name": "k", "in": "query", "required": False, "description": "number of items, 1..100",
     "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}},
    {"name": "genres", "in": "query", "required": False, "description": "comma-separated, any of",
     "schema": {"type": "string", "maxLength": 1000}},
    {"name": "exclude_seen", "in": "query", "required": False, "description": "drop titles the viewer saw",
     "schema": {"type": "boolean", "default": True}},
]  # fmt: skip
