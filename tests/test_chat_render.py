"""Markdown -> Telegram HTML and the 4096-character splitter: table tests and properties on nasty input."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.telegram_html import markdown_to_html, split_html, visible_length

formatting = pytest.importorskip("bot.sandbox.formatting")


def telegram_accepts(source: str) -> str:
    """The visible text Telegram would show; raises like Telegram on malformed HTML."""
    text, _entities = formatting.parse_html(source)
    return text


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("**bold** and *italic*", "<b>bold</b> and <i>italic</i>"),
        ("__bold__ _it_ snake_case_name", "<b>bold</b> <i>it</i> snake_case_name"),
        ("a < b && c > d", "a &lt; b &amp;&amp; c &gt; d"),
        ("<b>not a tag</b>", "&lt;b&gt;not a tag&lt;/b&gt;"),
        ("unclosed **bold", "unclosed **bold"),
        ("**a *b** c*", "<b>a *b</b> c*"),
        ("***both***", "<b><i>both</i></b>"),
        ("`x < y`", "<code>x &lt; y</code>"),
        ("x `code` y", "x <code>code</code> y"),
        (
            "He said ``hello`` and `left`; a lone ` tick",
            "He said <code>hello</code> and <code>left</code>; a lone ` tick",
        ),
        ("```py\nif a<b:\n  pass\n```", '<pre><code class="language-py">if a&lt;b:\n  pass</code></pre>'),
        ("```\nunclosed <fence>", "<pre>unclosed &lt;fence&gt;</pre>"),
        ("## Heading *x*", "<b>Heading <i>x</i></b>"),
        ("- one\n* two\n+ three", "• one\n• two\n• three"),
        ("1) first\n2. second", "1. first\n2. second"),
        ("> quoted **line**\n> next", "<blockquote>quoted <b>line</b>\nnext</blockquote>"),
        ("[site](https://example.com/?a=1&b=2)", '<a href="https://example.com/?a=1&amp;b=2">site</a>'),
        ("[x](javascript:alert(1))", "[x](javascript:alert(1))"),
        ('[q](https://e.com/"onclick)', '[q](https://e.com/"onclick)'),
        ("2 * 3 * 4", "2 * 3 * 4"),
        ("~~gone~~ ||secret||", "<s>gone</s> <tg-spoiler>secret</tg-spoiler>"),
        ("\\*literal\\*", "*literal*"),
        ("&amp; stays text", "&amp;amp; stays text"),
    ],
)
def test_markdown_table(markdown: str, expected: str) -> None:
    assert markdown_to_html(markdown) == expected
    telegram_accepts(expected)


markdownish = st.lists(
    st.sampled_from([*"ab *_~|`#>-[]()<>&;\n\\.!1", "**", "```", "](https://x.io)", "&amp;", "ё", "😀"]),
    max_size=120,
).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markdownish)
def test_any_markdown_gives_html_telegram_accepts(text: str) -> None:
    telegram_accepts(markdown_to_html(text))


def test_short_text_is_one_part() -> None:
    assert split_html("<b>hi</b>") == ["<b>hi</b>"]
    assert split_html("   ") == []


def test_ten_thousand_characters_split_without_breaking_words_or_tags() -> None:
    words = [f"word{i}" for i in range(1700)]
    source = "<b>" + " ".join(words[:600]) + "</b> " + "<i>" + " ".join(words[600:]) + "</i>"
    assert visible_length(source) > 10_000
    parts = split_html(source)
    assert len(parts) >= 3
    seen: list[str] = []
    for part in parts:
        assert visible_length(part) <= 4096
        seen.extend(telegram_accepts(part).split())
    assert seen == words  # nothing lost, nothing cut in half
    assert parts[1].startswith("<b>") or parts[1].startswith("<i>")


def test_split_prefers_paragraphs_and_reopens_links() -> None:
    para = "Sentence one is here. " * 50  # 1100 characters
    source = f"{para}\n\n{para}"
    assert split_html(source, limit=1500) == [para.strip(), para.strip()]  # at the paragraph, not mid-way
    linked = f'<a href="https://e.com/?a=1&amp;b=2">{para}{para.strip()}</a>'
    parts = split_html(linked, limit=1500)
    for part in parts:
        assert visible_length(part) <= 1500
        telegram_accepts(part)
        assert part.endswith("here.</a>")  # closed after a whole sentence
    assert parts[1].startswith('<a href="https://e.com/?a=1&amp;b=2">Sentence')


def test_one_huge_word_is_cut_hard() -> None:
    parts = split_html("x" * 9000)
    assert [visible_length(p) for p in parts] == [4096, 4096, 808]


def test_entities_count_as_one_character() -> None:
    source = "&lt;" * 5000
    parts = split_html(source)
    assert sum(visible_length(p) for p in parts) == 5000
    assert all(telegram_accepts(p) for p in parts)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(markdownish, min_size=1, max_size=30), st.integers(min_value=20, max_value=300))
def test_split_parts_are_valid_and_within_limit(chunks: list[str], limit: int) -> None:
    source = markdown_to_html("\n".join(chunks))
    parts = split_html(source, limit=limit)
    original = "".join(telegram_accepts(source).split())
    joined = ""
    for part in parts:
        assert visible_length(part) <= limit
        assert part.strip()
        joined += "".join(telegram_accepts(part).split())
    assert joined == original  # only whitespace at the cuts may go


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from(["`code`", "``x``", "**b**", "a < b", "word", "ё", "😀", "\n", "- item\n"]),
        min_size=10,
        max_size=40,
    ).map(lambda parts: " ".join(parts * 120))  # a long answer, several times Telegram's limit
)
def test_a_streamed_preview_stays_within_one_message(text: str) -> None:
    from handlers.chat_stream import preview_html

    shown = telegram_accepts(preview_html(text))
    assert len(shown.encode("utf-16-le")) // 2 <= 4096, "drafts keep Telegram's limit like messages"


def test_an_item_is_never_cut_across_two_messages() -> None:
    """"More detail" and the passages: a short item, then one long item of several lines. The long one
    goes whole into the next message rather than starting in the first and ending in the second."""
    short = "[1] Chapter 1, 3%\n«" + "word " * 180 + "»"
    long = "[2] Chapter 7, 41%\n" + "\n".join("«" + "line " * 60 + "»" for _ in range(11))
    parts = split_html(short + "\n\n" + long)
    assert parts == [short.strip(), long.strip()]
    listed = "\n".join(f"{n}. " + "point " * 70 for n in range(1, 20))  # items on single lines
    for part in split_html(listed):
        assert all(line[: line.index(".")].isdigit() for line in part.splitlines()), part[:80]
