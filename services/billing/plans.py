"""Plans (Free, Pro, Scholar), their limits, and the catalogue of what can be bought.

`PlanLimits` is what other features check: ingestion (books on the shelf, file size), chat (questions a
day, which model to ask). Everything comes from settings; nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from services.config import ServiceSettings

FREE = "free"
PRO = "pro"
SCHOLAR = "scholar"
PLANS: tuple[str, ...] = (FREE, PRO, SCHOLAR)
PAID_PLANS: tuple[str, ...] = (PRO, SCHOLAR)

STARS = "XTR"
RUB = "RUB"
PLAN_DAYS = 30  # a bought month; also Telegram's subscription_period (2592000 s)
SUBSCRIPTION_PERIOD_SECONDS = PLAN_DAYS * 24 * 3600


@dataclass(frozen=True, slots=True)
class PlanLimits:
    """What a plan allows. `models` maps an LLM provider to the model this plan asks it for; a provider
    missing from it uses its configured default model."""

    plan: str
    monthly_credits: int
    max_books: int
    max_file_mb: int
    questions_per_day: int
    models: Mapping[str, str] = field(default_factory=dict)

    @property
    def max_file_bytes(self) -> int:
        return self.max_file_mb * 1024 * 1024

    def allows_another_book(self, books_now: int) -> bool:
        return books_now < self.max_books

    def allows_file(self, size_bytes: int) -> bool:
        return size_bytes <= self.max_file_bytes

    def allows_question(self, questions_today: int) -> bool:
        return questions_today < self.questions_per_day

    def model_for(self, provider: str, default: str | None = None) -> str | None:
        """The model this plan uses at `provider` (None or `default`: the provider's own setting)."""
        return self.models.get(provider, default)


@dataclass(frozen=True, slots=True)
class Product:
    """Something for sale: a credit pack, or a month of a plan.

    `stars` is the price in Telegram Stars, `kopecks` by card. A plan bought with Stars is a monthly Star
    subscription; by card it is one month, bought again by hand.
    """

    code: str
    kind: str  # "pack" | "plan"
    credits: int
    stars: int
    kopecks: int
    plan: str | None = None

    @property
    def is_plan(self) -> bool:
        return self.kind == "plan"


class Catalog:
    """Plans and products as the settings define them."""

    def __init__(self, settings: ServiceSettings) -> None:
        cap = settings.max_file_mb
        self.limits: dict[str, PlanLimits] = {
            FREE: PlanLimits(
                FREE,
                settings.billing_free_monthly_credits,
                settings.billing_free_max_books,
                min(settings.billing_free_max_file_mb, cap),
                settings.billing_free_questions_per_day,
                dict(settings.billing_free_models),
            ),
            PRO: PlanLimits(
                PRO,
                settings.billing_pro_monthly_credits,
                settings.billing_pro_max_books,
                min(settings.billing_pro_max_file_mb, cap),
                settings.billing_pro_questions_per_day,
                dict(settings.billing_pro_models),
            ),
            SCHOLAR: PlanLimits(
                SCHOLAR,
                settings.billing_scholar_monthly_credits,
                settings.billing_scholar_max_books,
                min(settings.billing_scholar_max_file_mb, cap),
                settings.billing_scholar_questions_per_day,
                dict(settings.billing_scholar_models),
            ),
        }
        plans = [
            Product(f"plan_{PRO}", "plan", settings.billing_pro_monthly_credits, settings.billing_pro_stars,
                    settings.billing_pro_kopecks, PRO),
            Product(f"plan_{SCHOLAR}", "plan", settings.billing_scholar_monthly_credits,
                    settings.billing_scholar_stars, settings.billing_scholar_kopecks, SCHOLAR),
        ]  # fmt: skip
        packs = []
        for spec in settings.billing_packs:
            credits, stars, kopecks = (int(part) for part in spec.split(":"))
            packs.append(Product(f"pack_{credits}", "pack", credits, stars, kopecks))
        self.plans: list[Product] = plans
        self.packs: list[Product] = sorted(packs, key=lambda p: p.credits)
        self.products: dict[str, Product] = {p.code: p for p in [*plans, *self.packs]}

    def plan_limits(self, plan: str) -> PlanLimits:
        return self.limits.get(plan, self.limits[FREE])

    def product(self, code: str) -> Product | None:
        return self.products.get(code)
