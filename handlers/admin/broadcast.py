"""Broadcasts: compose (text or photo, optional link button), choose the audience, preview, start,
watch the progress (one message edited at a calm pace), cancel, and the report.

Sending, pacing and resuming after a restart are the notifications engine's (services/notifications/
broadcast.py); this module only drives it.
"""

from __future__ import annotations

import contextlib
import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.render import progress_bar
from handlers.admin.callbacks import BroadcastAction, BroadcastCb, MenuCb, Section
from handlers.admin.common import Keyboard, back_row, button, keyboard, leave_input, show, when
from handlers.admin.states import BroadcastInput
from services.admin.actor import Actor, AdminError
from services.admin.service import AdminService
from services.billing.plans import PLANS
from services.notifications.broadcast import Audience, BroadcastError, BroadcastProgress

logger = logging.getLogger(__name__)
router = Router(name=__name__)

DRAFT_KEY = "admin_broadcast"
PHOTO_LIMIT = 10 * 1024 * 1024  # Telegram's limit for photos sent by bots
LANGUAGES = ("en", "ru")
NOT_A_COMMAND = ~F.text.startswith("/")


def _cb(action: BroadcastAction, broadcast_id: int = 0, value: str = "") -> BroadcastCb:
    return BroadcastCb(action=action, broadcast_id=broadcast_id, value=value)


def audience_of(value: str) -> Audience | None:
    """ "all", "active", "plan.pro", "language.ru" -> Audience; None for anything else."""
    kind, _, arg = value.partition(".")
    if kind in ("all", "active") and not arg:
        return Audience(kind)  # type: ignore[arg-type]
    if kind == "plan" and arg in PLANS:
        return Audience("plan", arg)
    if kind == "language" and arg in LANGUAGES:
        return Audience("language", arg)
    return None


def audience_text(i18n: Translator, audience: Audience) -> str:
    if audience.kind == "plan":
        return i18n("admin-bc-audience-plan", plan=i18n(f"admin-plan-{audience.value}"))
    if audience.kind == "language":
        return i18n("admin-bc-audience-language", language=audience.value or "")
    return i18n(f"admin-bc-audience-{audience.kind}")


def progress_text(i18n: Translator, p: BroadcastProgress) -> str:
    fraction = p.processed / p.total if p.total else 1.0
    return i18n(
        "admin-bc-progress",
        id=str(p.id),
        status=i18n(f"admin-bc-status-{p.status}"),
        bar=progress_bar(fraction),
        total=p.total,
        sent=p.sent,
        failed=p.failed,
        blocked=p.blocked,
        unknown=p.unknown,
        pending=p.pending,
        started=when(p.started_at),
        finished=when(p.finished_at),
    )


def progress_keyboard(i18n: Translator, p: BroadcastProgress) -> Keyboard:
    rows = []
    if p.status == "draft":
        rows.append([button(i18n("admin-bc-button-start"), _cb(BroadcastAction.START, p.id))])
        rows.append([button(i18n("admin-bc-button-discard"), _cb(BroadcastAction.CANCEL, p.id))])
    elif not p.finished:
        rows.append(
            [
                button(i18n("admin-bc-button-refresh"), _cb(BroadcastAction.VIEW, p.id)),
                button(i18n("admin-bc-button-cancel"), _cb(BroadcastAction.CANCEL, p.id)),
            ]
        )
    rows.append(back_row(i18n, _cb(BroadcastAction.LIST)))
    return keyboard(*rows)


# --- the list --------------------------------------------------------------------------------------


async def _list(query: CallbackQuery, admin: AdminService, i18n: Translator) -> None:
    try:
        recent = await admin.broadcasts.recent(10)
    except AdminError:
        await show(query, i18n("admin-error-unavailable"), keyboard(back_row(i18n)))
        return
    rows = [
        [
            button(
                i18n(
                    "admin-bc-list-item",
                    id=str(p.id),
                    status=i18n(f"admin-bc-status-{p.status}"),
                    sent=p.sent,
                    total=p.total,
                ),
                _cb(BroadcastAction.VIEW, p.id),
            )
        ]
        for p in recent
    ]
    await show(
        query,
        i18n("admin-bc-title", count=len(recent)),
        keyboard([button(i18n("admin-bc-button-new"), _cb(BroadcastAction.NEW))], *rows, back_row(i18n)),
    )


@router.callback_query(MenuCb.filter(F.section == Section.BROADCASTS))
@router.callback_query(BroadcastCb.filter(F.action == BroadcastAction.LIST))
async def on_broadcasts(
    query: CallbackQuery, state: FSMContext, admin: AdminService, i18n: Translator
) -> None:
    await leave_input(state)
    await query.answer()
    await _list(query, admin, i18n)


