"""What the chat shows: answers with their places, sources, modes, summaries, study questions; its
callback data and FSM states. Everything from a book or a model is escaped or converted here; book text
is reflowed (`reflow`) so a book's hard line breaks do not show."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Translator
from bot.render import escape, markdown_to_html, split_html
from handlers.callbacks import BookId, RowId
from services.chat import EXTRACTIVE, MODES, AnswerResult, Citation
from services.chat.study import StudyCheck, StudyQuestion
from services.chat.summaries import Chapter, Summary, SummaryEstimate
from services.places import chapter_name as localised_chapter
from services.search.sentences import reflow

PASSAGE_CHARS = 700
SEARCH_PASSAGE_CHARS = 300
CHAPTERS_PER_PAGE = 20
BUTTON_TITLE = 40


class ChatCb(CallbackData, prefix="chat"):
    action: str  # src | more | new | book (leave the search of all books)
    turn: RowId = 0


class ModeCb(CallbackData, prefix="mode"):
    mode: str  # answer | quotes | simple | study | search


class SummaryCb(CallbackData, prefix="sum"):
    action: str  # go | chapters | chapter | cancel
    book_id: BookId
    key: str = ""  # chapter key


class StudyCb(CallbackData, prefix="study"):
    action: str  # ask | stop
    book_id: BookId = 0
    key: str = ""  # chapter key; "" for any chapter


class ReadCb(CallbackData, prefix="read"):
    """Spoiler-safe reading (handlers/reading.py): the last chapter finished, or clear the limit."""

    action: str  # ch | clear
    book_id: BookId
    key: str = ""  # chapter key


class ChaptersCb(CallbackData, prefix="chp"):
    """A page of the chapter picker, for summaries, study or how far the reader has read."""

    purpose: str  # sum | study | read
    book_id: int
    page: int = 0


class ChatStates(StatesGroup):
    search = State()  # waiting for a /search query
    study = State()  # data: question (StudyQuestion.as_dict()), key


def clip(text: str, limit: int) -> str:
    """`text` within `limit` characters, cut after a word ("…"); runs of spaces made one, line breaks kept."""
    text = "\n".join(" ".join(line.split()) for line in text.strip().split("\n"))
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(None, 1)[0]
    return (cut or text[:limit]) + "…"


def chapter_name(i18n: Translator, chapter: str) -> str:
    """A chapter's name as the reader sees it (not escaped): a play's "Act I, Scene 2" in their language."""
    return localised_chapter(chapter, i18n)


def place_text(i18n: Translator, citation: Citation | None = None, *, page: int | None = None,
               chapter: str | None = None, title: str | None = None,
               percent: float | None = None) -> str:  # fmt: skip
    """ "Title, Chapter, p. 12, 34%" (escaped): what a reader needs to find the passage; `percent` is
    how far through the book it is (0-100), shown for every passage that has it."""
    if citation is not None:
        page, chapter, percent = citation.page, citation.chapter, citation.percent
    parts = [escape(title)] if title else []
    if chapter:
        parts.append(escape(clip(chapter_name(i18n, chapter), 80)))
    if page is not None:
        parts.append(i18n("chat-place-page", page=page))
    if percent is not None:
        parts.append(i18n("chat-place-percent", percent=min(100, max(0, int(percent)))))
    return ", ".join(parts) or i18n("chat-place-unknown")


def answer_html(i18n: Translator, result: AnswerResult, titles: Mapping[int, str] | None = None) -> str:
    """The answer, then the places its [n] markers refer to, then notes."""
    if result.provider == EXTRACTIVE:
        lines = [i18n("chat-offline-note") if result.degraded else i18n("chat-extractive-intro")]
        lines.append(escape(result.text))
        body = "\n".join(lines)
    else:
        body = markdown_to_html(result.text)
    parts = [body]
    if result.citations:
        places = [
            f"[{n}] {place_text(i18n, c, title=_title(titles, c))}"
            for n, c in enumerate(result.citations, start=1)
        ]
        parts.append(i18n("chat-sources-title") + "\n" + "\n".join(places))
    if result.unverified_quotes:
        parts.append(i18n("chat-unverified"))
    searched = {result.book_id} if result.book_id is not None else {c.book_id for c in result.passages}
    return "\n\n".join(parts) + limits_note(i18n, result.limits, searched)


def limits_note(i18n: Translator, limits: Mapping[int, float], book_ids: set[int]) -> str:
    """Spoiler-safe reading: a line saying the reply kept to the part of the book(s) read ("" if not)."""
    limited = [limits[book] for book in book_ids if book in limits]
    if not limited:
        return ""
    if len(limited) == 1:
        return "\n\n" + i18n("reading-note", percent=_percent(limited[0]))
    return "\n\n" + i18n("reading-note-books", count=len(limited))


def _percent(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def passages_html(
    i18n: Translator,
    citations: Sequence[Citation],
    titles: Mapping[int, str] | None = None,
    *,
    limit: int = PASSAGE_CHARS,
) -> str:
    blocks = []
    for n, citation in enumerate(citations, start=1):
        place = place_text(i18n, citation, title=_title(titles, citation))
        blocks.append(
            f"<b>[{n}]</b> {place}\n<blockquote expandable>{escape(clip(reflow(citation.text), limit))}</blockquote>"
        )
    return "\n".join(blocks)


def search_html(
    i18n: Translator, query: str, citations: Sequence[Citation], titles: Mapping[int, str]
) -> str:
    """Passages across the shelf, grouped by book (books in the order of their best passage)."""
    by_book: dict[int, list[Citation]] = {}
    for citation in citations:
        by_book.setdefault(citation.book_id, []).append(citation)
    parts = [i18n("chat-search-title", query=escape(clip(query, 200)))]
    for book_id, found in by_book.items():
        lines = [i18n("chat-search-book", title=escape(titles.get(book_id, "?")))]
        for citation in found:
            place = place_text(i18n, citation)
            lines.append(
                f"• <i>{place}</i>\n<blockquote>{escape(clip(reflow(citation.text), SEARCH_PASSAGE_CHARS))}</blockquote>"
            )
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def answer_keyboard(i18n: Translator, turn_id: int | None) -> InlineKeyboardMarkup:
    turn = turn_id or 0
    rows = []
    if turn:
        rows.append(
            [
                InlineKeyboardButton(
                    text=i18n("chat-button-sources"), callback_data=ChatCb(action="src", turn=turn).pack()
                ),
                InlineKeyboardButton(
                    text=i18n("chat-button-more"), callback_data=ChatCb(action="more", turn=turn).pack()
                ),
            ]
        )
    rows.append(
        [InlineKeyboardButton(text=i18n("chat-button-new"), callback_data=ChatCb(action="new").pack())]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def mode_keyboard(i18n: Translator, current: str) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                text=("• " if mode == current else "") + i18n(f"chat-mode-{mode}"),
                callback_data=ModeCb(mode=mode).pack(),
            )
        ]
        for mode in MODES
    ]
    rows.append(
        [InlineKeyboardButton(text=i18n("chat-mode-search"), callback_data=ModeCb(mode="search").pack())]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def leave_search_keyboard(i18n: Translator) -> InlineKeyboardMarkup:
    """Under each result while searching all books: back to asking the active book."""
    button = InlineKeyboardButton(
        text=i18n("chat-button-leave-search"), callback_data=ChatCb(action="book").pack()
    )
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


def parts(html: str) -> list[str]:
    return split_html(html) or [html]


# --- summaries -------------------------------------------------------------------------------------


def estimate_html(i18n: Translator, title: str, estimate: SummaryEstimate, credits: int | None) -> str:
    text = i18n(
        "summary-estimate",
        title=escape(title),
        calls=estimate.calls,
        tokens=estimate.input_tokens + estimate.output_tokens,
    )
    if credits is not None:
        text += "\n" + i18n("summary-estimate-credits", credits=credits)
    return text + "\n\n" + i18n("summary-confirm")


def estimate_keyboard(i18n: Translator, book_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=i18n("summary-button-confirm"), callback_data=SummaryCb(action="go", book_id=book_id).pack()),
                InlineKeyboardButton(text=i18n("summary-button-cancel"), callback_data=SummaryCb(action="cancel", book_id=book_id).pack()),
            ],
            [InlineKeyboardButton(text=i18n("summary-button-chapters"), callback_data=SummaryCb(action="chapters", book_id=book_id).pack())],
        ]
    )  # fmt: skip


def summary_html(i18n: Translator, title: str, summary: Summary) -> str:
    heading = chapter_name(i18n, summary.chapter) if summary.chapter else title
    parts = [i18n("summary-title", title=escape(heading))]
    if summary.short:
        parts.append(i18n("summary-short") + "\n" + _summary_text(summary, summary.short))
    if summary.long and summary.long != summary.short:
        parts.append(i18n("summary-long") + "\n" + _summary_text(summary, summary.long))
    if summary.topics:
        parts.append(i18n("summary-topics", topics=escape(", ".join(summary.topics))))
    if summary.quotes:
        quotes = [
            i18n(
                "summary-quote",
                text=escape(clip(reflow(q.text), 400)),
                place=place_text(i18n, page=q.page, chapter=q.chapter, percent=q.percent),
            )
            for q in summary.quotes
        ]
        parts.append(i18n("summary-quotes") + "\n" + "\n".join(quotes))
    if summary.method == "extractive":
        parts.append(i18n("summary-method-extractive"))
    _, marked, limit = summary.scope.partition("|read<")
    if marked:
        parts.append(i18n("reading-note", percent=_percent(float(limit))))
    return "\n\n".join(parts)


def summary_keyboard(i18n: Translator, book_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=i18n("summary-button-chapters"), callback_data=SummaryCb(action="chapters", book_id=book_id).pack())]
        ]
    )  # fmt: skip


def chapters_keyboard(
    i18n: Translator,
    chapters: Sequence[Chapter],
    book_id: int,
    *,
    study: bool = False,
    reading: bool = False,
    page: int = 0,
) -> InlineKeyboardMarkup:
    """One page of chapters (study mode adds "any chapter" on top), with buttons to the pages around;
    for summaries, study, or (`reading`) the last chapter the reader finished."""  # fmt: skip
    pages = max(1, -(-len(chapters) // CHAPTERS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    first = page * CHAPTERS_PER_PAGE
    rows = []
    if study:
        data = StudyCb(action="ask", book_id=book_id).pack()
        rows.append([InlineKeyboardButton(text=i18n("study-any"), callback_data=data)])
    for chapter in chapters[first : first + CHAPTERS_PER_PAGE]:
        if reading:
            data = ReadCb(action="ch", book_id=book_id, key=chapter.key).pack()
        elif study:
            data = StudyCb(action="ask", book_id=book_id, key=chapter.key).pack()
        else:
            data = SummaryCb(action="chapter", book_id=book_id, key=chapter.key).pack()
        label = clip(chapter_name(i18n, chapter.label), BUTTON_TITLE)
        rows.append([InlineKeyboardButton(text=label, callback_data=data)])
    purpose = "read" if reading else "study" if study else "sum"
    turns = []
    if page > 0:
        start = first - CHAPTERS_PER_PAGE
        turns.append(
            InlineKeyboardButton(
                text=i18n("chapters-previous", first=start + 1, last=first),
                callback_data=ChaptersCb(purpose=purpose, book_id=book_id, page=page - 1).pack(),
            )
        )
    if page < pages - 1:
        start = first + CHAPTERS_PER_PAGE
        turns.append(
            InlineKeyboardButton(
                text=i18n(
                    "chapters-next", first=start + 1, last=min(start + CHAPTERS_PER_PAGE, len(chapters))
                ),
                callback_data=ChaptersCb(purpose=purpose, book_id=book_id, page=page + 1).pack(),
            )
        )
    if turns:
        rows.append(turns)
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _summary_text(summary: Summary, text: str) -> str:
    return escape(text) if summary.method == "extractive" else markdown_to_html(text)


# --- study -----------------------------------------------------------------------------------------


def study_question_html(i18n: Translator, question: StudyQuestion) -> str:
    key = "study-gap" if question.method == "gap" else "study-question"
    place = place_text(i18n, page=question.page, chapter=question.chapter)
    return i18n(key, question=escape(question.question)) + "\n" + i18n("study-place", place=place)


def study_check_html(i18n: Translator, check: StudyCheck) -> str:
    lines = [i18n(f"study-{check.verdict}")]
    if check.feedback:
        lines.append(markdown_to_html(check.feedback))
    if check.verdict != "correct" or not check.feedback:
        lines.append(i18n("study-expected", expected=escape(check.expected)))
    return "\n".join(lines)


def study_keyboard(i18n: Translator, book_id: int, key: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=i18n("study-next"), callback_data=StudyCb(action="ask", book_id=book_id, key=key).pack())],
            [InlineKeyboardButton(text=i18n("study-stop"), callback_data=StudyCb(action="stop").pack())],
        ]
    )  # fmt: skip


def _title(titles: Mapping[int, str] | None, citation: Citation) -> str | None:
    return titles.get(citation.book_id) if titles else None
