"""Titles: similar titles, search by name, the genre list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response

from movierecs.serving.deps import FeedDep, TitlesDep
from movierecs.serving.schemas import DOCUMENTED_MAX_ID, GenresOut, ItemOut, ItemsOut, SimilarOut

router = APIRouter()
ItemId = Annotated[int, Path(ge=1, le=DOCUMENTED_MAX_ID, description="positive integer title id")]
K = Annotated[int, Query(ge=1, le=100, description="number of items, 1..100")]


@router.get(
    "/v1/items/{item_id}/similar",
    response_model=SimilarOut,
    tags=["items"],
    responses={404: {"description": "unknown item"}},
)
async def similar(item_id: ItemId, feed: FeedDep, k: K = 10) -> Response:
    """Titles closest to this one in the model's item factors."""
    if item_id not in feed.titles:
        raise HTTPException(404, f"item {item_id} is not in the catalog")
    return Response(feed.similar_json(item_id, k), media_type="application/json")


@router.get("/v1/items", response_model=ItemsOut, tags=["items"])
async def search_items(
    titles: TitlesDep,
    q: Annotated[str, Query(max_length=200, description="part of the title")] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ItemsOut:
    """Search titles by name."""
    return ItemsOut(
        items=[
            ItemOut(item_id=i, title=info.title, year=info.year, genres=info.genres)
            for i, info in titles.search(q, limit)
        ]
    )


@router.get("/v1/genres", response_model=GenresOut, tags=["items"])
async def genres(feed: FeedDep) -> GenresOut:
    return GenresOut(genres=feed.models.live.bundle.model.genre_names)
