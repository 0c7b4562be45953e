"""The serving holders without HTTP: one routing decision per request, the response cache's
invalidation (a viewer's event, a demographics change, a reload), click attribution, titles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from movierecs.events import Event, EventType
from movierecs.exceptions import UnknownItemError
from movierecs.models.bundle import Bundle
from movierecs.serving.cache import CachedList, ResponseCache
from movierecs.serving.feed import Feed
from movierecs.serving.live import Live, LiveModels
from movierecs.serving.metrics import ApiMetrics
from movierecs.serving.profiles import Profiles
from movierecs.serving.titles import Titles
from movierecs.serving.tracking import ServedTracker

WARM, COLD = 1, 900_001


def _feed(bundle: Bundle, **kwargs: Any) -> Feed:
    metrics = ApiMetrics()
    return Feed(LiveModels(bundle, metrics, **kwargs), Titles(bundle), metrics)


def test_plan_computes_the_arm_once_and_merges_history_once(bundle: Bundle, monkeypatch: pytest.MonkeyPatch) -> None:
    feed = _feed(bundle, challenger=bundle, challenger_percent=50.0)
    arms = {"n": 0}
    histories = {"n": 0}
    for_viewer, history = feed.models.for_viewer, feed.online.history

    def count_arm(user_id: int) -> tuple[Live, str]:
        arms["n"] += 1
        return for_viewer(user_id)

    def count_history(*args: Any) -> tuple[np.ndarray, np.ndarray]:
        histories["n"] += 1
        return history(*args)

    monkeypatch.setattr(feed.models, "for_viewer", count_arm)
    monkeypatch.setattr(feed.online, "history", count_history)
    feed.apply_event(Event(user_id=COLD, item_id=50, type=EventType.like))
    plan = feed.plan(COLD)
    feed.recommendations_json(plan, 10, (), True, None)
    assert (arms["n"], histories["n"]) == (1, 1)
    assert plan.route.strategy == "ials_online"
    assert not plan.route.needs_profile
    # the next request reuses the folded-in route: no second history read
    feed.recommendations_json(feed.plan(COLD), 10, (), True, None)
    assert (arms["n"], histories["n"]) == (2, 1)


def test_route_decides_ials_online_or_popularity(bundle: Bundle) -> None:
    feed = _feed(bundle)
    assert feed.plan(WARM).route.strategy == "ials"
    cold = feed.plan(COLD).route
    assert cold.strategy == "popular"
    assert cold.needs_profile
    served, _ids = feed.recommend(feed.plan(COLD), 5, (), True, {"age": 25, "gender": "M", "occupation": "student"})
    assert served.strategy == "popular_segment"


def test_response_cache_drops_a_viewer_on_their_event_and_everyone_on_reload(bundle: Bundle) -> None:
    feed = _feed(bundle)
    first = feed.recommendations_json(feed.plan(WARM), 10, (), True, None)
    feed.recommendations_json(feed.plan(COLD), 10, (), True, None)
    assert WARM in feed.cache
    assert COLD in feed.cache
    assert feed.recommendations_json(feed.plan(WARM), 10, (), True, None) is first  # served from the cache

    feed.apply_event(Event(user_id=WARM, item_id=50, type=EventType.like))
    assert WARM not in feed.cache
    assert COLD in feed.cache
    assert feed.recommendations_json(feed.plan(WARM), 10, (), True, None) is not first

    feed.forget_user(COLD)  # demographics changed
    assert COLD not in feed.cache

    feed.recommendations_json(feed.plan(COLD), 10, (), True, None)
    version, previous = _run(feed.reload(lambda: bundle))
    assert (version, previous) == (bundle.version, bundle.version)
    assert len(feed.cache) == 0


def test_cache_entry_answers_only_for_its_model(bundle: Bundle) -> None:
    cache = ResponseCache(max_users=2)
    live, other = Live.of(bundle), Live.of(bundle)
    cache.put(1, ("k",), CachedList(live, b"{}", "ials", np.array([1])))
    assert cache.get(1, ("k",), live) is not None
    assert cache.get(1, ("k",), other) is None
    cache.put(2, ("k",), CachedList(live, b"{}", "ials", np.array([1])))
    cache.put(3, ("k",), CachedList(live, b"{}", "ials", np.array([1])))
    assert 1 not in cache
    assert len(cache) == 2
    assert len(ResponseCache(max_users=0)) == 0


def test_clicks_count_within_24h_of_the_impression() -> None:
    metrics = ApiMetrics()
    shown_at = datetime(2024, 1, 1, tzinfo=UTC)
    tracker = ServedTracker(metrics, clock=lambda: shown_at)
    tracker.served(7, "ials", np.array([10, 11]), "v1", "champion")
    assert tracker.strategy_counts["ials"] == 1

    def clicks() -> float:
        labels = {"model_version": "v1", "arm": "champion"}
        return metrics.registry.get_sample_value("movierecs_clicks_total", labels) or 0.0

    tracker.interacted(Event(user_id=7, item_id=10, type=EventType.dislike, ts=shown_at))  # not a click type
    tracker.interacted(Event(user_id=7, item_id=10, type=EventType.like, ts=shown_at + timedelta(hours=1)))
    tracker.interacted(Event(user_id=7, item_id=10, type=EventType.like, ts=shown_at + timedelta(hours=2)))  # again
    tracker.interacted(Event(user_id=7, item_id=11, type=EventType.watch, ts=shown_at + timedelta(hours=25)))
    assert clicks() == 1.0


def test_titles_check_and_search(bundle: Bundle) -> None:
    titles = Titles(bundle)
    first = int(bundle.model.items.external[0])
    titles.check([first])
    with pytest.raises(UnknownItemError):
        titles.check([first, 10**9])
    name = titles.info[first].title
    assert titles.search(name[:4], 5)[0][1].title.lower().startswith(name[:4].lower())


def test_profiles_fall_back_to_the_model_and_notify_on_change(bundle: Bundle) -> None:
    changed: list[int] = []
    profiles = Profiles(None, LiveModels(bundle, ApiMetrics()), on_change=changed.append)
    assert _run(profiles.get(COLD)) is None
    known = next(iter(bundle.model.popular.profiles))
    assert _run(profiles.get(known)) == dict(bundle.model.popular.profiles[known])
    _run(profiles.put(COLD, {"age": 30, "gender": "F", "occupation": None}))
    assert changed == [COLD]
    assert _run(profiles.get(COLD)) == {"age": 30, "gender": "F", "occupation": None}


def _run(coro: Any) -> Any:
    import asyncio

    return asyncio.run(coro)


def test_an_online_viewer_whose_likes_carry_no_factors_gets_their_segment(ml100k_dir: Any) -> None:
    """A fold-in from titles without factors leaves popularity; the viewer's demographics must then
    pick the list (the first release skipped the profile lookup for any viewer with online events)."""
    from movierecs.data.loaders import load_dataset
    from movierecs.domain.weighting import Weighting
    from movierecs.models.hybrid import HybridConfig, HybridRecommender
    from movierecs.models.trainset import TrainingSet

    config = HybridConfig(weighting=Weighting(scheme="positive"))  # titles only rated below 3.5 get no factors
    model = HybridRecommender(config).fit(TrainingSet.from_raw(load_dataset("ml-100k", ml100k_dir), config.weighting))
    no_factors = np.flatnonzero(~model.ials.item_factors.any(axis=1))
    assert len(no_factors), "ml-100k has titles that nobody rated 4 or 5"
    feed = _feed(Bundle(model, {}))
    feed.apply_event(Event(user_id=COLD, item_id=int(model.items.external[no_factors[0]]), type=EventType.like))
    plan = feed.plan(COLD)
    assert plan.route.needs_profile
    profile = {"age": 25, "gender": "F", "occupation": "student"}
    body = feed.recommendations_json(plan, 10, (), True, profile)
    assert b'"strategy":"popular_segment"' in body
    assert b'"strategy":"popular"' in feed.recommendations_json(plan, 10, (), True, None)
