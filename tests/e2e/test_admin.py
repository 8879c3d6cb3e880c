"""The admin through the sandbox: every screen and action as an owner, in English and Russian, and every
admin button and command refused to a normal user with nothing changed."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import AppContext
from bot.sandbox.runner import AppFactory, librarity_app
from db.models import AuditEntry, Book, Broadcast, CreditAccount, Delivery, LedgerEntry, Payment, User
from handlers.admin.callbacks import (
    BookAction,
    BookCb,
    BroadcastAction,
    BroadcastCb,
    ExportCb,
    ExportKind,
    MenuCb,
    PaymentAction,
    PaymentCb,
    Section,
    SupportAction,
    SupportCb,
    UserAction,
    UserCb,
)
from handlers.admin.commands import show_admin_commands
from services.notifications.broadcast import Audience
from tests.admin_helpers import add_book, add_payment, add_user
from tests.e2e.client import Message, SandboxHarness, UserClient, buttons_of, text_of

OWNER = 5_000_001
OWNER_RU = 5_000_002
FORMER_OWNER = 5_000_003
QUIET = 1.0  # how long to watch for a message that must not come


@pytest.fixture
def sandbox_app_factory(make_settings: Any) -> AppFactory:
    return librarity_app(
        make_settings(
            admin_ids=[OWNER, OWNER_RU],
            scheduler_enabled=False,
            billing_free_monthly_credits=100,
            billing_trial_days=0,
            billing_packs=["100:50:9900"],
        )
    )


def ctx_of(sandbox: SandboxHarness) -> AppContext:
    ctx: AppContext = sandbox.running.dispatcher["ctx"]
    return ctx


class FakeBooks:
    """Ingestion's reprocess and delete, recorded (the real ones are covered in test_admin_operations)."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.calls: list[tuple[str, int]] = []

    async def retry(self, user_id: int, book_id: int) -> Any:
        self.calls.append(("retry", book_id))
        return object()

    def has_file(self, book: Any) -> bool:
        return True

    async def delete(self, user_id: int, book_id: int) -> bool:
        from db.repositories import books as repo

        self.calls.append(("delete", book_id))
        async with self.ctx.session_factory() as session:
            await repo.delete_book(session, book_id)
            await session.commit()
        return True


def data_of(message: Message, prefix: str) -> str:
    for button in buttons_of(message):
        data = str(button.get("callback_data", ""))
        if data.startswith(prefix):
            return data
    raise AssertionError(f"no button {prefix!r} in {[b.get('callback_data') for b in buttons_of(message)]}")


async def press(
    client: UserClient, message: Message, data: str, expect: str | Callable[[Message], bool]
) -> Message:
    """Tap the button with exactly this data (it must be shown) and wait for the screen to say `expect`."""
    assert data in {b.get("callback_data") for b in buttons_of(message)}, (data, buttons_of(message))
    await client.tap(int(message["message_id"]), data)
    check = expect if callable(expect) else (lambda m: expect.lower() in text_of(m).lower())
    return await client.wait_edit(int(message["message_id"]), check)


async def started(client: UserClient) -> int:
    sent = await client.send("/start")
    reply = await client.wait_reply(int(sent["message_id"]))
    return int(reply["message_id"])


async def last_id(client: UserClient) -> int:
    messages = await client.messages(0, include_own=True)
    return max((int(m["message_id"]) for m in messages), default=0)


