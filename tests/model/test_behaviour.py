"""Behavioural tests on a model trained on ml-100k: tastes, cold start, fold-in, filters, similar titles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from movierecs.columns import Columns
from movierecs.data.container import RawData
from movierecs.domain.segments import segment_keys
from movierecs.domain.weighting import apply_weighting
from movierecs.exceptions import UnknownGenreError
from movierecs.models.hybrid import HybridRecommender

NEW_USER = 10**7  # not in ml-100k
STAR_WARS, EMPIRE, JEDI = 50, 172, 181


def idx(model: HybridRecommender, item_ids: list[int]) -> np.ndarray:
    out = model.items.to_internal(np.asarray(item_ids))
    assert (out >= 0).all()
    return out


def likes(model: HybridRecommender, item_ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    return idx(model, item_ids), np.ones(len(item_ids), dtype=np.float32)


# ---- a viewer's taste ------------------------------------------------------------------------------
def test_comedy_viewer_gets_mostly_comedies(trained: HybridRecommender, raw100k: RawData) -> None:
    items = raw100k.items.set_index(Columns.Item)
    counts = raw100k.interactions.groupby(Columns.Item).size()
    pure_comedies = [i for i, g in items[Columns.Genres].items() if g == ["Comedy"] and counts.get(i, 0) >= 30]
    liked = np.random.default_rng(0).choice(pure_comedies, size=20, replace=False).tolist()
    served = trained.serve(NEW_USER, k=10, online=likes(trained, liked))
    assert served.strategy == "ials_online"
    genres = [trained.item_genres(i) for i in served.items]
    n_comedies = sum("Comedy" in g for g in genres)
    assert n_comedies >= 6, list(zip(trained.titles[served.items], genres, strict=True))
    # the comedy share of the catalog is about a third: this is not what any list would get
    popular = trained.serve(NEW_USER, k=10)
    assert sum("Comedy" in trained.item_genres(i) for i in popular.items) < n_comedies


def test_reasons_name_a_liked_title(trained: HybridRecommender) -> None:
    served = trained.serve(NEW_USER, k=10, online=likes(trained, [STAR_WARS]))
    assert served.reasons == ["because you liked Star Wars (1977)"] * 10
    warm = trained.serve(1, k=10)
    assert warm.strategy == "ials"
    liked_titles = set(trained.titles[trained.user_history(0)[0]])
    for reason in warm.reasons:
        assert reason.startswith("because you liked ")
        assert reason.removeprefix("because you liked ") in liked_titles


# ---- cold start ------------------------------------------------------------------------------------
def segment_favourites(raw: RawData, profile: dict[str, object], n: int) -> list[int]:
    """The most-rated titles among users of the profile's most specific segment, from the raw data."""
    key = segment_keys(profile)[0]
    users = raw.users[[segment_keys(p)[0] == key for p in raw.users.to_dict("records")]]
    inter = raw.interactions[raw.interactions[Columns.User].isin(users[Columns.User])]
    return inter.groupby(Columns.Item).size().sort_values(ascending=False).index[:n].tolist()


PROFILES = [{"age": 15, "gender": "F"}, {"age": 30, "gender": "M"}, {"age": 60, "gender": "M"},
            {"age": 40, "gender": "F"}]  # fmt: skip


@pytest.mark.parametrize("profile", PROFILES)
def test_cold_viewer_with_demographics_gets_the_segments_favourites(
    trained: HybridRecommender, raw100k: RawData, profile: dict[str, object]
) -> None:
    served = trained.serve(NEW_USER, k=10, profile=profile)
    assert served.strategy == "popular_segment"
    assert served.reasons == ["popular with viewers like you"] * 10
    got = trained.items.to_external(served.items).tolist()
    # the same list as the model's own segment ranking ...
    seg = trained.popular.segment_of(profile)
    assert trained.popular.segment_names[seg] == segment_keys(profile)[0]
    assert (
        got == trained.items.to_external(np.argsort(-trained.popular.segment_scores[seg], kind="stable")[:10]).tolist()
    )
    # ... which are, recomputed from the raw ratings, among the segment's most-rated titles
    favourites = segment_favourites(raw100k, profile, 25)
    assert len(set(got) & set(favourites)) >= 8, (got, favourites)


