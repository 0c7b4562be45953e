"""Connection URLs without their secrets: what an error message or a log line may show.

Store URLs may carry a password (``clickhouse://app:pw@host:9000/db``, ``postgresql://app:pw@host/db``,
``?password=...``). Every message that names a URL goes through :func:`redact`.
"""

from __future__ import annotations

import re

_QUERY_SECRET = re.compile(r"(?i)([?&](?:password|passwd|pwd|secret|token|sslpassword)=)[^&#]*")


def redact(url: str) -> str:
    """``scheme://user:***@host/...``: the URL with any password (userinfo or query) masked.

    Examples
    --------
    >>> redact("clickhouse://app:s3cret@ch:9000/movierecs")
    'clickhouse://app:***@ch:9000/movierecs'
    >>> redact("postgresql://app@pg:5432/db?password=s3cret&sslmode=require")
    'postgresql://app@pg:5432/db?password=***&sslmode=require'
    >>> redact("chdb:///tmp/x")
    'chdb:///tmp/x'
    """
    url = _QUERY_SECRET.sub(r"\1***", url)
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    # the last "@" before the query: a password may hold an unescaped "/" or "@"
    head, q, query = rest.partition("?")
    creds, at, tail = head.rpartition("@")
    if not at or ":" not in creds:
        return url
    user = creds.partition(":")[0]
    return f"{scheme}://{user}:***@{tail}{q}{query}"


__all__ = ["redact"]
