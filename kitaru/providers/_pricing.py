"""A small built-in price table (USD per 1M tokens), so Kitaru can record the cost of a call."""

from __future__ import annotations

import re

__all__ = ["PRICES", "cost_usd", "price_for"]

# (input, output) USD per 1M tokens, list prices of well-known models. A dated snapshot
# ("gpt-4o-mini-2024-07-18", "claude-3-5-sonnet-20241022") matches its family by prefix.
PRICES: dict[str, dict[str, tuple[float, float]]] = {
    "openai": {
        "gpt-3.5-turbo": (0.50, 1.50),
        "gpt-4": (30.00, 60.00),
        "gpt-4-turbo": (10.00, 30.00),
        "gpt-4o": (2.50, 10.00),
        "gpt-4o-mini": (0.15, 0.60),
        "gpt-4.1": (2.00, 8.00),
        "gpt-4.1-mini": (0.40, 1.60),
        "gpt-4.1-nano": (0.10, 0.40),
        "gpt-5": (1.25, 10.00),
        "gpt-5-mini": (0.25, 2.00),
        "gpt-5-nano": (0.05, 0.40),
        "o1": (15.00, 60.00),
        "o1-mini": (1.10, 4.40),
        "o3": (2.00, 8.00),
        "o3-mini": (1.10, 4.40),
        "o4-mini": (1.10, 4.40),
    },
    "anthropic": {
        "claude-3-haiku": (0.25, 1.25),
        "claude-3-opus": (15.00, 75.00),
        "claude-3-5-haiku": (0.80, 4.00),
        "claude-3-5-sonnet": (3.00, 15.00),
        "claude-3-7-sonnet": (3.00, 15.00),
        "claude-haiku-4-5": (1.00, 5.00),
        "claude-sonnet-4": (3.00, 15.00),
        "claude-sonnet-4-5": (3.00, 15.00),
        "claude-opus-4": (15.00, 75.00),
        "claude-opus-4-1": (15.00, 75.00),
        "claude-opus-4-5": (5.00, 25.00),
    },
}


# What may follow a family name in a snapshot id: a date/version stamp, "latest", "preview".
_SNAPSHOT = re.compile(r"[-@](\d{4}(-?\d{2}){0,2}|latest|preview|v\d+(:\d+)?)")


def _lookup(table: dict[str, tuple[float, float]], name: str) -> tuple[float, float] | None:
    """Exact match, else the family whose name is followed only by a snapshot stamp."""
    if name in table:
        return table[name]
    for family, price in table.items():
        if name.startswith(family) and _SNAPSHOT.fullmatch(name[len(family) :]):
            return price
    return None


def price_for(provider: str, name: str) -> tuple[float, float] | None:
    """(input, output) USD per 1M tokens for a model, or None when it is not in the table."""
    if provider == "local":
        return (0.0, 0.0)
    if provider == "openrouter":  # "openai/gpt-4o-mini": billed at the vendor's list price
        vendor, _, name = name.partition("/")
        provider = vendor if vendor in PRICES else ""
        if provider == "anthropic":  # OpenRouter writes "claude-3.5-sonnet"
            name = name.replace(".", "-")
    table = PRICES.get(provider)
    return _lookup(table, name.lower()) if table else None


def cost_usd(
    provider: str, name: str, tokens_in: int | None, tokens_out: int | None
) -> float | None:
    """Cost of one call in USD from the price table; None if model or token counts are unknown."""
    price = price_for(provider, name)
    if price is None or tokens_in is None or tokens_out is None:
        return None
    return round((tokens_in * price[0] + tokens_out * price[1]) / 1_000_000, 10)
