"""A/B split between two model versions: stable arm per viewer, impressions and clicks per arm."""

from __future__ import annotations

import shutil
from pathlib import Path

from movierecs.domain.ab import CHALLENGER, CHAMPION, arm_for
from movierecs.events import Event, EventType
from movierecs.models.bundle import Bundle, load_bundle
from movierecs.serving.feed import Feed
from movierecs.serving.live import LiveModels
from movierecs.serving.metrics import ApiMetrics
from movierecs.serving.titles import Titles


def _copy_as(bundle_dir: Path, tmp_path: Path, version: str) -> Bundle:
    target = tmp_path / version
    shutil.copytree(bundle_dir, target)
    return load_bundle(target, version=version)


def _sample(metric: ApiMetrics, name: str, **labels: str) -> float:
    value = metric.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def _feed(champion: Bundle, metrics: ApiMetrics, **ab: object) -> Feed:
    models = LiveModels(champion, metrics, **ab)  # type: ignore[arg-type]
    return Feed(models, Titles(champion), metrics)


def test_arm_is_stable_and_splits_by_percent() -> None:
    arms = [arm_for(u, 30.0) for u in range(1, 5001)]
    assert arms == [arm_for(u, 30.0) for u in range(1, 5001)]
    share = arms.count(CHALLENGER) / len(arms)
    assert 0.27 < share < 0.33
    assert all(arm_for(u, 30.0, salt="other") in (CHAMPION, CHALLENGER) for u in range(10))
    assert [arm_for(u, 30.0, salt="other") for u in range(1, 200)] != arms[:199]


def test_viewers_get_their_arms_version_and_clicks_count_per_arm(bundle_dir: Path, tmp_path: Path) -> None:
    metrics = ApiMetrics()
    champion = _copy_as(bundle_dir, tmp_path, "1")
    challenger = _copy_as(bundle_dir, tmp_path, "2")
    feed = _feed(champion, metrics, challenger=challenger, challenger_percent=50.0)
    seen_arms = set()
    for user in range(1, 60):
        plan = feed.plan(user)
        feed.recommend(plan, 5, [], True, None)
        arm = arm_for(user, 50.0)
        seen_arms.add(arm)
        assert plan.live.version == ("2" if arm == CHALLENGER else "1")
        assert plan.arm == arm
        assert feed.models.for_viewer(user)[1] == arm
    assert seen_arms == {CHAMPION, CHALLENGER}
    assert _sample(metrics, "movierecs_impressions_total", model_version="2", arm=CHALLENGER) > 0
    assert _sample(metrics, "movierecs_impressions_total", model_version="1", arm=CHAMPION) > 0

    user = next(u for u in range(1, 60) if arm_for(u, 50.0) == CHALLENGER)
    _served, item_ids = feed.recommend(feed.plan(user), 5, [], True, None)
    item = int(item_ids[0])
    feed.apply_event(Event(user_id=user, item_id=item, type=EventType.like))
    assert _sample(metrics, "movierecs_clicks_total", model_version="2", arm=CHALLENGER) == 1.0
    assert _sample(metrics, "movierecs_clicks_total", model_version="1", arm=CHAMPION) == 0.0
    # a like on an item that was never shown to the viewer is no click
    feed.apply_event(Event(user_id=user, item_id=item + 10_000, type=EventType.like))
    assert _sample(metrics, "movierecs_clicks_total", model_version="2", arm=CHALLENGER) == 1.0


def test_without_challenger_everyone_is_champion(bundle: Bundle) -> None:
    models = LiveModels(bundle, ApiMetrics(), challenger_percent=50.0)
    assert {models.for_viewer(u)[1] for u in range(1, 100)} == {CHAMPION}
