"""The daily admin report of one whole day, rendered from Metrics results with the locale's messages."""

from __future__ import annotations

import html
from datetime import date

from locales.i18n import I18n
from services.analytics.metrics import FeatureUse, LLMCost, Overview


def render_report(
    i18n: I18n, locale: str, day: date, o: Overview, features: list[FeatureUse], costs: list[LLMCost]
) -> str:
    """`o` is the overview as of the end of `day` with "today" meaning that day."""
    t = i18n.get
    lines = [
        t(locale, "report-title", date=day.isoformat()),
        t(
            locale,
            "report-users",
            total=o.users_total,
            new=o.users_new_today,
            new_week=o.users_new_7d,
            dau=o.active.dau,
            wau=o.active.wau,
            mau=o.active.mau,
            blocked=o.blocked,
        ),
        t(locale, "report-books", ready=o.books_ready, failed=o.books_failed, pages=o.pages_indexed),
        t(locale, "report-questions", today=o.questions_today, month=o.questions_30d),
        t(
            locale,
            "report-revenue",
            stars=o.revenue_today.stars,
            rub=f"{o.revenue_today.rub:.2f}",
            stars_month=o.revenue_30d.stars,
            rub_month=f"{o.revenue_30d.rub:.2f}",
            refunds=o.revenue_30d.refunds,
        ),
        t(
            locale,
            "report-recurring",
            mrr_stars=o.recurring.mrr_stars,
            mrr_rub=f"{o.recurring.mrr_rub:.2f}",
            subscribers=o.recurring.subscribers,
            churn=f"{o.recurring.churn_rate * 100:.1f}",
        ),
        t(locale, "report-llm", today=f"{o.llm_cost_today_usd:.4f}", month=f"{o.llm_cost_30d_usd:.2f}"),
    ]
    if costs:
        lines.append(
            "\n".join(
                f"• {html.escape(c.provider)}/{html.escape(c.model)}: {c.calls} · ${c.cost_usd:.4f}"
                for c in costs
            )
        )
    if features:
        lines.append(t(locale, "report-features"))
        lines.append("\n".join(f"• {html.escape(f.feature)}: {f.count} ({f.users})" for f in features))
    return "\n".join(lines)