async def test_users_screens_and_actions(sandbox_bot: SandboxHarness) -> None:
    ctx = ctx_of(sandbox_bot)
    owner = sandbox_bot.user(OWNER, first_name="Olga")
    ivan = sandbox_bot.user(first_name="Ivan", username="ivan_reads")
    welcome = await started(ivan)

    menu = await owner.ask("/admin", contains="Admin")
    overview = await press(owner, menu, MenuCb(section=Section.OVERVIEW).pack(), "Overview")
    assert "Users: 2" in text_of(overview) and "LLM cost" in text_of(overview)
    chart = await owner.wait_for(
        lambda ms: next((m for m in ms if m.get("photo")), None), after=int(menu["message_id"])
    )
    assert "30 days" in text_of(chart)
    assert (await owner.download(chart)).startswith(b"\x89PNG")

    screen = await press(owner, overview, MenuCb(section=Section.MENU).pack(), "Choose a section")
    screen = await press(owner, screen, MenuCb(section=Section.USERS).pack(), "2 in total")
    newest = await press(owner, screen, UserCb(action=UserAction.NEWEST).pack(), "Newest users")
    assert data_of(newest, UserCb(action=UserAction.CARD, user_id=ivan.user_id).pack())
    prompt = await press(owner, newest, UserCb(action=UserAction.FIND).pack(), "Send an id")

    # A typo still finds him; the list leads to the card.
    sent = await owner.send("Ivna")
    results = await owner.wait_reply(int(sent["message_id"]), contains="found")
    card = await press(owner, results, UserCb(action=UserAction.CARD, user_id=ivan.user_id).pack(), "Balance")
    assert "Ivan @ivan_reads" in text_of(card) and str(ivan.user_id) in text_of(card)
    assert prompt["message_id"] != results["message_id"]

    # Credits: amount, then reason; through the ledger.
    await press(
        owner, card, UserCb(action=UserAction.GRANT, user_id=ivan.user_id).pack(), "How many credits to give"
    )
    sent = await owner.send("150")
    await owner.wait_reply(int(sent["message_id"]), contains="reason")
    sent = await owner.send("welcome gift")
    done = await owner.wait_reply(int(sent["message_id"]), contains="Done")
    assert "+150" in text_of(done) and "250" in text_of(done)
    await press(
        owner, done, UserCb(action=UserAction.TAKE, user_id=ivan.user_id).pack(), "How many credits to take"
    )
    sent = await owner.send("100000")
    await owner.wait_reply(int(sent["message_id"]), contains="reason")
    sent = await owner.send("too much")
    await owner.wait_reply(int(sent["message_id"]), contains="Not taken")
    sent = await owner.send("50")
    await owner.wait_reply(int(sent["message_id"]), contains="reason")
    sent = await owner.send("abuse")
    card = await owner.wait_reply(int(sent["message_id"]), contains="Done")
    assert "-50" in text_of(card) and "balance is now 200" in text_of(card)
    async with ctx.session_factory() as session:
        reasons = (
            await session.scalars(
                select(LedgerEntry.reason).where(LedgerEntry.user_id == ivan.user_id).order_by(LedgerEntry.id)
            )
        ).all()
        assert list(reasons)[-2:] == ["admin_grant", "admin_take"]

    # Plan, then role: he becomes an admin and /admin opens for him; then back.
    plans = await press(
        owner, card, UserCb(action=UserAction.PLANS, user_id=ivan.user_id).pack(), "Plan for user"
    )
    card = await press(
        owner,
        plans,
        data_of(plans, UserCb(action=UserAction.PLAN, user_id=ivan.user_id, value="pro").pack()),
        "Plan: Pro",
    )
    roles = await press(owner, card, UserCb(action=UserAction.ROLES, user_id=ivan.user_id).pack(), "New role")
    card = await press(
        owner, roles, UserCb(action=UserAction.ROLE, user_id=ivan.user_id, value="admin").pack(), "· admin ·"
    )
    his_menu = await ivan.ask("/admin", contains="Choose a section")
    his_menu = await press(ivan, his_menu, MenuCb(section=Section.USERS).pack(), "in total")
    await press(ivan, his_menu, UserCb(action=UserAction.FIND).pack(), "Send an id")
    commands = await owner.control.calls("setMyCommands")
    assert any(str(c["params"].get("scope", "")).find(str(ivan.user_id)) >= 0 for c in commands)
    roles = await press(owner, card, UserCb(action=UserAction.ROLES, user_id=ivan.user_id).pack(), "New role")
    card = await press(
        owner,
        roles,
        UserCb(action=UserAction.ROLE, user_id=ivan.user_id, value="user").pack(),
        "· subscriber ·",
    )
    # Demoted halfway through typing a search: the input is refused, not acted on.
    await ivan.ask("Olga", contains="admins only")

    # Ban: one message saying so, then nothing works; unban: back to normal.
    card = await press(owner, card, UserCb(action=UserAction.BAN, user_id=ivan.user_id).pack(), "Banned")
    sent = await ivan.send("hello?")
    notice = await ivan.wait_reply(int(sent["message_id"]), contains="banned")
    await ivan.send("/help")
    await ivan.tap(welcome, str(buttons_of((await ivan.message(welcome)) or {})[0]["callback_data"]))
    await asyncio.sleep(QUIET)
    assert [m for m in await ivan.messages(int(notice["message_id"]))] == []
    card = await press(
        owner,
        card,
        UserCb(action=UserAction.UNBAN, user_id=ivan.user_id).pack(),
        lambda m: "Banned" not in text_of(m),
    )
    await ivan.ask("/help")

    log = await press(owner, card, UserCb(action=UserAction.LOG, user_id=ivan.user_id).pack(), "Audit log")
    for action in ("credits.grant", "credits.take", "plan.set", "role.set", "user.ban", "user.unban"):
        assert action in text_of(log), action

    # Deleting his data: confirm first; names go, the accounts stay.
    await add_book(ctx.session_factory, ivan.user_id, title="Moby Dick")
    card = await press(owner, log, UserCb(action=UserAction.CARD, user_id=ivan.user_id).pack(), "Joined")
    confirm = await press(
        owner, card, UserCb(action=UserAction.DELETE, user_id=ivan.user_id).pack(), "cannot be undone"
    )
    await press(owner, confirm, UserCb(action=UserAction.DELETE_YES, user_id=ivan.user_id).pack(), "1 book,")
    async with ctx.session_factory() as session:
        user = await session.get(User, ivan.user_id)
        assert user is not None and user.username is None and user.first_name is None
        assert await session.scalar(select(func.count(Book.id)).where(Book.user_id == ivan.user_id)) == 0
        assert await session.get(CreditAccount, ivan.user_id) is not None


