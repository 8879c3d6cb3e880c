"""Users: search, newest, the user card, and its actions (credits, plan, role, ban, delete data, log)."""

from __future__ import annotations

import secrets

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.i18n import Translator
from bot.render import escape
from db.models import User
from handlers.admin.callbacks import MenuCb, Section, UserAction, UserCb
from handlers.admin.commands import update_admin_commands
from handlers.admin.common import (
    PAGE_SIZE,
    Keyboard,
    back_row,
    button,
    clamp_page,
    error_text,
    keyboard,
    leave_input,
    pager,
    person,
    person_plain,
    show,
    when,
)
from handlers.admin.states import CreditsInput, UserSearchInput
from services.admin.actor import Actor, AdminError
from services.admin.roles import Role, can_set_role, outranks
from services.admin.service import AdminService
from services.admin.users import UserCard, parse_credit_amount
from services.billing.plans import PLANS

router = Router(name=__name__)

FOUND_KEY = "admin_found"
CREDITS_KEY = "admin_credits"
NOT_A_COMMAND = ~F.text.startswith("/")


# --- lists -------------------------------------------------------------------------------------------


def users_list_keyboard(
    i18n: Translator, users: list[User], page: int, total: int, action: UserAction
) -> Keyboard:
    rows = [
        [
            button(
                person_plain(u.id, u.first_name, u.last_name, u.username)[:60],
                UserCb(action=UserAction.CARD, user_id=u.id),
            )
        ]
        for u in users
    ]
    return keyboard(
        *rows,
        pager(page, total, lambda p: UserCb(action=action, page=p)),
        [button(i18n("admin-users-button-find"), UserCb(action=UserAction.FIND))],
        back_row(i18n, MenuCb(section=Section.USERS)),
    )


@router.callback_query(MenuCb.filter(F.section == Section.USERS))
async def on_users(query: CallbackQuery, state: FSMContext, session: AsyncSession, i18n: Translator) -> None:
    await leave_input(state)
    await query.answer()
    total = int(await session.scalar(select(func.count(User.id))) or 0)
    await show(
        query,
        i18n("admin-users-title", total=total),
        keyboard(
            [
                button(i18n("admin-users-button-find"), UserCb(action=UserAction.FIND)),
                button(i18n("admin-users-button-newest"), UserCb(action=UserAction.NEWEST)),
            ],
            back_row(i18n),
        ),
    )


@router.callback_query(UserCb.filter(F.action == UserAction.NEWEST))
async def on_newest(
    query: CallbackQuery,
    callback_data: UserCb,
    state: FSMContext,
    session: AsyncSession,
    admin: AdminService,
    i18n: Translator,
) -> None:
    await leave_input(state)
    await query.answer()
    page = clamp_page(callback_data.page, await admin.users.count(session))
    users, total = await admin.users.newest(session, offset=page * PAGE_SIZE, limit=PAGE_SIZE)
    await show(
        query,
        i18n("admin-users-newest", total=total),
        users_list_keyboard(i18n, users, page, total, UserAction.NEWEST),
    )


@router.callback_query(UserCb.filter(F.action == UserAction.FIND))
async def on_find(query: CallbackQuery, state: FSMContext, i18n: Translator) -> None:
    await state.set_state(UserSearchInput.query)
    await query.answer()
    await show(
        query,
        i18n("admin-users-find-prompt"),
        keyboard(back_row(i18n, MenuCb(section=Section.USERS), "admin-button-cancel")),
    )


