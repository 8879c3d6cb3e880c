"""The most shared quote cards: shares (cards sent) and views (deep links opened by others)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.render import escape
from handlers.admin.callbacks import MenuCb, Section
from handlers.admin.common import back_row, keyboard, leave_input, show
from services.cards.shares import Shared, top_shared

router = Router(name=__name__)
QUOTE_CHARS = 160


def top_quotes_text(i18n: Translator, quotes: list[Shared]) -> str:
    if not quotes:
        return i18n("admin-quotes-none")
    lines = [i18n("admin-quotes-title")]
    for n, q in enumerate(quotes, 1):
        text = " ".join(q.text.split())
        if len(text) > QUOTE_CHARS:
            text = text[:QUOTE_CHARS].rstrip() + "…"
        lines.append(
            i18n(
                "admin-quotes-line",
                n=n,
                shares=q.shares,
                views=q.views,
                title=escape(q.title),
                quote=escape(text),
                user=q.user_id,
                id=q.id,
            )
        )
    return "\n\n".join(lines)


@router.callback_query(MenuCb.filter(F.section == Section.QUOTES))
async def on_quotes(query: CallbackQuery, state: FSMContext, session: AsyncSession, i18n: Translator) -> None:
    await leave_input(state)
    await query.answer()
    quotes = await top_shared(session)
    await session.commit()
    await show(query, top_quotes_text(i18n, quotes), keyboard(back_row(i18n)))
