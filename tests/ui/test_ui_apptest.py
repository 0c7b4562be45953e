"""The Streamlit script driven by ``streamlit.testing.v1.AppTest`` against the REAL API.

Each test uses its own viewer id, so the order of the tests (and the browser test) doesn't matter.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from movierecs.ui.launch import APP_PATH

UseApi = Callable[[str], str]

pytestmark = pytest.mark.timeout(60)


def start(use_api: UseApi, url: str) -> AppTest:
    use_api(url)
    at = AppTest.from_file(str(APP_PATH), default_timeout=15)
    at.run()
    assert not at.exception, at.exception
    return at


def feed_ids(at: AppTest) -> list[int]:
    """Item ids of the cards on the page, in rank order (from the keys of their Like buttons)."""
    return [int(b.key.removeprefix("like_")) for b in at.button if b.key and b.key.startswith("like_")]


def assert_clean(at: AppTest) -> None:
    """No exception (traceback element) and no error or warning message on the page."""
    assert not at.exception, at.exception
    problems = [e.value for e in [*at.error, *at.warning]]
    assert not problems, problems


def test_select_viewer_like_first_title_changes_feed(api_url: str, use_api: UseApi) -> None:
    at = start(use_api, api_url)
    at.sidebar.number_input(key="user_id").set_value(5).run()
    assert_clean(at)
    before = feed_ids(at)
    assert len(before) >= 5, "expected a feed of cards for viewer 5"
    header = at.header[0].value
    assert header == "Recommendations for viewer 5"
    strategy_line = at.markdown[0].value
    assert "Strategy" in strategy_line
    assert "model version" in strategy_line

    liked = before[0]
    at.button(key=f"like_{liked}").click().run()

    assert_clean(at)
    after = feed_ids(at)
    assert after, "the feed disappeared after a like"
    assert liked not in after, f"liked title {liked} is still recommended: {after}"
    assert after != before
    assert "ials_online" in at.markdown[0].value  # the feedback was folded in
    assert any("Liked" in t.value for t in at.toast)


def test_dislike_removes_title(api_url: str, use_api: UseApi) -> None:
    at = start(use_api, api_url)
    at.sidebar.number_input(key="user_id").set_value(7).run()
    before = feed_ids(at)
    at.button(key=f"dislike_{before[1]}").click().run()
    assert_clean(at)
    assert before[1] not in feed_ids(at)


def test_new_viewer_gets_segment_popularity(api_url: str, use_api: UseApi) -> None:
    at = start(use_api, api_url)
    new_id = random.randint(500_000, 900_000)
    at.number_input(key="new_age").set_value(31)
    at.selectbox(key="new_gender").set_value("F")
    at.selectbox(key="new_occupation").set_value("programmer")
    at.number_input(key="new_id").set_value(new_id)
    at.button[[b.label for b in at.button].index("Create viewer")].click().run()

    assert_clean(at)
    assert at.session_state["user_id"] == new_id
    assert at.header[0].value == f"Recommendations for viewer {new_id}"
    assert "popular_segment" in at.markdown[0].value
    assert feed_ids(at)
    profile = httpx.get(f"{api_url}/v1/recommendations/{new_id}?k=1", timeout=5).json()
    assert profile["strategy"] == "popular_segment"


def test_search_and_similar_titles(api_url: str, use_api: UseApi) -> None:
    at = start(use_api, api_url)
    at.sidebar.radio(key="page").set_value("Titles").run()
    at.text_input(key="q").input("star wars").run()
    assert_clean(at)
    assert any("Star Wars" in m.value for m in at.markdown)
    at.button(key="hit_similar_50").click().run()  # Star Wars (1977) is item 50 in ml-100k
    assert_clean(at)
    assert at.subheader[0].value.startswith("Titles similar to Star Wars")
    similar = [b.key for b in at.button if b.key and b.key.startswith("sim_like_")]
    assert similar
    assert "sim_like_50" not in similar


def test_similar_from_a_card_opens_titles_page(api_url: str, use_api: UseApi) -> None:
    at = start(use_api, api_url)
    first = feed_ids(at)[0]
    at.button(key=f"similar_{first}").click().run()
    assert at.session_state["page"] == "Titles"
    assert at.subheader[0].value.startswith("Titles similar to")
    assert_clean(at)


def test_model_page_metrics_and_strategy_mix(api_url: str, use_api: UseApi) -> None:
    httpx.get(f"{api_url}/v1/recommendations/3?k=3", timeout=5)  # at least one served
    at = start(use_api, api_url)
    at.sidebar.radio(key="page").set_value("Model").run()
    assert_clean(at)
    labels = {m.label: m.value for m in at.metric}
    assert {"Version", "Trained at", "Data up to"} <= set(labels)
    table = at.dataframe[0].value
    assert list(table.columns[:3]) == ["metric", "model", "baseline"]
    ndcg = table.set_index("metric").loc["ndcg_at_10"]
    assert ndcg["model"] > ndcg["baseline"] > 0
    assert not any(str(m).startswith("baseline.") for m in table["metric"])
    assert [s.value for s in at.main.subheader][-1] == "Strategy mix served"
    assert not at.info, "the strategy mix should have data after a served request"


@pytest.mark.parametrize("page", ["Recommendations", "Titles", "Model"])
def test_api_down_shows_error_not_traceback(dead_url: str, use_api: UseApi, page: str) -> None:
    at = start(use_api, dead_url)
    at.sidebar.radio(key="page").set_value(page).run()
    if page == "Titles":
        at.text_input(key="q").input("star").run()
    assert not at.exception
    assert at.error, "expected an error message when the API is down"
    assert "Cannot reach the API" in at.error[0].value


def test_api_down_during_like_shows_error(api_url: str, dead_url: str, use_api: UseApi) -> None:
    at = start(use_api, api_url)
    first = feed_ids(at)[0]
    use_api(dead_url)
    at.button(key=f"like_{first}").click().run()
    assert not at.exception
    assert any("Could not send your like" in e.value for e in at.error)


def test_slow_api_shows_warning(silent_url: str, use_api: UseApi) -> None:
    at = start(use_api, silent_url)
    assert not at.exception
    assert at.warning
    assert "slow" in at.warning[0].value


def test_bad_settings_show_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOVIERECS_NUM_THREADS", "-1")  # fails Settings validation
    at = AppTest.from_file(str(APP_PATH), default_timeout=15).run()
    assert not at.exception
    assert "Invalid MovieRecs settings" in at.error[0].value