async def send_search_results(
    message: Message,
    text: str,
    state: FSMContext,
    session: AsyncSession,
    admin: AdminService,
    actor: Actor,
    i18n: Translator,
) -> None:
    """Search and answer with the results (kept in the FSM data for paging), or the card when the
    query named exactly one user by id or username."""
    matches = await admin.search.search(session, text)
    await state.set_state(None)
    await state.update_data({FOUND_KEY: [m.user_id for m in matches]})
    if len(matches) == 1 and matches[0].score >= 3:
        card = await admin.users.card(session, matches[0].user_id)
        if card is not None:
            await message.answer(
                card_text(i18n, card), reply_markup=card_keyboard(i18n, card, actor.role, actor.id)
            )
            return
    users = await _users_by_ids(session, [m.user_id for m in matches[:PAGE_SIZE]])
    key = "admin-users-found" if matches else "admin-users-not-found"
    await message.answer(
        i18n(key, query=escape(text), count=len(matches)),
        reply_markup=users_list_keyboard(i18n, users, 0, len(matches), UserAction.RESULTS),
    )


@router.message(UserSearchInput.query, F.text, NOT_A_COMMAND)
async def on_query(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    admin: AdminService,
    actor: Actor,
    i18n: Translator,
) -> None:
    await send_search_results(message, message.text or "", state, session, admin, actor, i18n)


@router.callback_query(UserCb.filter(F.action == UserAction.RESULTS))
async def on_results(
    query: CallbackQuery, callback_data: UserCb, state: FSMContext, session: AsyncSession, i18n: Translator
) -> None:
    await leave_input(state)
    await query.answer()
    found = [int(i) for i in (await state.get_data()).get(FOUND_KEY, [])]
    page = clamp_page(callback_data.page, len(found))
    users = await _users_by_ids(session, found[page * PAGE_SIZE : (page + 1) * PAGE_SIZE])
    await show(
        query,
        i18n("admin-users-results", count=len(found)),
        users_list_keyboard(i18n, users, page, len(found), UserAction.RESULTS),
    )


async def _users_by_ids(session: AsyncSession, ids: list[int]) -> list[User]:
    if not ids:
        return []
    found = {u.id: u for u in (await session.scalars(select(User).where(User.id.in_(ids)))).all()}
    return [found[i] for i in ids if i in found]


# --- the card ----------------------------------------------------------------------------------------


def card_text(i18n: Translator, card: UserCard) -> str:
    lines = [
        i18n(
            "admin-card",
            name=person(card.user_id, card.first_name, card.last_name, card.username),
            id=str(card.user_id),
            role=i18n(f"admin-role-{card.role}"),
            language=card.language,
            plan=i18n(f"admin-plan-{card.plan}"),
            until=when(card.trial_ends_at or card.plan_expires_at),
            balance=card.balance,
            books=card.books_total,
            ready=card.books_ready,
            failed=card.books_failed,
            pages=card.pages,
            questions=card.questions,
            joined=when(card.created_at),
            seen=when(card.last_seen_at),
            payments=card.payments,
            stars=card.paid_stars,
            rub=f"{card.paid_kopecks / 100:.2f}",
        )
    ]
    for payment in card.recent_payments:
        lines.append(
            i18n(
                "admin-card-payment",
                date=when(payment.created_at),
                amount=_money(payment.amount, payment.currency),
                status=i18n(f"admin-payment-status-{payment.status}"),
                credits=payment.credits,
            )
        )
    if card.banned:
        lines.append(i18n("admin-card-banned", reason=escape(card.ban_reason or "—")))
    if card.blocked_bot:
        lines.append(i18n("admin-card-blocked"))
    if card.data_deleted_at:
        lines.append(i18n("admin-card-deleted", date=card.data_deleted_at[:16].replace("T", " ")))
    return "\n".join(lines)


def _money(amount: int, currency: str) -> str:
    return f"{amount} ⭐" if currency == "XTR" else f"{amount / 100:.2f} {currency}"


