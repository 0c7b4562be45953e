"""Column names shared by every frame that crosses a module boundary.

The interaction columns match :class:`rectools.Columns`, so frames go to rectools unchanged.
"""

from __future__ import annotations

from typing import Final


class Columns:
    """Names of the columns of interactions, items, users and recommendation frames."""

    User: Final = "user_id"
    Item: Final = "item_id"
    Weight: Final = "weight"
    Datetime: Final = "datetime"
    Rating: Final = "rating"
    Type: Final = "type"
    EventId: Final = "event_id"
    Score: Final = "score"
    Rank: Final = "rank"
    Title: Final = "title"
    Year: Final = "year"
    Genres: Final = "genres"
    Age: Final = "age"
    Gender: Final = "gender"
    Occupation: Final = "occupation"

    Interactions: Final = (User, Item, Weight, Datetime)
    Recommendations: Final = (User, Item, Rank, Score)
