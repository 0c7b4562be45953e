"""Named errors of the core. Messages say what to do; the edges (HTTP, CLI, operator) translate."""

from __future__ import annotations


class MovieRecsError(Exception):
    """Base class of every error the package raises on purpose."""


class DataError(MovieRecsError):
    """Input data is missing, malformed or inconsistent."""


class DatasetNotFoundError(DataError):
    """A dataset is not in the data dir and was not downloaded."""


class ChecksumMismatchError(DataError):
    """A downloaded file does not match its published checksum."""


class NotFittedError(MovieRecsError):
    """A model was used before ``fit``."""


class BundleValidationError(MovieRecsError):
    """A model bundle is inconsistent (shapes, id maps, metadata) and must not be served."""


class UnknownItemError(MovieRecsError):
    """An event or request names an item that is not in the catalog."""

    def __init__(self, item_ids: list[int]) -> None:
        self.item_ids = item_ids
        shown = ", ".join(map(str, item_ids[:10]))
        super().__init__(f"unknown item_id(s): {shown}; use ids from the catalog (GET /v1/items)")


class UnknownGenreError(MovieRecsError):
    """A genre filter names a genre the catalog does not have."""

    def __init__(self, unknown: list[str], valid: list[str]) -> None:
        self.unknown = unknown
        self.valid = valid
        super().__init__(f"unknown genre(s): {', '.join(unknown)}; valid genres: {', '.join(valid)}")


class BusUnavailableError(MovieRecsError):
    """The event bus did not acknowledge a publish; the caller must retry (nothing was dropped)."""


class StoreUnavailableError(MovieRecsError):
    """A store (ClickHouse, PostgreSQL, ...) cannot be reached."""


class RegistryError(MovieRecsError):
    """The model registry refused or failed an operation."""


class PromotionRefusedError(MovieRecsError):
    """The quality gate refused to promote a candidate model."""


class UnsupportedUrlError(MovieRecsError):
    """A store/bus URL has a scheme no adapter handles."""


class InvalidEventsError(DataError):
    """A request's events are malformed; ``errors`` lists each problem (pydantic's error shape)."""

    def __init__(self, errors: list[dict[str, object]]) -> None:
        self.errors = errors
        shown = "; ".join(
            f"{'.'.join(map(str, e.get('loc', ()))) or '(body)'}: {e.get('msg')}"  # type: ignore[call-overload]
            for e in errors[:5]
        )
        super().__init__(f"invalid events: {shown}")


class BatchTooLargeError(DataError):
    """More events in one request than allowed."""

    def __init__(self, size: int, limit: int) -> None:
        self.size, self.limit = size, limit
        super().__init__(f"batch of {size} events; send at most {limit} per request")


class BodyTooLargeError(MovieRecsError):
    """A request body is larger than the API accepts (413, detected while reading it)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"body over {limit} bytes")