async def test_a_credit_amount_is_checked_when_it_is_typed(sandbox_bot: SandboxHarness) -> None:
    ctx = ctx_of(sandbox_bot)
    owner = sandbox_bot.user(OWNER, first_name="Olga")
    ivan = sandbox_bot.user(first_name="Ivan")
    await started(ivan)
    card = await owner.ask(f"/admin {ivan.user_id}", contains="Balance")
    grant = UserCb(action=UserAction.GRANT, user_id=ivan.user_id).pack()
    prompt = await press(owner, card, grant, "How many credits to give")

    # A sign, too many, zero, not a number: each is refused at once, with the same prompt again.
    for typed in ("-5", "+5", "1000001", "0", "five", "2.5"):
        sent = await owner.send(typed)
        again = await owner.wait_reply(int(sent["message_id"]), contains="from 1 to 1,000,000")
        assert text_of(prompt) in text_of(again), typed
        assert "reason" not in text_of(again)
    async with ctx.session_factory() as session:
        grants = select(func.count()).select_from(LedgerEntry).where(LedgerEntry.reason == "admin_grant")
        assert await session.scalar(grants) == 0, "nothing given"
    sent = await owner.send("1 000")
    await owner.wait_reply(int(sent["message_id"]), contains="reason")
    sent = await owner.send("-5 was a typo")
    done = await owner.wait_reply(int(sent["message_id"]), contains="Done")
    assert "+1000" in text_of(done) and "balance is now 1,100" in text_of(done)

    # Taking is its own button, and checked the same way.
    take = UserCb(action=UserAction.TAKE, user_id=ivan.user_id).pack()
    prompt = await press(owner, done, take, "How many credits to take")
    sent = await owner.send("-50")
    again = await owner.wait_reply(int(sent["message_id"]), contains="without a sign")
    assert text_of(prompt) in text_of(again)
    sent = await owner.send("50")
    await owner.wait_reply(int(sent["message_id"]), contains="reason")
    sent = await owner.send("correction")
    done = await owner.wait_reply(int(sent["message_id"]), contains="Done")
    assert "-50" in text_of(done) and "balance is now 1,050" in text_of(done)


