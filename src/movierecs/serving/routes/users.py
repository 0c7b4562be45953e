"""Viewers' demographics: PUT/GET /v1/users/{user_id}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path

from movierecs.serving.deps import ProfilesDep
from movierecs.serving.schemas import UserIn, UserOut

router = APIRouter()
UserId = Annotated[int, Path(ge=1, le=2**63 - 1, description="positive integer viewer id")]


@router.put("/v1/users/{user_id}", response_model=UserOut, tags=["users"])
async def put_user(user_id: UserId, body: UserIn, profiles: ProfilesDep) -> UserOut:
    """Set a viewer's demographics (used for cold-start segment popularity)."""
    await profiles.put(user_id, body.model_dump())
    return UserOut(user_id=user_id, **body.model_dump())


@router.get(
    "/v1/users/{user_id}",
    response_model=UserOut,
    tags=["users"],
    responses={404: {"description": "no demographics for this viewer"}},
)
async def get_user(user_id: UserId, profiles: ProfilesDep) -> UserOut:
    profile = await profiles.get(user_id)
    if profile is None:
        raise HTTPException(404, f"no demographics for user {user_id}")
    return UserOut(user_id=user_id, **{k: profile.get(k) for k in ("age", "gender", "occupation")})
