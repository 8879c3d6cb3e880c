"""Admin messages agree with their numbers: Russian one/few/many forms (1, 2, 5, 21) and English one/other,
rendered from the locale files with every placeholder set to the number."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.i18n import I18n
from tests.test_foundation_i18n import _placeholders

NUMBERS = (1, 2, 5, 21)
I18N = I18n()


def ru(n: int, one: str, few: str, many: str) -> str:
    """The Russian form for n (enough for the numbers tested here)."""
    return {1: one, 2: few, 5: many, 21: one}[n]


def en(n: int, one: str, other: str) -> str:
    return one if n == 1 else other


# key -> what the text must contain, for each number, in each language
Expect = Callable[[int], list[str]]
CASES: dict[str, tuple[Expect, Expect]] = {
    "admin-error-insufficient": (
        lambda n: [f"{n} {ru(n, 'кредит', 'кредита', 'кредитов')}."],
        lambda n: [f"{n} {en(n, 'credit', 'credits')}."],
    ),
    "admin-overview": (
        lambda n: [
            f"в индексе {n} {ru(n, 'страница', 'страницы', 'страниц')}",
            f"({n} {ru(n, 'платёж', 'платежа', 'платежей')}, {n} {ru(n, 'возврат', 'возврата', 'возвратов')})",
            f"₽, {n} {ru(n, 'подписчик', 'подписчика', 'подписчиков')}",
        ],
        lambda n: [
            f"{n} {en(n, 'page', 'pages')} indexed",
            f"({n} {en(n, 'payment', 'payments')}, {n} {en(n, 'refund', 'refunds')})",
            f"{n} {en(n, 'subscriber', 'subscribers')}",
        ],
    ),
    "admin-users-found": (
        lambda n: [
            ru(n, f"найден {n} пользователь", f"найдено {n} пользователя", f"найдено {n} пользователей")
        ],
        lambda n: [f"{n} {en(n, 'user', 'users')} found"],
    ),
    "admin-card": (
        lambda n: [
            f"<b>{n}</b> {ru(n, 'кредит', 'кредита', 'кредитов')}",
            f"), {n} {ru(n, 'страница', 'страницы', 'страниц')} ·",
        ],
        lambda n: [f"<b>{n}</b> {en(n, 'credit', 'credits')}", f"), {n} {en(n, 'page', 'pages')} ·"],
    ),
    "admin-card-payment": (
        lambda n: [f"· {n} {ru(n, 'кредит', 'кредита', 'кредитов')}"],
        lambda n: [f"· {n} {en(n, 'credit', 'credits')}"],
    ),
    "admin-credits-done": (
        lambda n: [f"+{n} {ru(n, 'кредит', 'кредита', 'кредитов')},"],
        lambda n: [f"+{n} {en(n, 'credit', 'credits')},"],
    ),
    "admin-delete-done": (
        lambda n: [
            f"{n} {ru(n, 'книга', 'книги', 'книг')} и "
            f"{n} {ru(n, 'вопрос с ответом', 'вопроса с ответами', 'вопросов с ответами')}."
        ],
        lambda n: [
            f"{n} {en(n, 'book', 'books')}, {n} {en(n, 'question and answer', 'questions and answers')}."
        ],
    ),
    "admin-log-title": (
        lambda n: [f"({n} {ru(n, 'запись', 'записи', 'записей')})"],
        lambda n: [f"({n} {en(n, 'entry', 'entries')})"],
    ),
    "admin-bc-title": (
        lambda n: [f"({n} {ru(n, 'последняя', 'последние', 'последних')})"],
        lambda n: [f"(latest {n})"],
    ),
    "admin-bc-confirm": (
        lambda n: [f"<b>{n}</b> {ru(n, 'получатель', 'получателя', 'получателей')}."],
        lambda n: [f"<b>{n}</b> {en(n, 'recipient', 'recipients')}."],
    ),
    "admin-export-done-users": (
        lambda n: [f"{n} {ru(n, 'строка', 'строки', 'строк')}."],
        lambda n: [f"{n} {en(n, 'row', 'rows')}."],
    ),
    "admin-export-done-payments": (
        lambda n: [f"{n} {ru(n, 'строка', 'строки', 'строк')}."],
        lambda n: [f"{n} {en(n, 'row', 'rows')}."],
    ),
    "admin-book-file-gone": (
        lambda n: [f"хранятся {n} {ru(n, 'день', 'дня', 'дней')})"],
        lambda n: [f"kept {n} {en(n, 'day', 'days')})"],
    ),
    "billing-refund-done": (
        lambda n: [f"списано {n} из {n} {ru(n, 'кредита', 'кредитов', 'кредитов')}."],
        lambda n: [f"{n} of {n} {en(n, 'credit', 'credits')} taken back."],
    ),
}


def render(locale: str, key: str, n: int) -> str:
    names = _placeholders(locale)[key]
    values: dict[str, object] = {name: n for name in names}
    if key == "admin-credits-done":
        values["amount"] = f"+{n}"  # shown with its sign; `credits` picks the form
    return I18N.get(locale, key, **values)


@pytest.mark.parametrize("key", sorted(CASES))
@pytest.mark.parametrize("n", NUMBERS)
def test_admin_messages_agree_with_their_numbers(key: str, n: int) -> None:
    for locale, expect in zip(("ru", "en"), CASES[key], strict=True):
        text = render(locale, key, n)
        for part in expect(n):
            assert part in text, f"{locale}/{key} with {n}: {part!r} not in {text!r}"
