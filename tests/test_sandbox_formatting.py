"""The sandbox's HTML parse mode: Telegram's tags, UTF-16 offsets and Telegram's error wording."""

from __future__ import annotations

import pytest

from bot.sandbox.formatting import (
    EntityParseError,
    detect_entities,
    entities_to_html,
    parse_html,
    strip_text,
)


def test_nested_tags_become_entities() -> None:
    text, entities = parse_html("<b>bold <i>both</i></b> &lt;tag&gt; &amp; &quot;q&quot; &#128218;")
    assert text == 'bold both <tag> & "q" 📚'
    assert entities == [
        {"type": "bold", "offset": 0, "length": 9},
        {"type": "italic", "offset": 5, "length": 4},
    ]


def test_offsets_are_utf16_code_units() -> None:
    text, entities = parse_html("📚 <b>book</b>")
    assert text == "📚 book"
    assert entities == [{"type": "bold", "offset": 3, "length": 4}]


@pytest.mark.parametrize(
    ("source", "entity"),
    [
        (
            '<a href="https://example.com/?a=1&amp;b=2">x</a>',
            {"type": "text_link", "url": "https://example.com/?a=1&b=2"},
        ),
        ('<span class="tg-spoiler">x</span>', {"type": "spoiler"}),
        ("<tg-spoiler>x</tg-spoiler>", {"type": "spoiler"}),
        ("<s>x</s>", {"type": "strikethrough"}),
        ("<del>x</del>", {"type": "strikethrough"}),
        ("<ins>x</ins>", {"type": "underline"}),
        ("<code>x</code>", {"type": "code"}),
        ("<pre>x</pre>", {"type": "pre"}),
        ('<pre><code class="language-python">x</code></pre>', {"type": "pre", "language": "python"}),
        ("<blockquote>x</blockquote>", {"type": "blockquote"}),
        ("<blockquote expandable>x</blockquote>", {"type": "expandable_blockquote"}),
        (
            '<tg-emoji emoji-id="5368324170671202286">x</tg-emoji>',
            {"type": "custom_emoji", "custom_emoji_id": "5368324170671202286"},
        ),
    ],
)
def test_each_allowed_tag(source: str, entity: dict[str, str]) -> None:
    text, entities = parse_html(source)
    assert text == "x"
    assert entities == [{"offset": 0, "length": 1, **entity}]


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("a <br> b", 'Unsupported start tag "br" at byte offset 2'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("<a href=x/y>x</a>", "Unexpected end of name token at byte offset 8"),
        ("ж<p>", 'Unsupported start tag "p" at byte offset 2'),
    ],
)
def test_malformed_html_is_refused_as_telegram_words_it(source: str, error: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_html(source)
    assert str(caught.value) == error


def test_bare_ampersand_and_unknown_entities_stay_text() -> None:
    assert parse_html("R&D &nbsp; &copy")[0] == "R&D &nbsp; &copy"


def test_strip_keeps_entities_on_their_characters() -> None:
    text, entities = strip_text("  hi there \n", [{"type": "bold", "offset": 5, "length": 5}])
    assert text == "hi there"
    assert entities == [{"type": "bold", "offset": 3, "length": 5}]


def test_detects_commands_links_and_mentions_in_user_text() -> None:
    text = "/start ref_1 see https://example.com/a, ask @librarity_bot #books"
    kinds = {e["type"]: text[e["offset"] : e["offset"] + e["length"]] for e in detect_entities(text)}
    assert kinds == {
        "bot_command": "/start",
        "url": "https://example.com/a",
        "mention": "@librarity_bot",
        "hashtag": "#books",
    }


def test_closing_tags_in_user_text_are_not_commands() -> None:
    assert detect_entities("hello <b>there</b>") == []


def test_entities_back_to_html_round_trip() -> None:
    source = '<b>a <i>b</i></b> &lt;c&gt; <a href="https://x.y/?q=&quot;">📚 d</a>'
    assert parse_html(entities_to_html(*parse_html(source))) == parse_html(source)
