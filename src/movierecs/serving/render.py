"""JSON bodies of the list routes (recommendations and similar titles), rendered with orjson.

Both render their items with :func:`items`, so an item looks the same in every list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from fastapi import Response

from movierecs.serving.titles import ItemInfo


def items(
    item_ids: Sequence[int], scores: Sequence[float], reasons: Sequence[str], info: Mapping[int, ItemInfo]
) -> list[dict[str, Any]]:
    """One dict per item: id, score (6 decimals), title, year, genres and the reason it is listed."""
    return [
        {
            "item_id": i,
            "score": round(s, 6),
            "title": info[i].title,
            "year": info[i].year,
            "genres": info[i].genres,
            "reason": r,
        }
        for i, s, r in zip(item_ids, scores, reasons, strict=True)
    ]


def recommendations(
    user_id: int,
    version: str,
    strategy: str,
    item_ids: Sequence[int],
    scores: Sequence[float],
    reasons: Sequence[str],
    info: Mapping[int, ItemInfo],
) -> bytes:
    """The body of GET /v1/recommendations/{user_id} (``RecommendationsOut``)."""
    return orjson.dumps(
        {
            "user_id": user_id,
            "model_version": version,
            "strategy": strategy,
            "items": items(item_ids, scores, reasons, info),
        }
    )


def similar(
    item_id: int, version: str, item_ids: Sequence[int], scores: Sequence[float], info: Mapping[int, ItemInfo]
) -> bytes:
    """The body of GET /v1/items/{item_id}/similar (``SimilarOut``)."""
    reasons = [f"similar to {info[item_id].title}"] * len(item_ids)
    return orjson.dumps({"item_id": item_id, "model_version": version, "items": items(item_ids, scores, reasons, info)})


def json_response(payload: Any, status_code: int = 200) -> Response:
    """A JSON response rendered with orjson (faster than FastAPI's encoder for plain payloads)."""
    return Response(orjson.dumps(payload), status_code=status_code, media_type="application/json")
