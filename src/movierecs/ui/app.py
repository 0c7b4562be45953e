"""MovieRecs demo UI (Streamlit). Talks to the HTTP API v1 only; its URL is ``MOVIERECS_API_URL``.

Run it with ``movierecs ui`` (or ``streamlit run src/movierecs/ui/app.py``). Pages:

- **Recommendations**: pick a viewer (or create one with demographics), see the feed as cards, like
  or dislike a title: the event is posted, the script reruns and the feed reflects it at once;
- **Titles**: search the catalog by name and see the titles most similar to any of them;
- **Model**: the served version, offline metrics next to the popularity baseline, and the mix of
  strategies the API has served.

Every API call goes through :mod:`movierecs.ui.client` (2 s timeout, no retries); its named errors
become ``st.error`` / ``st.warning`` messages, never tracebacks.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pandas as pd
import streamlit as st
from pydantic import ValidationError

from movierecs.settings import Settings
from movierecs.ui.client import (
    ApiClient,
    ApiError,
    ApiTimeoutError,
    ApiUnavailableError,
    EventKind,
    Item,
    ScoredItem,
)

T = TypeVar("T")

PAGES = ("Recommendations", "Titles", "Model")
GENDERS = {"F": "female", "M": "male"}
OCCUPATIONS = (
    "administrator", "artist", "doctor", "educator", "engineer", "entertainment", "executive",
    "healthcare", "homemaker", "lawyer", "librarian", "marketing", "none", "other", "programmer",
    "retired", "salesman", "scientist", "student", "technician", "writer",
)  # fmt: skip
STRATEGIES = {
    "ials": "collaborative filtering (iALS) on this viewer's history",
    "ials_online": "iALS, folded in with this viewer's latest feedback",
    "popular_segment": "popular with viewers of the same age, gender and occupation",
    "popular": "popular overall (new viewer, nothing known yet)",
}
# Material Symbols ship with Streamlit (emoji need a system font that servers often lack)
ICON_APP = ":material/movie:"
ICON_ERROR = ":material/error:"
ICON_SLOW = ":material/hourglass_top:"
ICON_OK = ":material/check_circle:"
ICON_SIMILAR = ":material/manage_search:"
ICONS = {"like": ":material/thumb_up:", "dislike": ":material/thumb_down:"}
NEW_VIEWER_IDS = (100_000, 999_999)
MAX_USER_ID = 10**12
CARDS_PER_ROW = 3
_MD_SPECIAL = "\\`*_{}[]<>#|$~"


# ---------------------------------------------------------------------------------------- helpers
@st.cache_resource(show_spinner=False)
def _client(api_url: str) -> ApiClient:
    """One connection pool per API URL, shared by the sessions of this UI process; the key (read and
    write scopes) comes from ``MOVIERECS_API_KEY`` when the API enforces keys."""
    return ApiClient(api_url, api_key=os.environ.get("MOVIERECS_API_KEY") or None)


def api_url() -> str:
    """``Settings().api_url``; a malformed environment stops the page with a message."""
    try:
        return Settings().api_url
    except ValidationError as exc:
        st.error(f"Invalid MovieRecs settings in the environment: {exc}", icon=ICON_ERROR)
        st.stop()
        raise  # unreachable: st.stop() ends the run


def client() -> ApiClient:
    return _client(api_url())


def md(text: str) -> str:
    """Escape a catalog string for Markdown ($ would start LaTeX, * emphasis, ...)."""
    return "".join(f"\\{c}" if c in _MD_SPECIAL else c for c in text)


def show_api_error(exc: ApiError, what: str) -> None:
    """The one place API failures become messages: slow → warning, anything else → error."""
    if isinstance(exc, ApiTimeoutError):
        st.warning(f"The API is slow: could not load {what}. {exc} Try again in a moment.", icon=ICON_SLOW)
    else:
        st.error(f"Could not load {what}. {exc}", icon=ICON_ERROR)


def call(fn: Callable[[], T], what: str) -> T | None:
    """Run one API call; on failure show a message and return None."""
    try:
        return fn()
    except ApiError as exc:
        show_api_error(exc, what)
        return None


def flash(kind: str, text: str, icon: str | None = None) -> None:
    """Queue a message from a callback; shown at the top of the next run."""
    st.session_state["flash"] = (kind, text, icon)


def flash_api_error(exc: ApiError, what: str) -> None:
    flash("warning" if isinstance(exc, ApiTimeoutError) else "error", f"{what}. {exc}")


def show_flash() -> None:
    kind, text, icon = st.session_state.pop("flash", (None, "", None))
    if kind == "error":
        st.error(text, icon=icon or ICON_ERROR)
    elif kind == "warning":
        st.warning(text, icon=icon or ICON_SLOW)
    elif kind == "success":
        st.toast(text, icon=icon or ICON_OK)


@st.cache_data(ttl=300, show_spinner=False)
def _genres(api_url: str) -> list[str]:
    return _client(api_url).genres()


# -------------------------------------------------------------------------------------- callbacks
def on_feedback(user_id: int, item_id: int, kind: EventKind, title: str) -> None:
    """Like / dislike: POST the event; the rerun that follows fetches the updated feed."""
    try:
        client().send_event(user_id, item_id, kind)
    except ApiError as exc:
        flash_api_error(exc, f"Could not send your {kind}")
        return
    st.session_state["last_feedback"] = (kind, item_id, title)
    flash("success", f"{kind.capitalize()}d *{md(title)}*: recommendations updated", ICONS[kind])


def on_show_similar(item_id: int, title: str) -> None:
    st.session_state["similar_to"] = (item_id, title)
    st.session_state["page"] = "Titles"


def on_create_viewer() -> None:
    """PUT /v1/users/{id} with the form's demographics, then switch to that viewer."""
    ss = st.session_state
    wanted = int(ss.get("new_id") or 0)
    user_id = wanted if wanted > 0 else random.randint(*NEW_VIEWER_IDS)
    try:
        client().put_user(user_id, int(ss["new_age"]), ss["new_gender"], ss["new_occupation"])
    except ApiError as exc:
        flash_api_error(exc, "Could not create the viewer")
        return
    ss["user_id"] = user_id
    ss["page"] = "Recommendations"
    profile = f"{ss['new_age']}, {ss['new_gender']}, {ss['new_occupation']}"
    flash("success", f"Created viewer {user_id} ({profile}): popular picks for people like them")


