"""A viewer's feed: GET /v1/recommendations/{user_id}, the route that carries the traffic.

Hand-parsed (:mod:`movierecs.serving.params`) and answered with a pre-rendered body, no
dependencies: FastAPI's parameter and response machinery would cost more than the model.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from movierecs import logs
from movierecs.serving.params import RECOMMENDATION_PARAMETERS, parse_recommendation_params
from movierecs.serving.runtime import Runtime
from movierecs.serving.schemas import RecommendationsOut

router = APIRouter()


@router.get(
    "/v1/recommendations/{user_id}",
    response_model=RecommendationsOut,
    tags=["recommendations"],
    openapi_extra={"parameters": RECOMMENDATION_PARAMETERS},
    responses={422: {"description": "bad user_id, k, genres or exclude_seen"}},
)
async def recommendations(request: Request) -> Response:
    """A viewer's feed. Unknown viewers get popularity (their segment's when demographics are known)."""
    p = parse_recommendation_params(request.path_params, request.query_params)
    runtime: Runtime = request.app.state.runtime
    feed = runtime.feed
    stored = runtime.stored
    if stored.needed(p.user_id):  # a viewer whose events since the watermark are not all in memory
        await stored.read(p.user_id)
    plan = feed.plan(p.user_id)
    profile = await runtime.profiles.get(p.user_id) if plan.route.needs_profile else None
    body = feed.recommendations_json(plan, p.k, p.genres, p.exclude_seen, profile)
    logs.user_id.set(p.user_id)
    logs.model_version.set(plan.live.version)
    return Response(body, media_type="application/json")