def test_segments_differ_from_the_global_list(trained: HybridRecommender) -> None:
    global_list = trained.serve(NEW_USER, k=10).items.tolist()
    lists = [trained.serve(NEW_USER, k=10, profile=p).items.tolist() for p in PROFILES]
    assert any(lst != global_list for lst in lists)
    assert lists[0] != lists[2]  # teenage girls and men over 56 don't get the same list


def test_unknown_viewer_without_profile_gets_global_popularity(trained: HybridRecommender, raw100k: RawData) -> None:
    served = trained.serve(NEW_USER, k=5)
    assert served.strategy == "popular"
    most_rated = raw100k.interactions.groupby(Columns.Item).size().nlargest(5).index.tolist()
    assert trained.items.to_external(served.items).tolist() == most_rated
    reco = trained.recommend([NEW_USER], k=5)
    assert reco[Columns.Item].tolist() == most_rated


def test_known_user_demographics_are_used_when_the_model_has_no_vector(trained: HybridRecommender) -> None:
    # user 1 is in training: its stored profile picks the segment, but its history makes it iALS
    assert trained.serve(1, k=10).strategy == "ials"
    assert trained.popular.profiles[1]["age"] == 24


# ---- online fold-in --------------------------------------------------------------------------------
def test_brand_new_user_with_one_like_gets_personalised_results(trained: HybridRecommender) -> None:
    popular = trained.serve(NEW_USER, k=10).items.tolist()
    star_wars = trained.serve(NEW_USER, k=10, online=likes(trained, [STAR_WARS]))
    assert star_wars.strategy == "ials_online"
    assert star_wars.items.tolist() != popular
    assert idx(trained, [STAR_WARS])[0] not in star_wars.items
    # a different like gives a different list
    toy_story = trained.serve(NEW_USER, k=10, online=likes(trained, [1]))
    assert toy_story.items.tolist() != star_wars.items.tolist()
    # and the list follows the like: its sequels are right there
    assert set(idx(trained, [EMPIRE, JEDI])) <= set(star_wars.items.tolist())


@pytest.mark.parametrize("user", [1, 2, 34, 100, 500, 900])
def test_fold_in_moves_recommendations_toward_the_new_like(trained: HybridRecommender, user: int) -> None:
    n = len(trained.items)
    before = trained.serve(user, k=n)
    assert before.strategy == "ials"
    rank_before = {int(i): r for r, i in enumerate(before.items)}
    target = int(before.items[150])  # an unseen title the viewer is lukewarm about
    neighbours = [int(s) for s in trained.ials.similar(target, 30)[0] if int(s) in rank_before][:5]
    after = trained.serve(user, k=n, online=(np.array([target]), np.array([1.0], dtype=np.float32)))
    assert after.strategy == "ials_online"
    rank_after = {int(i): r for r, i in enumerate(after.items)}
    assert target not in rank_after  # a liked title is never recommended back
    assert np.mean([rank_after[s] for s in neighbours]) < np.mean([rank_before[s] for s in neighbours])
    vector_before = trained.ials.user_factors[trained.users.index_of(user)]
    vector_after = trained.fold_in_vector(user, (np.array([target]), np.array([1.0], dtype=np.float32)))
    y = trained.ials.item_factors[target]
    assert vector_after @ y > vector_before @ y


def test_fold_in_changes_the_top_of_the_list(trained: HybridRecommender) -> None:
    changed = 0
    for user in (2, 34, 100, 500, 900):
        before = trained.serve(user, k=10)
        target = int(trained.serve(user, k=151).items[150])
        after = trained.serve(user, k=10, online=(np.array([target]), np.array([1.0], dtype=np.float32)))
        changed += before.items.tolist() != after.items.tolist()
    assert changed >= 3


def test_fold_in_of_the_training_history_reproduces_the_user_vector(trained: HybridRecommender) -> None:
    # re-solving a trained user's vector from their own history converges to the trained one
    for user in (1, 100):
        u = trained.users.index_of(user)
        items, weights = trained.user_history(u)
        again = trained.ials.fold_in(items, weights)
        stored = trained.ials.user_factors[u]
        cos = again @ stored / (np.linalg.norm(again) * np.linalg.norm(stored))
        assert cos > 0.99