# ------------------------------------------------------------------------------------------ views
def sidebar() -> int:
    """Navigation, viewer choice and the new-viewer form; returns the chosen viewer id."""
    st.sidebar.title(f"{ICON_APP} MovieRecs")
    st.sidebar.radio("Page", PAGES, key="page")
    st.sidebar.divider()
    st.sidebar.subheader("Viewer")
    user_id = int(
        st.sidebar.number_input(
            "Viewer id", min_value=1, max_value=MAX_USER_ID, step=1, key="user_id",
            help="Any id: known viewers get personal picks, unknown ones popular titles.",
        )
    )  # fmt: skip
    with st.sidebar.expander("New viewer"), st.form("new_viewer", clear_on_submit=False, border=False):
        st.number_input("Age", min_value=1, max_value=120, value=25, step=1, key="new_age")
        st.selectbox("Gender", GENDERS, key="new_gender", format_func=lambda g: GENDERS[g])
        st.selectbox("Occupation", OCCUPATIONS, index=OCCUPATIONS.index("student"), key="new_occupation")
        st.number_input("Id (0: pick an unused one)", min_value=0, max_value=MAX_USER_ID, value=0, step=1, key="new_id")
        st.form_submit_button("Create viewer", on_click=on_create_viewer)
    st.sidebar.divider()
    st.sidebar.caption(f"API: `{api_url()}`")
    return user_id


