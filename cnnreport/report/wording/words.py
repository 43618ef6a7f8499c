"""Small pieces every sentence uses: a signed difference in words, a capital first letter, a
short list."""

from __future__ import annotations

from typing import Sequence

from cnnreport.formatting import pts_value


def by_points(x: float, more: str, less: str, same: str) -> str:
    """A signed difference of fractions in words chosen by its sign: '2.2 pts above',
    '0.1 pts below', or `same` when it prints as zero."""
    if round(100 * x, 2) == 0:
        return same
    return f"{pts_value(abs(x), False)} pts {more if x > 0 else less}"


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def listed(items: Sequence[str], limit: int = 4) -> str:
    """'a, b, c' — at most `limit` items, then 'and N more'."""
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def plural(n: int, word: str, suffix: str = "s") -> str:
    return f"{n} {word}{'' if n == 1 else suffix}"
