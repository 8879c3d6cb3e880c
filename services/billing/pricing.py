"""What things cost in credits: answers (from recorded token usage), books indexed, summaries.

Prices live in settings as whole credits per 1M tokens [input, output], looked up by exact model name,
then the longest model prefix ("gpt-4o-mini-2024-07-18" -> "gpt-4o-mini"), then the provider name, then
the default price. Integer arithmetic throughout, rounded up.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from services.config import ServiceSettings

PER_MILLION = 1_000_000


class TokenUsage(Protocol):
    """What an answer's cost is computed from (services.llm.LLMUsage fits)."""

    @property
    def provider(self) -> str: ...

    @property
    def model(self) -> str: ...

    @property
    def input_tokens(self) -> int: ...

    @property
    def output_tokens(self) -> int: ...


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


class Pricing:
    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self._prices = {
            name.removeprefix("models/"): (int(p[0]), int(p[1]))
            for name, p in settings.billing_question_prices.items()
        }
        default = settings.billing_question_default_price
        self._default = (int(default[0]), int(default[1]))

    def price(self, provider: str, model: str) -> tuple[int, int]:
        """Credits per 1M tokens (input, output) for this model at this provider."""
        name = model.removeprefix("models/")
        if name in self._prices:
            return self._prices[name]
        prefixes = [known for known in self._prices if name.startswith(known + "-")]
        if prefixes:
            return self._prices[max(prefixes, key=len)]
        return self._prices.get(provider, self._default)

    def answer_credits(self, usage: TokenUsage | Sequence[TokenUsage] | None) -> int:
        """Credits for one answer: the tokens of every LLM call it took, at least the minimum price.

        No usage means the answer was extractive (quoted from the book without an LLM).
        """
        usages: Iterable[TokenUsage]
        if usage is None:
            usages = ()
        elif isinstance(usage, Sequence):
            usages = usage
        else:
            usages = (usage,)
        micro = 0
        called = False
        for item in usages:
            called = True
            price_in, price_out = self.price(item.provider, item.model)
            micro += max(0, item.input_tokens) * price_in + max(0, item.output_tokens) * price_out
        if not called:
            return self.settings.billing_extractive_answer_credits
        return max(self.settings.billing_question_min_credits, _ceil_div(micro, PER_MILLION))

    def answer_ceiling(self, models: Iterable[tuple[str, str]], input_tokens: int, output_tokens: int) -> int:
        """The most an answer of this size can cost at any of these (provider, model) pairs: what is held
        before the LLM is called and settled to the real price after."""
        prices = [self.price(provider, model) for provider, model in models] or [self._default]
        micro = max(max(0, input_tokens) * p_in + max(0, output_tokens) * p_out for p_in, p_out in prices)
        return max(self.settings.billing_question_min_credits, _ceil_div(micro, PER_MILLION))

    def question_estimate(self, llm_available: bool = True) -> int:
        """The least a question costs: what a user must have before asking."""
        if not llm_available:
            return self.settings.billing_extractive_answer_credits
        return self.settings.billing_question_min_credits

    def ingestion_credits(self, pages: int) -> int:
        """Indexing a book: the per-100-pages price for every started 100 pages (a book is at least one)."""
        return _ceil_div(max(1, pages), 100) * self.settings.billing_ingest_credits_per_100_pages

    def summary_credits(self) -> int:
        return self.settings.billing_summary_credits

    def needs_confirmation(self, credits: int) -> bool:
        """Dearer actions show their price and ask first."""
        return credits > self.settings.billing_confirm_above_credits