def like_buttons(user_id: int, item: ScoredItem | Item, prefix: str) -> None:
    st.button(
        "Like", icon=ICONS["like"], key=f"{prefix}like_{item.item_id}",
        on_click=on_feedback, args=(user_id, item.item_id, "like", item.title),
    )  # fmt: skip
    st.button(
        "Dislike", icon=ICONS["dislike"], key=f"{prefix}dislike_{item.item_id}",
        on_click=on_feedback, args=(user_id, item.item_id, "dislike", item.title),
    )  # fmt: skip


def similar_button(item: ScoredItem | Item, prefix: str) -> None:
    st.button(
        "Similar", icon=ICON_SIMILAR, key=f"{prefix}similar_{item.item_id}", type="tertiary",
        help=f"Titles similar to {item.label}", on_click=on_show_similar, args=(item.item_id, item.title),
    )  # fmt: skip


def card(user_id: int, item: ScoredItem, rank: int, is_new: bool, prefix: str = "") -> None:
    with st.container(border=True, key=f"{prefix}card_{item.item_id}"):
        badge = " :green-badge[new]" if is_new else ""
        st.markdown(f"**{rank}. {md(item.label)}**{badge}")
        st.caption(" · ".join(md(g) for g in item.genres) or "—")
        if item.reason:
            st.markdown(f"*{md(item.reason)}*")
        with st.container(horizontal=True, horizontal_alignment="distribute", vertical_alignment="center"):
            st.caption(f"score {item.score:.3f}", width="content")
            similar_button(item, prefix)
        with st.container(horizontal=True, gap="small"):
            like_buttons(user_id, item, prefix)


def card_grid(user_id: int, items: Sequence[ScoredItem], new_ids: set[int], prefix: str = "") -> None:
    for start in range(0, len(items), CARDS_PER_ROW):
        cols = st.columns(CARDS_PER_ROW)
        for col, (offset, item) in zip(cols, enumerate(items[start : start + CARDS_PER_ROW]), strict=False):
            with col:
                card(user_id, item, start + offset + 1, item.item_id in new_ids, prefix)


def recommendations_page(user_id: int) -> None:
    st.header(f"Recommendations for viewer {user_id}")
    api = client()
    try:
        genre_options = _genres(api.base_url)
    except (ApiTimeoutError, ApiUnavailableError) as exc:
        show_api_error(exc, "recommendations")  # one message, one timeout: the feed would fail too
        st.button("Retry", key="retry")
        return
    except ApiError:
        genre_options = []  # an API without /v1/genres: no genre filter
    c1, c2, c3 = st.columns([1, 3, 1], vertical_alignment="bottom")
    k = int(c1.number_input("How many", min_value=1, max_value=100, value=12, step=1, key="k"))
    genres = c2.multiselect("Genres", genre_options, key="genres", placeholder="any genre")
    exclude_seen = c3.toggle("Hide watched", value=True, key="exclude_seen")

    started = time.perf_counter()
    recs = call(lambda: api.recommendations(user_id, k=k, genres=genres, exclude_seen=exclude_seen),
                "recommendations")  # fmt: skip
    if recs is None:
        st.button("Retry", key="retry")
        return
    elapsed_ms = (time.perf_counter() - started) * 1000

    # Which titles are new since the previous run for this viewer (after a like, say)?
    previous = st.session_state.get("shown")
    ids = [it.item_id for it in recs.items]
    new_ids = set(ids) - set(previous[1]) if previous and previous[0] == user_id else set()
    st.session_state["shown"] = (user_id, ids)

    strategy_help = STRATEGIES.get(recs.strategy, recs.strategy)
    st.markdown(
        f"Strategy **`{recs.strategy}`** — {strategy_help} · model version **`{md(recs.model_version)}`**"
        f" · answered in {elapsed_ms:.0f} ms"
    )
    last = st.session_state.get("last_feedback")
    if last and new_ids:
        st.caption(f"{len(new_ids)} new title(s) since you {last[0]}d *{md(last[2])}*.")
    if not recs.items:
        st.info("No titles match these filters. Try other genres or show watched titles.")
        return
    card_grid(user_id, recs.items, new_ids)


