"""Viewers' demographics, PUT/GET /v1/users/{user_id}, and the right to be forgotten, DELETE."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response

from movierecs.exceptions import BusUnavailableError
from movierecs.serving.deps import ProfilesDep, RuntimeDep
from movierecs.serving.render import json_response
from movierecs.serving.schemas import DOCUMENTED_MAX_ID, ForgottenOut, UserIn, UserOut

router = APIRouter()
UserId = Annotated[int, Path(ge=1, le=DOCUMENTED_MAX_ID, description="positive integer viewer id")]


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


@router.delete(
    "/v1/users/{user_id}",
    status_code=202,
    response_model=ForgottenOut,
    tags=["users"],
    responses={503: {"description": "event bus unavailable, nothing was deleted; retry after Retry-After seconds"}},
)
async def forget_user(user_id: UserId, runtime: RuntimeDep) -> Response:
    """Forget a viewer everywhere: their interactions in the store (and any replayed later), their
    demographics, the online state of every replica (a tombstone on the bus), and the next training
    extract. Afterwards GET /v1/users/{id} is 404 and the viewer gets the cold-start list."""
    try:
        await runtime.forget(user_id)
    except BusUnavailableError:
        raise HTTPException(503, "event bus unavailable, nothing was deleted", headers={"Retry-After": "5"}) from None
    return json_response({"user_id": user_id, "forgotten": True}, 202)