async def test_books_payments_and_exports(sandbox_bot: SandboxHarness) -> None:
    ctx = ctx_of(sandbox_bot)
    fake = FakeBooks(ctx)
    ctx.services["admin"].deps.overrides["books"] = fake
    owner = sandbox_bot.user(OWNER)
    buyer = sandbox_bot.user(first_name="Buyer")
    await started(buyer)
    failed = await add_book(
        ctx.session_factory, buyer.user_id, status="failed", title="Broken", error_code="encrypted_pdf"
    )
    queued = await add_book(ctx.session_factory, buyer.user_id, status="pending", title="Waiting")

    # The buyer pays for a pack with Stars (billing's own invoice flow).
    menu = await buyer.ask("/buy")
    await buyer.tap(int(menu["message_id"]), "buy:stars:pack_100", force=True)
    invoice = await buyer.wait_for(
        lambda ms: next((m for m in ms if m.get("invoice")), None), after=int(menu["message_id"])
    )
    assert (await buyer.pay(int(invoice["message_id"])))["status"] == "paid"
    async with ctx.session_factory() as session:
        payment = await session.scalar(select(Payment).where(Payment.user_id == buyer.user_id))
        for _ in range(100):
            if payment is not None:
                break
            await asyncio.sleep(0.05)
            payment = await session.scalar(select(Payment).where(Payment.user_id == buyer.user_id))
        assert payment is not None

    screen = await owner.ask("/admin", contains="Admin")
    books = await press(owner, screen, MenuCb(section=Section.BOOKS).pack(), "In the queue: 1")
    assert "Failed: 1" in text_of(books)
    queue = await press(owner, books, BookCb(action=BookAction.QUEUE).pack(), "Ingestion queue")
    assert data_of(queue, BookCb(action=BookAction.CARD, book_id=queued).pack())
    books = await press(owner, queue, BookCb(action=BookAction.SUMMARY).pack(), "In the queue")
    broken = await press(owner, books, BookCb(action=BookAction.FAILED).pack(), "encrypted_pdf")
    card = await press(owner, broken, BookCb(action=BookAction.CARD, book_id=failed).pack(), "Broken")
    await owner.tap(int(card["message_id"]), BookCb(action=BookAction.RETRY, book_id=failed).pack())
    confirm = await press(
        owner, card, BookCb(action=BookAction.DELETE, book_id=failed).pack(), "cannot be undone"
    )
    await press(owner, confirm, BookCb(action=BookAction.DELETE_YES, book_id=failed).pack(), "is deleted")
    assert fake.calls == [("retry", failed), ("delete", failed)]

    screen = await owner.ask("/admin", contains="Admin")
    payments = await press(owner, screen, MenuCb(section=Section.PAYMENTS).pack(), "Payments: 1")
    card = await press(
        owner, payments, PaymentCb(action=PaymentAction.CARD, payment_id=payment.id).pack(), "Charge"
    )
    assert "50 ⭐" in text_of(card) and "paid" in text_of(card)
    confirm = await press(
        owner, card, PaymentCb(action=PaymentAction.REFUND, payment_id=payment.id).pack(), "Refund payment"
    )
    answer = await owner.tap(
        int(confirm["message_id"]), PaymentCb(action=PaymentAction.REFUND_YES, payment_id=payment.id).pack()
    )
    assert "Refunded" in str(answer.get("text")), answer
    card = await owner.wait_edit(int(confirm["message_id"]), lambda m: "Status: refunded" in text_of(m))
    assert not any("admp:ref" in str(b.get("callback_data")) for b in buttons_of(card))
    assert [p["refunded"] for p in await buyer.control.payments(buyer.user_id)] == [True]
    # The buyer is told as /refund would tell them: what came back and the credits taken.
    notice = await buyer.wait_reply(int(invoice["message_id"]), contains="was refunded")
    assert "50 ⭐" in text_of(notice) and "100 credits were taken back" in text_of(notice), text_of(notice)

    payments = await press(owner, card, PaymentCb(action=PaymentAction.LIST).pack(), "Payments: 1")
    assert "↩️" in str(buttons_of(payments))
    export = await press(owner, payments, MenuCb(section=Section.MENU).pack(), "Choose a section")
    export = await press(owner, export, MenuCb(section=Section.EXPORT).pack(), "CSV")
    for kind, needle in ((ExportKind.USERS, f"{buyer.user_id},"), (ExportKind.PAYMENTS, payment.charge_id)):
        before = await last_id(owner)
        await owner.tap(int(export["message_id"]), ExportCb(kind=kind).pack())
        document = await owner.wait_for(
            lambda ms: next((m for m in ms if m.get("document")), None), after=before
        )
        raw = await owner.download(document)
        assert raw.startswith(b"\xef\xbb\xbf") and document["document"]["file_name"].endswith(".csv")
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        assert rows[0][0] == "id" and needle in raw.decode("utf-8-sig")
    async with ctx.session_factory() as session:
        actions = set((await session.scalars(select(AuditEntry.action))).all())
    assert {"book.reprocess", "book.delete", "payment.refund", "export.users", "export.payments"} <= actions


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