def card_keyboard(i18n: Translator, card: UserCard, actor: Role, actor_id: int = 0) -> Keyboard:
    """Only the actions this admin may take on this user (each is checked again when taken)."""
    uid = card.user_id

    def cb(action: UserAction, value: str = "") -> UserCb:
        return UserCb(action=action, user_id=uid, value=value)

    is_self = uid == actor_id
    may_act = outranks(actor, card.role) and not is_self
    may_pay = may_act or (actor == Role.OWNER and (is_self or card.role != Role.OWNER))
    may_role = not is_self and any(can_set_role(actor, card.role, r) for r in (Role.USER, Role.ADMIN))
    money = [
        button(i18n("admin-card-button-grant"), cb(UserAction.GRANT)),
        button(i18n("admin-card-button-take"), cb(UserAction.TAKE)),
    ]
    plan = [button(i18n("admin-card-button-plan"), cb(UserAction.PLANS))]
    role = [button(i18n("admin-card-button-role"), cb(UserAction.ROLES))]
    ban = (
        button(i18n("admin-card-button-unban"), cb(UserAction.UNBAN))
        if card.banned
        else button(i18n("admin-card-button-ban"), cb(UserAction.BAN))
    )
    rows = [
        money if may_pay else [],
        (plan if may_pay else []) + (role if may_role else []),
        [ban, button(i18n("admin-card-button-delete"), cb(UserAction.DELETE))] if may_act else [],
    ]
    rows.append(
        [
            button(i18n("admin-card-button-log"), cb(UserAction.LOG)),
            button(i18n("admin-card-button-refresh"), cb(UserAction.CARD)),
        ]
    )
    rows.append(back_row(i18n, MenuCb(section=Section.USERS)))
    return keyboard(*rows)


async def show_card(
    query: CallbackQuery,
    session: AsyncSession,
    admin: AdminService,
    actor: Actor,
    i18n: Translator,
    user_id: int,
) -> None:
    card = await admin.users.card(session, user_id)
    if card is None:
        await show(
            query, i18n("admin-error-not_found"), keyboard(back_row(i18n, MenuCb(section=Section.USERS)))
        )
        return
    await show(query, card_text(i18n, card), card_keyboard(i18n, card, actor.role, actor.id))


@router.callback_query(UserCb.filter(F.action == UserAction.CARD))
async def on_card(
    query: CallbackQuery,
    callback_data: UserCb,
    state: FSMContext,
    session: AsyncSession,
    admin: AdminService,
    actor: Actor,
    i18n: Translator,
) -> None:
    await leave_input(state)
    await query.answer()
    await show_card(query, session, admin, actor, i18n, callback_data.user_id)


# --- credits: amount, then reason ----------------------------------------------------------------


def credits_prompt(i18n: Translator, user_id: int, sign: int) -> tuple[str, Keyboard]:
    """How many credits to give (sign 1) or take (sign -1), with a button back to the card."""
    back = UserCb(action=UserAction.CARD, user_id=user_id)
    key = "admin-credits-grant-prompt" if sign > 0 else "admin-credits-take-prompt"
    return i18n(key, id=str(user_id)), keyboard(back_row(i18n, back, "admin-button-cancel"))


@router.callback_query(UserCb.filter(F.action.in_({UserAction.GRANT, UserAction.TAKE})))
async def on_credits(
    query: CallbackQuery, callback_data: UserCb, state: FSMContext, i18n: Translator
) -> None:
    sign = 1 if callback_data.action == UserAction.GRANT else -1
    # The key is fixed now, so a reason sent twice (or an update delivered twice) changes the balance once.
    await state.update_data(
        {CREDITS_KEY: {"user_id": callback_data.user_id, "sign": sign, "key": secrets.token_hex(8)}}
    )
    await state.set_state(CreditsInput.amount)
    await query.answer()
    await show(query, *credits_prompt(i18n, callback_data.user_id, sign))


@router.message(CreditsInput.amount, F.text, NOT_A_COMMAND)
async def on_amount(message: Message, state: FSMContext, i18n: Translator) -> None:
    """Checked as soon as it is typed: a bad amount gets why and the same prompt again."""
    data = (await state.get_data()).get(CREDITS_KEY) or {}
    try:
        data["amount"] = parse_credit_amount(message.text or "")
    except AdminError as error:
        text, markup = credits_prompt(i18n, int(data.get("user_id", 0)), int(data.get("sign", 1)))
        await message.answer(f"{error_text(i18n, error)}\n\n{text}", reply_markup=markup)
        return
    await state.update_data({CREDITS_KEY: data})
    await state.set_state(CreditsInput.reason)
    await message.answer(i18n("admin-credits-reason-prompt"))


