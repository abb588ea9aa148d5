"""Per-model prices and the cost of one call.

The shipped table (`prices.toml`, package data) holds list prices per million
tokens; callers override or extend it with a mapping, e.g. from settings, because
prices change more often than code. A dated model id is priced by the longest
table entry that prefixes it; an unknown model (typically a local server) costs 0.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from mge.errors import ConfigError

__all__ = ["Price", "PriceTable", "PricesInput", "load_prices"]


@dataclass(frozen=True, slots=True)
class Price:
    """US dollars per million tokens; `cache_write=None` means the input price."""

    input: float
    output: float
    cached_input: float
    cache_write: float | None = None

    def cost(
        self, *, input_tokens: int, output_tokens: int, cached_tokens: int, cache_write_tokens: int
    ) -> float:
        """Dollar cost; `input_tokens` includes the cached and cache-written ones."""
        write_price = self.input if self.cache_write is None else self.cache_write
        plain = max(input_tokens - cached_tokens - cache_write_tokens, 0)
        dollars = (
            plain * self.input
            + cached_tokens * self.cached_input
            + cache_write_tokens * write_price
            + output_tokens * self.output
        )
        return dollars / 1_000_000

    def worst_case(self, *, prompt_tokens: int, max_output_tokens: int) -> float:
        """The most a call can cost: every prompt token at the dearer of the plain
        and cache-write prices (a cache read only lowers it), and the whole output
        allowance at the output price."""
        prompt_price = max(self.input, self.cache_write or 0.0)
        return (prompt_tokens * prompt_price + max_output_tokens * self.output) / 1_000_000


PricesInput = Mapping[str, "Price | Mapping[str, Any]"]


def _price_from(name: str, raw: Price | Mapping[str, Any]) -> Price:
    if isinstance(raw, Price):
        return raw
    try:
        values = {
            "input": float(raw["input"]),
            "output": float(raw["output"]),
            "cached_input": float(raw.get("cached_input", raw["input"])),
        }
        write = raw.get("cache_write")
        price = Price(**values, cache_write=None if write is None else float(write))
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"price for model {name!r} needs numeric 'input' and 'output' "
            f"(optional 'cached_input', 'cache_write'): {exc}"
        ) from None
    if min(price.input, price.output, price.cached_input, price.cache_write or 0.0) < 0:
        raise ConfigError(f"price for model {name!r} is negative")
    return price


class PriceTable:
    """Model name → price, with longest-prefix matching for dated model ids."""

    def worst_case(self, model: str, *, prompt_tokens: int, max_output_tokens: int) -> float:
        """The most one call can cost (see `Price.worst_case`); 0.0 when unpriced."""
        price = self.lookup(model)
        if price is None:
            return 0.0
        return price.worst_case(prompt_tokens=prompt_tokens, max_output_tokens=max_output_tokens)

    def __init__(self, prices: Mapping[str, Price]) -> None:
        self._prices = dict(prices)

    def __contains__(self, model: object) -> bool:
        return isinstance(model, str) and self.lookup(model) is not None

    def lookup(self, model: str) -> Price | None:
        if model in self._prices:
            return self._prices[model]
        prefixes = [name for name in self._prices if model.startswith(name)]
        return self._prices[max(prefixes, key=len)] if prefixes else None

    def cost(
        self,
        model: str,
        *,
        input_tokens: int,
        output_tokens: int,
        cached_tokens: int = 0,
        cache_write_tokens: int = 0,
    ) -> float:
        """Dollar cost of one call; 0.0 for a model the table does not price."""
        price = self.lookup(model)
        if price is None:
            return 0.0
        return price.cost(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cached_tokens=cached_tokens,
            cache_write_tokens=cache_write_tokens,
        )


@cache
def _shipped() -> dict[str, Price]:
    text = resources.files("mge.llm").joinpath("prices.toml").read_text(encoding="utf-8")
    models = tomllib.loads(text)["models"]
    return {name: _price_from(name, raw) for name, raw in models.items()}


def load_prices(overrides: PricesInput | None = None) -> PriceTable:
    """The shipped table with `overrides` (name → Price or {input, output, ...}) on top."""
    table = dict(_shipped())
    for name, raw in (overrides or {}).items():
        table[name] = _price_from(name, raw)
    return PriceTable(table)