def titles_page(user_id: int) -> None:
    st.header("Find titles")
    api = client()
    query = st.text_input("Search by title", key="q", placeholder="e.g. star wars")
    if query.strip():
        found = call(lambda: api.search_items(query.strip(), limit=20), "search results")
        if found is not None and not found:
            st.info(f"No title matches “{query}”.")
        for item in found or []:
            with st.container(border=True, key=f"hit_{item.item_id}"):
                st.markdown(f"**{md(item.label)}** · {' · '.join(md(g) for g in item.genres)}")
                with st.container(horizontal=True, gap="small"):
                    like_buttons(user_id, item, "hit_")
                    similar_button(item, "hit_")

    target = st.session_state.get("similar_to")
    if target is None:
        st.caption("Pick **Similar** on any title to see the titles closest to it.")
        return
    item_id, title = target
    st.subheader(f"Titles similar to {md(title)}")
    similar = call(lambda: api.similar(item_id, k=9), f"titles similar to {title}")
    if similar is None:
        return
    if not similar.items:
        st.info("The model knows no similar titles for this one (too few ratings).")
        return
    card_grid(user_id, similar.items, set(), prefix="sim_")


def model_page() -> None:
    st.header("Model")
    api = client()
    info = call(api.model_info, "the model's details")
    if info is not None:
        trained, watermark = (t[:19].replace("T", " ") for t in (info.trained_at, info.watermark))
        cols = st.columns(5)
        cols[0].metric("Version", info.model_version or "—")
        cols[1].metric("Trained at", trained[:10] or "—", help=info.trained_at or None)
        cols[2].metric("Data up to", watermark[:10] or "—", help=info.watermark or None)
        cols[3].metric("Viewers", f"{info.n_users or 0:,}")
        cols[4].metric("Titles", f"{info.n_items or 0:,}")
        st.caption(
            f"Trained {trained or 'at an unknown time'} on **{md(info.dataset or 'unknown data')}**, "
            f"interactions up to {watermark or '—'}."
        )
        st.subheader("Offline metrics vs. the popularity baseline")
        rows = info.metric_table()
        if rows:
            table = pd.DataFrame(rows, columns=["metric", "model", "baseline"])
            table["lift"] = table["model"] / table["baseline"].where(table["baseline"] != 0) - 1
            st.dataframe(
                table, hide_index=True, key="metrics_table", height=min(38 + 35 * len(table), 760),
                column_config={
                    "model": st.column_config.NumberColumn(format="%.4f"),
                    "baseline": st.column_config.NumberColumn(format="%.4f"),
                    "lift": st.column_config.NumberColumn(format="percent"),
                },
            )  # fmt: skip
        else:
            st.info("This model was registered without offline metrics.")

    st.subheader("Strategy mix served")
    counts = call(api.strategy_counts, "the strategy mix")
    if counts is None:
        return
    if not any(counts.values()):
        st.info("No recommendations served yet.")
        return
    counts = {**dict.fromkeys(STRATEGIES, 0), **counts}  # every strategy, served or not
    mix = pd.DataFrame({"strategy": list(counts), "requests": list(counts.values())})
    st.bar_chart(mix, x="strategy", y="requests", horizontal=True)
    st.caption(" · ".join(f"`{s}`: {STRATEGIES.get(s, s)}" for s in counts))


def main() -> None:
    st.set_page_config(page_title="MovieRecs", page_icon=ICON_APP, layout="wide")
    st.session_state.setdefault("page", PAGES[0])
    user_id = sidebar()
    show_flash()
    page = st.session_state["page"]
    views: dict[str, Callable[[], Any]] = {
        "Recommendations": lambda: recommendations_page(user_id),
        "Titles": lambda: titles_page(user_id),
        "Model": model_page,
    }
    views.get(page, views["Recommendations"])()


if __name__ == "__main__":
    main()