@router.message(CreditsInput.reason, F.text, NOT_A_COMMAND)
async def on_reason(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    admin: AdminService,
    actor: Actor,
    i18n: Translator,
) -> None:
    data = (await state.get_data()).get(CREDITS_KEY) or {}
    if "amount" not in data:
        await state.set_state(None)
        return
    user_id, amount = int(data["user_id"]), int(data["sign"]) * int(data["amount"])
    try:
        change = await admin.users.change_credits(
            session, actor, user_id, amount, message.text or "", str(data["key"])
        )
    except AdminError as error:
        await message.answer(error_text(i18n, error))
        if error.code != "insufficient":
            await state.set_state(None)
        else:
            await state.set_state(CreditsInput.amount)
        return
    await state.set_state(None)
    await state.update_data({CREDITS_KEY: None})
    card = await admin.users.card(session, user_id)
    text = i18n(
        "admin-credits-done", amount=f"{change.amount:+d}", credits=abs(change.amount), balance=change.balance
    )
    if card is None:
        await message.answer(text)
        return
    await message.answer(
        f"{text}\n\n{card_text(i18n, card)}", reply_markup=card_keyboard(i18n, card, actor.role, actor.id)
    )


# --- plan and role -----------------------------------------------------------------------------------


@router.callback_query(UserCb.filter(F.action == UserAction.PLANS))
async def on_plans(query: CallbackQuery, callback_data: UserCb, i18n: Translator) -> None:
    await query.answer()
    uid = callback_data.user_id
    # A nonce per screen: tapping the same button twice grants the plan's credits once.
    nonce = secrets.token_hex(4)
    rows = [
        [
            button(
                i18n(f"admin-plan-{plan}"),
                UserCb(action=UserAction.PLAN, user_id=uid, value=f"{plan}.{nonce}"),
            )
        ]
        for plan in PLANS
    ]
    await show(
        query,
        i18n("admin-plan-choose", id=str(uid)),
        keyboard(*rows, back_row(i18n, UserCb(action=UserAction.CARD, user_id=uid))),
    )


@router.callback_query(UserCb.filter(F.action == UserAction.PLAN))
async def on_plan(
    query: CallbackQuery,
    callback_data: UserCb,
    session: AsyncSession,
    admin: AdminService,
    actor: Actor,
    i18n: Translator,
) -> None:
    plan, _, nonce = callback_data.value.partition(".")
    uid = callback_data.user_id
    try:
        await admin.users.set_plan(session, actor, uid, plan, key=f"{uid}:{plan}:{nonce}")
    except AdminError as error:
        await query.answer(error_text(i18n, error), show_alert=True)
        return
    await query.answer(i18n("admin-plan-done", plan=i18n(f"admin-plan-{plan}")))
    await show_card(query, session, admin, actor, i18n, uid)


@router.callback_query(UserCb.filter(F.action == UserAction.ROLES))
async def on_roles(query: CallbackQuery, callback_data: UserCb, i18n: Translator) -> None:
    await query.answer()
    uid = callback_data.user_id
    rows = [
        [
            button(
                i18n(f"admin-role-make-{role}"), UserCb(action=UserAction.ROLE, user_id=uid, value=role.value)
            )
        ]
        for role in (Role.ADMIN, Role.USER)
    ]
    await show(
        query,
        i18n("admin-role-choose", id=str(uid)),
        keyboard(*rows, back_row(i18n, UserCb(action=UserAction.CARD, user_id=uid))),
    )