# --- composing -------------------------------------------------------------------------------------


@router.callback_query(BroadcastCb.filter(F.action == BroadcastAction.NEW))
async def on_new(query: CallbackQuery, state: FSMContext, i18n: Translator) -> None:
    await state.update_data({DRAFT_KEY: None})
    await state.set_state(BroadcastInput.message)
    await query.answer()
    await show(
        query,
        i18n("admin-bc-compose"),
        keyboard(back_row(i18n, _cb(BroadcastAction.LIST), "admin-button-cancel")),
    )


async def _photo_from_document(message: Message, bot: Bot, i18n: Translator) -> str | None:
    """An image sent as a file becomes a photo: uploaded once back to the admin, whose file id the
    broadcast reuses (a document's file id cannot be sent as a photo)."""
    document = message.document
    if (
        document is None
        or not (document.mime_type or "").startswith("image/")
        or (document.file_size or 0) > PHOTO_LIMIT
    ):
        return None
    data = await bot.download(document)
    if data is None:
        return None
    sent = await bot.send_photo(
        message.chat.id,
        BufferedInputFile(data.read(), document.file_name or "photo.jpg"),
        caption=i18n("admin-bc-photo-saved"),
    )
    return sent.photo[-1].file_id if sent.photo else None


@router.message(BroadcastInput.message, NOT_A_COMMAND)
async def on_message(message: Message, bot: Bot, state: FSMContext, i18n: Translator) -> None:
    photo: str | None = None
    if message.photo:
        photo = message.photo[-1].file_id
    elif message.document is not None:
        photo = await _photo_from_document(message, bot, i18n)
        if photo is None:
            await message.answer(i18n("admin-bc-unsupported"))
            return
    elif not message.text:
        await message.answer(i18n("admin-bc-unsupported"))
        return
    text = message.html_text if (message.text or message.caption) else None
    await state.update_data({DRAFT_KEY: {"text": text, "photo": photo}})
    await state.set_state(BroadcastInput.button)
    await message.answer(
        i18n("admin-bc-button-prompt"),
        reply_markup=keyboard(
            [button(i18n("admin-bc-button-none"), _cb(BroadcastAction.NO_BUTTON))],
            back_row(i18n, _cb(BroadcastAction.LIST), "admin-button-cancel"),
        ),
    )


def audience_keyboard(i18n: Translator) -> Keyboard:
    def aud(value: str, label: str) -> list:  # type: ignore[type-arg]
        return [button(label, _cb(BroadcastAction.AUDIENCE, value=value))]

    return keyboard(
        aud("all", i18n("admin-bc-audience-all")) + aud("active", i18n("admin-bc-audience-active")),
        [b for plan in PLANS for b in aud(f"plan.{plan}", i18n(f"admin-plan-{plan}"))],
        [b for code in LANGUAGES for b in aud(f"language.{code}", i18n(f"admin-bc-language-{code}"))],
        back_row(i18n, _cb(BroadcastAction.LIST), "admin-button-cancel"),
    )


@router.message(BroadcastInput.button, F.text, NOT_A_COMMAND)
async def on_button(message: Message, state: FSMContext, i18n: Translator) -> None:
    label, separator, url = (message.text or "").partition("|")
    label, url = label.strip(), url.strip()
    if not separator or not label or len(label) > 64 or not url.startswith(("https://", "http://", "tg://")):
        await message.answer(i18n("admin-bc-button-bad"))
        return
    draft = (await state.get_data()).get(DRAFT_KEY) or {}
    draft["button"] = [label, url]
    await state.update_data({DRAFT_KEY: draft})
    await state.set_state(BroadcastInput.audience)
    await message.answer(i18n("admin-bc-audience-choose"), reply_markup=audience_keyboard(i18n))


@router.callback_query(BroadcastCb.filter(F.action == BroadcastAction.NO_BUTTON))
async def on_no_button(query: CallbackQuery, state: FSMContext, i18n: Translator) -> None:
    await query.answer()
    await state.set_state(BroadcastInput.audience)
    await show(query, i18n("admin-bc-audience-choose"), audience_keyboard(i18n))