async def test_broadcasts(sandbox_bot: SandboxHarness) -> None:
    owner = sandbox_bot.user(OWNER)
    readers = [sandbox_bot.user(), sandbox_bot.user(language_code="ru")]
    marks = [await started(r) for r in readers]
    await started(owner)

    screen = await owner.ask("/admin", contains="Admin")
    screen = await press(owner, screen, MenuCb(section=Section.BROADCASTS).pack(), "Broadcasts")
    await press(owner, screen, BroadcastCb(action=BroadcastAction.NEW).pack(), "Send the message")
    sent = await owner.send("Big news: chapters can be summarised now")
    await owner.wait_reply(int(sent["message_id"]), contains="link button")
    sent = await owner.send("not a button")
    await owner.wait_reply(int(sent["message_id"]), contains="not a button")
    sent = await owner.send("Read more | https://example.com/news")
    audience = await owner.wait_reply(int(sent["message_id"]), contains="Who gets it")
    await owner.tap(
        int(audience["message_id"]), BroadcastCb(action=BroadcastAction.AUDIENCE, value="all").pack()
    )
    confirm = await owner.wait_reply(int(audience["message_id"]), contains="recipient")
    preview = next(m for m in await owner.messages(int(audience["message_id"])) if "Big news" in text_of(m))
    assert buttons_of(preview)[0]["url"] == "https://example.com/news"
    assert "Everyone — 3 recipients" in text_of(confirm)

    progress = await press(owner, confirm, data_of(confirm, "admc:go:"), "Broadcast #")
    report = await owner.wait_edit(int(progress["message_id"]), lambda m: ": done" in text_of(m), timeout=30)
    assert "Sent: 3 of 3" in text_of(report) and "Failed: 0" in text_of(report)
    for reader, mark in zip(readers, marks, strict=True):
        news = await reader.wait_reply(mark, contains="Big news")
        assert buttons_of(news)[0]["url"] == "https://example.com/news"

    # A photo sent as a file, Russian speakers only; then discarded at the confirmation.
    screen = await press(owner, report, BroadcastCb(action=BroadcastAction.LIST).pack(), "Broadcasts")
    assert "done" in str(buttons_of(screen))
    await press(owner, screen, BroadcastCb(action=BroadcastAction.NEW).pack(), "Send the message")
    sent = await owner.send_document(PNG, filename="news.png", caption="Фото дня")
    ask_button = await owner.wait_reply(int(sent["message_id"]), contains="link button")
    await owner.tap(int(ask_button["message_id"]), BroadcastCb(action=BroadcastAction.NO_BUTTON).pack())
    audience = await owner.wait_edit(int(ask_button["message_id"]), lambda m: "Who gets it" in text_of(m))
    await owner.tap(
        int(audience["message_id"]), BroadcastCb(action=BroadcastAction.AUDIENCE, value="language.ru").pack()
    )
    confirm = await owner.wait_reply(int(audience["message_id"]), contains="recipient")
    preview = [m for m in await owner.messages(int(audience["message_id"])) if m.get("photo")]
    assert preview and text_of(preview[0]) == "Фото дня"
    assert "Language: ru" in text_of(confirm)
    screen = await press(owner, confirm, data_of(confirm, "admc:stop:"), "cancelled")

    # A running broadcast held up by Telegram's flood limit: cancelled from its progress message;
    # nobody gets it twice.
    screen = await press(owner, screen, BroadcastCb(action=BroadcastAction.LIST).pack(), "Broadcasts")
    await press(owner, screen, BroadcastCb(action=BroadcastAction.NEW).pack(), "Send the message")
    sent = await owner.send("Second news")
    ask_button = await owner.wait_reply(int(sent["message_id"]), contains="link button")
    await owner.tap(int(ask_button["message_id"]), BroadcastCb(action=BroadcastAction.NO_BUTTON).pack())
    audience = await owner.wait_edit(int(ask_button["message_id"]), lambda m: "Who gets it" in text_of(m))
    await owner.tap(
        int(audience["message_id"]), BroadcastCb(action=BroadcastAction.AUDIENCE, value="active").pack()
    )
    confirm = await owner.wait_reply(int(audience["message_id"]), contains="recipient")
    await sandbox_bot.control.flood(retry_after=2, count=1, method="sendMessage")
    progress = await press(owner, confirm, data_of(confirm, "admc:go:"), "sending")
    assert data_of(progress, "admc:stop:")
    report = await press(owner, progress, data_of(progress, "admc:stop:"), ": cancelled")
    assert "Sent:" in text_of(report)
    await asyncio.sleep(3)  # past the flood wait: whatever was in flight has landed
    for reader, mark in zip(readers, marks, strict=True):
        assert len([m for m in await reader.messages(mark) if "Second news" in text_of(m)]) <= 1

    async with ctx_of(sandbox_bot).session_factory() as session:
        statuses = (await session.scalars(select(Broadcast.status).order_by(Broadcast.id))).all()
        assert list(statuses) == ["done", "cancelled", "cancelled"]
        actions = (await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all()
        assert list(actions) == [
            "broadcast.create",
            "broadcast.start",
            "broadcast.create",
            "broadcast.cancel",
            "broadcast.create",
            "broadcast.start",
            "broadcast.cancel",
        ]


async def _snapshot(ctx: AppContext) -> dict[str, Any]:
    async with ctx.session_factory() as session:
        return {
            "users": (
                await session.execute(
                    select(User.id, User.role, User.banned, User.username, User.first_name).order_by(User.id)
                )
            ).all(),
            "accounts": (
                await session.execute(
                    select(CreditAccount.user_id, CreditAccount.balance, CreditAccount.plan).order_by(
                        CreditAccount.user_id
                    )
                )
            ).all(),
            "ledger": await session.scalar(select(func.count(LedgerEntry.id))),
            "books": (await session.execute(select(Book.id, Book.status).order_by(Book.id))).all(),
            "payments": (
                await session.execute(select(Payment.id, Payment.status).order_by(Payment.id))
            ).all(),
            "broadcasts": (
                await session.execute(select(Broadcast.id, Broadcast.status).order_by(Broadcast.id))
            ).all(),
            "deliveries": await session.scalar(select(func.count(Delivery.id))),
            "audit": await session.scalar(select(func.count(AuditEntry.id))),
        }


def every_admin_callback(target: int, book: int, payment: int, broadcast: int) -> list[str]:
    values = {UserAction.PLAN: "pro.0badc0de", UserAction.ROLE: "admin"}
    return [
        *(MenuCb(section=s).pack() for s in Section),
        *(UserCb(action=a, user_id=target, value=values.get(a, "")).pack() for a in UserAction),
        *(BookCb(action=a, book_id=book).pack() for a in BookAction),
        *(PaymentCb(action=a, payment_id=payment).pack() for a in PaymentAction),
        *(BroadcastCb(action=a, broadcast_id=broadcast, value="all").pack() for a in BroadcastAction),
        *(ExportCb(kind=k).pack() for k in ExportKind),
        *(SupportCb(action=a, user_id=target).pack() for a in SupportAction),
    ]


async def test_a_payment_support_request_is_answered_by_an_admin(sandbox_bot: SandboxHarness) -> None:
    owner = sandbox_bot.user(OWNER)
    await started(owner)
    customer = sandbox_bot.user(first_name="Customer", language_code="ru")
    await started(customer)
    before = await last_id(owner)

    sent = await customer.ask("/paysupport I paid 50 stars & got <nothing>", contains="поддержку")
    request = await owner.wait_reply(before, contains="Payment support from Customer")
    assert "I paid 50 stars & got <nothing>" in text_of(request)
    prompt = await press_reply(
        owner, request, SupportCb(action=SupportAction.REPLY, user_id=customer.user_id)
    )
    assert str(customer.user_id) in text_of(prompt)

    await owner.send("Sorry! <b>Refunded</b> & credited")
    await owner.wait_reply(int(prompt["message_id"]), contains=f"went to user {customer.user_id}")
    answer = await customer.wait_reply(int(sent["message_id"]), contains="Ответ поддержки")
    assert "Sorry! <b>Refunded</b> & credited" in text_of(answer), "sent as typed, not as HTML"

    # The next message is not an answer any more; a second Reply can be left with Cancel.
    chatter = await owner.send("and this is just for me")
    await asyncio.sleep(QUIET)
    assert not [m for m in await customer.messages(int(answer["message_id"])) if "just for me" in text_of(m)]
    prompt = await press_reply(
        owner, request, SupportCb(action=SupportAction.REPLY, user_id=customer.user_id)
    )
    await press(owner, prompt, SupportCb(action=SupportAction.CANCEL).pack(), "not sent")
    await owner.send("not an answer either")
    await asyncio.sleep(QUIET)
    assert not [m for m in await customer.messages(int(answer["message_id"])) if "either" in text_of(m)]
    assert chatter


async def press_reply(client: UserClient, message: Message, data: SupportCb) -> Message:
    """Tap Reply under a forwarded request; the prompt comes as a new message."""
    before = await last_id(client)
    assert data.pack() in {b.get("callback_data") for b in buttons_of(message)}
    await client.tap(int(message["message_id"]), data.pack())
    return await client.wait_reply(before, contains="answer to user")


async def test_an_owner_removed_from_admin_ids_is_refused(sandbox_bot: SandboxHarness) -> None:
    ctx = ctx_of(sandbox_bot)
    # Stored as "owner" when their id was in ADMIN_IDS; it no longer is.
    await add_user(ctx.session_factory, FORMER_OWNER, "Pavel", role="owner")
    assert ctx.bot is not None
    await show_admin_commands(ctx.bot, ctx.i18n, ctx.session_factory, ctx.settings.admin_ids)
    removed = await sandbox_bot.control.calls("deleteMyCommands")
    assert any(str(FORMER_OWNER) in str(c["params"].get("scope", "")) for c in removed), removed

    customer = sandbox_bot.user(first_name="Customer")
    await started(customer)
    payment = await add_payment(ctx.session_factory, customer.user_id, charge_id="former-owner-charge")
    pavel = sandbox_bot.user(FORMER_OWNER, first_name="Pavel")

    refused = await pavel.ask("/refund former-owner-charge")
    assert "I don't know that command" in text_of(refused)
    reply = await pavel.ask("/admin")
    assert "I don't know that command" in text_of(reply) and not buttons_of(reply)
    async with ctx.session_factory() as session:
        paid = await session.get(Payment, payment)
        former = await session.get(User, FORMER_OWNER)
        assert paid is not None and paid.status == "paid"
        assert former is not None and former.role == "user", "the stored role is corrected"
    assert not await sandbox_bot.control.calls("refundStarPayment")
    assert not [m for m in await customer.messages(0) if "refunded" in text_of(m)]


async def test_a_normal_user_is_refused_everything(sandbox_bot: SandboxHarness) -> None:
    ctx = ctx_of(sandbox_bot)
    mallory = sandbox_bot.user(first_name="Mallory")
    victim = sandbox_bot.user(first_name="Victim")
    await started(victim)
    book = await add_book(ctx.session_factory, victim.user_id, status="failed", title="Target")
    payment = await add_payment(ctx.session_factory, victim.user_id, charge_id="victim-charge")
    draft = await ctx.services["broadcasts"].create(author_id=OWNER, text="spam", audience=Audience("all"))
    start = await started(mallory)

    before = await _snapshot(ctx)
    reply = await mallory.ask("/admin")
    assert "Admin" not in text_of(reply) and not any(
        "adm" in str(b.get("callback_data")) for b in buttons_of(reply)
    )
    await mallory.ask("/admin 1")
    forged = every_admin_callback(victim.user_id, book, payment, draft)
    assert len(forged) == len(Section) + len(UserAction) + len(BookAction) + len(PaymentAction) + len(
        BroadcastAction
    ) + len(ExportKind) + len(SupportAction)
    for data in forged:
        assert len(data.encode()) <= 64
        answer = await mallory.tap(start, data, force=True)
        assert answer.get("text") == "⛔ This is for admins only." and answer.get("show_alert"), (
            data,
            answer,
        )
    await asyncio.sleep(QUIET)
    seen = await mallory.messages(start)
    assert not any(m.get("document") or m.get("photo") for m in seen)
    assert not any("Broadcast" in text_of(m) or "Balance" in text_of(m) for m in seen)
    assert await _snapshot(ctx) == before
    assert (await victim.messages(0)) and not any("spam" in text_of(m) for m in await victim.messages(0))


async def test_every_screen_in_russian(sandbox_bot: SandboxHarness) -> None:
    owner = sandbox_bot.user(OWNER_RU, language_code="ru")
    await started(owner)
    menu = await owner.ask("/admin", contains="Администрирование")
    screens = {
        Section.OVERVIEW: "Обзор",
        Section.USERS: "Пользователи",
        Section.BOOKS: "Книги",
        Section.PAYMENTS: "Платежи",
        Section.BROADCASTS: "Рассылки",
        Section.EXPORT: "Выгрузка",
    }
    for section, title in screens.items():
        screen = await press(owner, menu, MenuCb(section=section).pack(), title)
        assert "admin-" not in text_of(screen) and all(
            "admin-" not in str(b["text"]) for b in buttons_of(screen)
        )
        menu = await press(owner, screen, MenuCb(section=Section.MENU).pack(), "Выберите раздел")
    card = await owner.ask(f"/admin {OWNER_RU}", contains="Баланс")
    assert "владелец" in text_of(card)

    # Lists page: 11 users are two pages of newest users.
    ctx = ctx_of(sandbox_bot)
    for n in range(10):
        await add_user(ctx.session_factory, 900 + n, f"Читатель{n}")
    screen = await press(owner, menu, MenuCb(section=Section.USERS).pack(), "всего 11")
    first = await press(owner, screen, UserCb(action=UserAction.NEWEST).pack(), "Новые пользователи")
    assert "1/2" in str(buttons_of(first))
    second = await press(
        owner, first, UserCb(action=UserAction.NEWEST, page=1).pack(), lambda m: "2/2" in str(buttons_of(m))
    )
    assert len([b for b in buttons_of(second) if str(b["callback_data"]).startswith("admu:card:")]) == 3
    menu = await press(
        owner, second, MenuCb(section=Section.USERS).pack(), lambda m: text_of(m).startswith("👥")
    )
    menu = await press(owner, menu, MenuCb(section=Section.MENU).pack(), "Выберите раздел")
    closed = await press(owner, menu, MenuCb(section=Section.CLOSE).pack(), "Меню закрыто")
    assert not buttons_of(closed)