@router.callback_query(UserCb.filter(F.action == UserAction.ROLE))
async def on_role(
    query: CallbackQuery,
    callback_data: UserCb,
    bot: Bot,
    session: AsyncSession,
    admin: AdminService,
    actor: Actor,
    i18n: Translator,
    ctx: AppContext,
) -> None:
    uid = callback_data.user_id
    try:
        role = await admin.users.set_role(session, actor, uid, Role(callback_data.value))
    except (AdminError, ValueError) as error:
        await query.answer(
            error_text(i18n, error if isinstance(error, AdminError) else AdminError("forbidden")),
            show_alert=True,
        )
        return
    await query.answer(i18n("admin-role-done", role=i18n(f"admin-role-{role}")))
    await update_admin_commands(bot, ctx.i18n, session, uid, staff=role == Role.ADMIN)
    await show_card(query, session, admin, actor, i18n, uid)


# --- ban, delete, log -------------------------------------------------------------------------------


@router.callback_query(UserCb.filter(F.action.in_({UserAction.BAN, UserAction.UNBAN})))
async def on_ban(
    query: CallbackQuery,
    callback_data: UserCb,
    session: AsyncSession,
    admin: AdminService,
    actor: Actor,
    i18n: Translator,
) -> None:
    uid = callback_data.user_id
    banning = callback_data.action == UserAction.BAN
    try:
        if banning:
            await admin.users.ban(session, actor, uid)
        else:
            await admin.users.unban(session, actor, uid)
    except AdminError as error:
        await query.answer(error_text(i18n, error), show_alert=True)
        return
    await query.answer(i18n("admin-ban-done" if banning else "admin-unban-done"))
    await show_card(query, session, admin, actor, i18n, uid)


@router.callback_query(UserCb.filter(F.action == UserAction.DELETE))
async def on_delete(query: CallbackQuery, callback_data: UserCb, i18n: Translator) -> None:
    await query.answer()
    uid = callback_data.user_id
    await show(
        query,
        i18n("admin-delete-confirm", id=str(uid)),
        keyboard(
            [button(i18n("admin-delete-button-yes"), UserCb(action=UserAction.DELETE_YES, user_id=uid))],
            back_row(i18n, UserCb(action=UserAction.CARD, user_id=uid), "admin-button-cancel"),
        ),
    )


@router.callback_query(UserCb.filter(F.action == UserAction.DELETE_YES))
async def on_delete_yes(
    query: CallbackQuery,
    callback_data: UserCb,
    session: AsyncSession,
    admin: AdminService,
    actor: Actor,
    i18n: Translator,
) -> None:
    uid = callback_data.user_id
    await query.answer(i18n("admin-delete-working"))
    try:
        result = await admin.users.delete_data(session, actor, uid)
    except AdminError as error:
        await show(
            query,
            error_text(i18n, error),
            keyboard(back_row(i18n, UserCb(action=UserAction.CARD, user_id=uid))),
        )
        return
    await show(
        query,
        i18n("admin-delete-done", id=str(uid), books=result.books, turns=result.turns),
        keyboard(back_row(i18n, UserCb(action=UserAction.CARD, user_id=uid))),
    )


@router.callback_query(UserCb.filter(F.action == UserAction.LOG))
async def on_log(
    query: CallbackQuery, callback_data: UserCb, session: AsyncSession, admin: AdminService, i18n: Translator
) -> None:
    await query.answer()
    uid = callback_data.user_id
    total = await admin.audit.count(session, target_user_id=uid)
    page = clamp_page(callback_data.page, total)
    entries = await admin.audit.recent(session, target_user_id=uid, offset=page * PAGE_SIZE, limit=PAGE_SIZE)
    lines = [i18n("admin-log-title", id=str(uid), count=total)]
    for entry in entries:
        details = ", ".join(f"{k}={v}" for k, v in entry.details.items() if v not in (None, ""))
        lines.append(
            i18n(
                "admin-log-line",
                date=when(entry.created_at),
                actor=str(entry.actor_id),
                action=entry.action,
                details=escape(details[:200]),
            )
        )
    if not entries:
        lines.append(i18n("admin-log-empty"))
    await show(
        query,
        "\n".join(lines),
        keyboard(
            pager(page, total, lambda p: UserCb(action=UserAction.LOG, user_id=uid, page=p)),
            back_row(i18n, UserCb(action=UserAction.CARD, user_id=uid)),
        ),
    )