@router.callback_query(BroadcastCb.filter(F.action == BroadcastAction.AUDIENCE))
async def on_audience(
    query: CallbackQuery,
    callback_data: BroadcastCb,
    state: FSMContext,
    session: AsyncSession,
    admin: AdminService,
    actor: Actor,
    i18n: Translator,
) -> None:
    audience = audience_of(callback_data.value)
    draft = (await state.get_data()).get(DRAFT_KEY)
    if audience is None or not draft:
        await query.answer(i18n("admin-bc-expired"), show_alert=True)
        return
    button_spec = tuple(draft["button"]) if draft.get("button") else None
    try:
        broadcast_id = await admin.create_broadcast(
            session,
            actor,
            text=draft.get("text"),
            photo_file_id=draft.get("photo"),
            button=button_spec,
            audience=audience,  # type: ignore[arg-type]
        )
    except BroadcastError as error:
        await query.answer(i18n(f"admin-bc-error-{error.code}"), show_alert=True)
        return
    await state.set_state(None)
    await state.update_data({DRAFT_KEY: None})
    await query.answer()
    engine = admin.broadcasts
    size = await engine.audience_size(audience)
    await show(query, i18n("admin-bc-preview-below"))
    await engine.preview(broadcast_id, query.from_user.id)
    if query.bot is not None:
        await query.bot.send_message(
            query.from_user.id,
            i18n(
                "admin-bc-confirm", id=str(broadcast_id), audience=audience_text(i18n, audience), count=size
            ),
            reply_markup=keyboard(
                [button(i18n("admin-bc-button-start"), _cb(BroadcastAction.START, broadcast_id))],
                [button(i18n("admin-bc-button-discard"), _cb(BroadcastAction.CANCEL, broadcast_id))],
            ),
        )


# --- running ---------------------------------------------------------------------------------------


def watch_progress(
    admin: AdminService, bot: Bot, i18n: Translator, chat_id: int, message_id: int, broadcast_id: int
) -> None:
    """Keep the progress message current until the broadcast is over (then it shows the report)."""
    engine = admin.broadcasts

    async def poll() -> BroadcastProgress:
        return await engine.progress(broadcast_id)  # type: ignore[no-any-return]

    async def render(p: BroadcastProgress) -> None:
        with contextlib.suppress(TelegramBadRequest):
            await bot.edit_message_text(
                progress_text(i18n, p),
                chat_id=chat_id,
                message_id=message_id,
                reply_markup=progress_keyboard(i18n, p),
            )

    admin.watcher.watch(
        ("broadcast", broadcast_id, chat_id, message_id),
        poll,
        render,
        lambda p: p.finished,
        fingerprint=lambda p: (p.status, p.sent, p.failed, p.blocked, p.unknown, p.pending),
    )


@router.callback_query(BroadcastCb.filter(F.action == BroadcastAction.START))
async def on_start(
    query: CallbackQuery,
    callback_data: BroadcastCb,
    bot: Bot,
    session: AsyncSession,
    admin: AdminService,
    actor: Actor,
    i18n: Translator,
) -> None:
    try:
        progress = await admin.start_broadcast(session, actor, callback_data.broadcast_id)
    except (BroadcastError, AdminError) as error:
        await query.answer(i18n(f"admin-bc-error-{error.code}"), show_alert=True)
        return
    await query.answer(i18n("admin-bc-started"))
    await show(query, progress_text(i18n, progress), progress_keyboard(i18n, progress))
    if isinstance(query.message, Message):
        watch_progress(admin, bot, i18n, query.message.chat.id, query.message.message_id, progress.id)


@router.callback_query(BroadcastCb.filter(F.action == BroadcastAction.CANCEL))
async def on_cancel(
    query: CallbackQuery,
    callback_data: BroadcastCb,
    session: AsyncSession,
    admin: AdminService,
    actor: Actor,
    i18n: Translator,
) -> None:
    try:
        progress = await admin.cancel_broadcast(session, actor, callback_data.broadcast_id)
    except (BroadcastError, AdminError) as error:
        await query.answer(i18n(f"admin-bc-error-{error.code}"), show_alert=True)
        return
    await query.answer(i18n("admin-bc-cancelled"))
    await show(query, progress_text(i18n, progress), progress_keyboard(i18n, progress))


@router.callback_query(BroadcastCb.filter(F.action == BroadcastAction.VIEW))
async def on_view(
    query: CallbackQuery, callback_data: BroadcastCb, bot: Bot, admin: AdminService, i18n: Translator
) -> None:
    try:
        progress = await admin.broadcasts.progress(callback_data.broadcast_id)
    except (BroadcastError, AdminError) as error:
        await query.answer(i18n(f"admin-bc-error-{error.code}"), show_alert=True)
        return
    await query.answer()
    await show(query, progress_text(i18n, progress), progress_keyboard(i18n, progress))
    if progress.status == "running" and isinstance(query.message, Message):
        watch_progress(admin, bot, i18n, query.message.chat.id, query.message.message_id, progress.id)