def test_a_dislike_pushes_similar_titles_down(trained: HybridRecommender) -> None:
    star_wars, empire, jedi = idx(trained, [STAR_WARS, EMPIRE, JEDI])
    liked = trained.fold_in_vector(NEW_USER, (np.array([star_wars]), np.array([1.0], dtype=np.float32)))
    # confidence is |alpha * w|: with alpha = 1 a weight of -1 weighs no more than "not seen"
    online = (np.array([star_wars, empire]), np.array([1.0, -5.0], dtype=np.float32))
    disliked = trained.fold_in_vector(NEW_USER, online)
    y = trained.ials.item_factors
    assert disliked @ y[empire] < liked @ y[empire]
    assert disliked @ y[jedi] < liked @ y[jedi]
    served = trained.serve(NEW_USER, k=20, online=online)
    assert empire not in served.items


def test_a_dislike_event_never_pulls_toward_the_title(trained: HybridRecommender) -> None:
    # events go through the model's own weighting, as the API does with online events
    def vector(types: list[str]) -> np.ndarray:
        events = pd.DataFrame(
            {
                Columns.User: NEW_USER,
                Columns.Item: [STAR_WARS, EMPIRE][: len(types)],
                Columns.Type: types,
                "value": np.nan,
                Columns.Datetime: pd.to_datetime([1, 2][: len(types)], unit="s"),
            }
        )
        weighted = apply_weighting(events, trained.config.weighting)
        online = (idx(trained, weighted[Columns.Item].tolist()), weighted[Columns.Weight].to_numpy())
        return trained.fold_in_vector(NEW_USER, online)

    empire = trained.ials.item_factors[idx(trained, [EMPIRE])[0]]
    liked_only = vector(["like"])
    assert vector(["like", "dislike"]) @ empire <= liked_only @ empire + 1e-6
    assert vector(["like", "like"]) @ empire > liked_only @ empire


# ---- filters and similar titles --------------------------------------------------------------------
@pytest.mark.parametrize(("user", "genre"), [(1, "Horror"), (NEW_USER, "horror"), (2, "Film-Noir")])
def test_genre_filter_returns_only_that_genre(trained: HybridRecommender, user: int, genre: str) -> None:
    mask = trained.genre_mask([genre])
    served = trained.serve(user, k=10, allowed=mask)
    assert len(served.items) == 10
    for i in served.items:
        assert genre.lower() in [g.lower() for g in trained.item_genres(i)]
    reco = trained.recommend([user], k=10, allowed=mask)
    assert reco[Columns.Item].tolist() == trained.items.to_external(served.items).tolist()


def test_several_genres_are_a_union(trained: HybridRecommender) -> None:
    mask = trained.genre_mask(["Western", "War"])
    assert mask.sum() == (trained.genre_mask(["Western"]) | trained.genre_mask(["War"])).sum()
    assert mask.sum() > trained.genre_mask(["Western"]).sum()


def test_unknown_genre_lists_the_valid_ones(trained: HybridRecommender) -> None:
    with pytest.raises(UnknownGenreError, match="unknown genre") as info:
        trained.genre_mask(["Comedy", "Space Opera"])
    assert info.value.unknown == ["Space Opera"]
    assert "Comedy" in info.value.valid
    assert "Sci-Fi" in str(info.value)
    assert "Comedy" in str(info.value).split("valid genres:")[1]


def test_similar_titles_of_star_wars(trained: HybridRecommender) -> None:
    sims, scores = trained.similar(STAR_WARS, 10)
    titles = trained.titles[sims].tolist()
    assert "Star Wars (1977)" not in titles
    assert any("Empire Strikes Back" in t or "Return of the Jedi" in t for t in titles), titles
    assert (np.diff(scores) <= 0).all()
    assert len(trained.similar(99_999, 10)[0]) == 0  # unknown item: nothing, no error


def test_similarity_is_not_just_popularity(trained: HybridRecommender) -> None:
    # the similar titles of a children's film and of a horror film share little
    toy_story = set(trained.similar(1, 10)[0].tolist())
    scream = set(trained.similar(288, 10)[0].tolist())
    assert len(toy_story & scream) <= 3


def test_serve_and_recommend_agree_for_warm_users(trained: HybridRecommender) -> None:
    users = [1, 2, 3, 4, 5]
    reco = trained.recommend(users, k=10)
    for user in users:
        served = trained.serve(user, k=10)
        got = reco[reco[Columns.User] == user][Columns.Item].tolist()
        assert got == trained.items.to_external(served.items).tolist()
        assert pd.Series(served.scores).is_monotonic_decreasing
