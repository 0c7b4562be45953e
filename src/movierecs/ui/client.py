"""A small typed client of the HTTP API v1 (DESIGN.md §3), used by the Streamlit UI.

Short timeouts and no retries: the UI must answer within a second or say clearly why not. Every
failure is one of three named errors, so the UI can show a message instead of a traceback:

- :class:`ApiUnavailableError`: nothing answers at the URL (connection refused, DNS, reset);
- :class:`ApiTimeoutError`: the API did not answer within the timeout;
- :class:`ApiResponseError`: the API answered with an error status (``detail`` from its body) or
  with a body that does not have the documented shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self

import httpx

DEFAULT_TIMEOUT_S = 2.0

EventKind = Literal["like", "dislike", "watch", "rating", "click", "impression"]


class ApiError(Exception):
    """Base of every error the client raises; ``str()`` is a sentence fit for the UI."""


class ApiUnavailableError(ApiError):
    """Nothing answers at the API URL."""


class ApiTimeoutError(ApiError):
    """The API did not answer in time."""


class ApiResponseError(ApiError):
    """The API answered with an error status or an unexpected body."""

    def __init__(self, message: str, status_code: int | None = None, detail: Any = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.detail = detail


@dataclass(frozen=True)
class Item:
    """A catalog entry (search results)."""

    item_id: int
    title: str
    year: int | None = None
    genres: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """Title with its year, once (MovieLens titles often carry it already)."""
        if not self.year or self.title.rstrip().endswith(f"({self.year})"):
            return self.title
        return f"{self.title} ({self.year})"


@dataclass(frozen=True)
class ScoredItem(Item):
    """A recommended or similar title with its score and the reason it was picked."""

    score: float = 0.0
    reason: str = ""


@dataclass(frozen=True)
class Recommendations:
    user_id: int
    model_version: str
    strategy: str
    items: tuple[ScoredItem, ...]


@dataclass(frozen=True)
class Similar:
    item_id: int
    model_version: str
    items: tuple[ScoredItem, ...]


@dataclass(frozen=True)
class ModelInfo:
    model_version: str
    trained_at: str = ""
    watermark: str = ""
    dataset: str = ""
    n_users: int | None = None
    n_items: int | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)

    def metric_table(self) -> list[dict[str, Any]]:
        """Rows ``metric | model | baseline``: each model metric next to the popularity baseline's.

        Metrics come flat (``ndcg_at_10``, ``warm.ndcg_at_10``, ``baseline.ndcg_at_10``,
        ``baseline.warm.ndcg_at_10``); counts (``n_users``) are left out.
        """
        rows = []
        for name, value in self.metrics.items():
            if name.startswith("baseline.") or name.rsplit(".", 1)[-1].startswith("n_"):
                continue
            baseline = self.metrics.get(f"baseline.{name}")
            rows.append({"metric": name, "model": value, "baseline": baseline})
        return rows


def _detail(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict) and "detail" in body:
        return body["detail"]
    return body


def _detail_text(detail: Any) -> str:
    if isinstance(detail, list):  # FastAPI validation errors: [{"loc": [...], "msg": ...}, ...]
        parts = []
        for err in detail:
            if isinstance(err, dict):
                loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
                parts.append(f"{loc}: {err.get('msg', err)}" if loc else str(err.get("msg", err)))
            else:
                parts.append(str(err))
        return "; ".join(parts)
    return str(detail)


def _scored(raw: Mapping[str, Any]) -> ScoredItem:
    return ScoredItem(
        item_id=int(raw["item_id"]),
        title=str(raw.get("title") or f"item {raw['item_id']}"),
        year=int(raw["year"]) if raw.get("year") is not None else None,
        genres=tuple(raw.get("genres") or ()),
        score=float(raw.get("score") or 0.0),
        reason=str(raw.get("reason") or ""),
    )


def _item(raw: Mapping[str, Any]) -> Item:
    return Item(
        item_id=int(raw["item_id"]),
        title=str(raw.get("title") or f"item {raw['item_id']}"),
        year=int(raw["year"]) if raw.get("year") is not None else None,
        genres=tuple(raw.get("genres") or ()),
    )


class ApiClient:
    """Blocking client of the MovieRecs API; one instance per UI session (reuses connections)."""

    def __init__(
        self,
        base_url: str,
        timeout: float = DEFAULT_TIMEOUT_S,
        transport: httpx.BaseTransport | None = None,
        api_key: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        headers = {"User-Agent": "movierecs-ui"}
        if api_key:  # the API enforces keys (MOVIERECS_API_KEYS_FILE): the UI needs read and write
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout),
            transport=transport or httpx.HTTPTransport(retries=0),
            headers=headers,
        )

    # ------------------------------------------------------------------ plumbing
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise ApiTimeoutError(
                f"The API at {self.base_url} did not answer within {self.timeout:g} s ({method} {path})."
            ) from exc
        except httpx.TransportError as exc:
            raise ApiUnavailableError(
                f"Cannot reach the API at {self.base_url} ({type(exc).__name__}). Is `movierecs serve` running?"
            ) from exc
        if response.status_code >= 400:
            detail = _detail(response)
            raise ApiResponseError(
                f"The API refused {method} {path} ({response.status_code}): {_detail_text(detail)}",
                status_code=response.status_code,
                detail=detail,
            )
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise ApiResponseError(
                f"The API answered {method} {path} with a body that is not JSON.", response.status_code
            ) from exc

    def _get_dict(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        body = self._request("GET", path, params=params)
        if not isinstance(body, dict):
            raise ApiResponseError(f"Unexpected answer to GET {path}: expected a JSON object.")
        return body

    # ------------------------------------------------------------------ endpoints
    def health(self) -> bool:
        """True when ``/healthz`` answers 2xx."""
        self._request("GET", "/healthz")
        return True

    def recommendations(
        self,
        user_id: int,
        k: int = 10,
        genres: Iterable[str] = (),
        exclude_seen: bool = True,
    ) -> Recommendations:
        params: dict[str, Any] = {"k": k, "exclude_seen": str(exclude_seen).lower()}
        chosen = [g for g in genres if g]
        if chosen:
            params["genres"] = ",".join(chosen)
        path = f"/v1/recommendations/{int(user_id)}"
        body = self._get_dict(path, params)
        try:
            return Recommendations(
                user_id=int(body.get("user_id", user_id)),
                model_version=str(body.get("model_version", "")),
                strategy=str(body.get("strategy", "")),
                items=tuple(_scored(it) for it in body.get("items", [])),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ApiResponseError(f"Unexpected answer to GET {path}: {exc!r}") from exc

    def similar(self, item_id: int, k: int = 10) -> Similar:
        path = f"/v1/items/{int(item_id)}/similar"
        body = self._request("GET", path, params={"k": k})
        try:
            raw_items = body if isinstance(body, list) else body.get("items", [])
            meta = body if isinstance(body, dict) else {}
            return Similar(
                item_id=int(meta.get("item_id", item_id)),
                model_version=str(meta.get("model_version", "")),
                items=tuple(_scored(it) for it in raw_items),
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ApiResponseError(f"Unexpected answer to GET {path}: {exc!r}") from exc

    def search_items(self, query: str, limit: int = 20) -> list[Item]:
        body = self._get_dict("/v1/items", {"q": query, "limit": limit})
        try:
            return [_item(it) for it in body.get("items", [])]
        except (KeyError, TypeError, ValueError) as exc:
            raise ApiResponseError(f"Unexpected answer to GET /v1/items: {exc!r}") from exc

    def genres(self) -> list[str]:
        body = self._get_dict("/v1/genres")
        return [str(g) for g in body.get("genres", [])]

    def send_event(self, user_id: int, item_id: int, kind: EventKind, value: float | None = None) -> list[str]:
        """POST one event; returns the event ids the API assigned (202)."""
        event: dict[str, Any] = {"user_id": int(user_id), "item_id": int(item_id), "type": kind}
        if value is not None:
            event["value"] = float(value)
        body = self._request("POST", "/v1/events", json=event)
        if isinstance(body, dict):
            return [str(e) for e in body.get("event_ids", [])]
        return []

    def put_user(self, user_id: int, age: int | None, gender: str | None, occupation: str | None) -> dict[str, Any]:
        """Create or update a viewer's demographics (used for cold-start popularity)."""
        payload = {"age": age, "gender": gender, "occupation": occupation}
        body = self._request("PUT", f"/v1/users/{int(user_id)}", json=payload)
        return body if isinstance(body, dict) else {}

    def model_info(self) -> ModelInfo:
        body = self._get_dict("/v1/model")
        metrics = {
            str(k): float(v)
            for k, v in (body.get("metrics") or {}).items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
        return ModelInfo(
            model_version=str(body.get("model_version", "")),
            trained_at=str(body.get("trained_at") or ""),
            watermark=str(body.get("watermark") or ""),
            dataset=str(body.get("dataset") or ""),
            n_users=int(body["n_users"]) if body.get("n_users") is not None else None,
            n_items=int(body["n_items"]) if body.get("n_items") is not None else None,
            metrics=metrics,
        )

    def strategy_counts(self) -> dict[str, int]:
        body = self._get_dict("/v1/stats/strategies")
        return {str(k): int(v) for k, v in (body.get("counts") or {}).items()}
