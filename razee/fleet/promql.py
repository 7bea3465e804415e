"""A cheap syntax check of PromQL at load time: balanced brackets and closed quotes.

A full PromQL parser lives only in Prometheus (Go); a query that is wrong in a finer way fails when it first runs,
and the agent reports Prometheus' own error as the check's result. Unbalanced brackets and quotes are the typos
people make when editing YAML, and they are caught here with the file and line.
"""

from __future__ import annotations

PAIRS = {"(": ")", "[": "]", "{": "}"}
QUOTES = ("'", '"', "`")


def balance_problem(query: str) -> str:
    """'' when brackets balance and quotes close (outside quotes); otherwise what is wrong and where."""
    stack: list[tuple[str, int]] = []
    quote: tuple[str, int] | None = None
    escaped = False
    for i, ch in enumerate(query):
        if quote is not None:
            if escaped:
                escaped = False
            elif ch == "\\" and quote[0] != "`":
                escaped = True
            elif ch == quote[0]:
                quote = None
            continue
        if ch in QUOTES:
            quote = (ch, i)
        elif ch in PAIRS:
            stack.append((ch, i))
        elif ch in PAIRS.values():
            if not stack or PAIRS[stack[-1][0]] != ch:
                return f"unexpected {ch!r} at column {i + 1}"
            stack.pop()
        elif ch == "#":  # a PromQL comment runs to the end of the line
            break
    if quote is not None:
        return f"quote {quote[0]} opened at column {quote[1] + 1} is never closed"
    if stack:
        return f"{stack[-1][0]!r} opened at column {stack[-1][1] + 1} is never closed"
    return ""
