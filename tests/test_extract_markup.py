"""Markdown and HTML books: headings become chapters, markup becomes plain paragraphs."""

from __future__ import annotations

import pytest

from services.ingestion.detect import BookFormat
from services.ingestion.errors import ErrorCode, IngestionError
from services.ingestion.extract import extract
from tests.extract_factories import BILLION_LAUGHS

MARKDOWN = """---
title: "Field Notes"
author: Ann Author
lang: en
---

Preface text with a [link](http://example.com) and **bold** and *emphasis*.

# Chapter One

First paragraph
continues here.

Second paragraph with `code` and ![a picture](pic.png).

```
# not a heading inside code
```

## A Section

Section text.

Setext Chapter
==============

Under the setext heading.

---

#### Deep heading stays text

| a | b |
|---|---|
| 1 | 2 |
"""


def test_markdown_structure() -> None:
    book = extract(MARKDOWN.encode(), "notes.md")
    assert book.format is BookFormat.MARKDOWN
    assert (book.title, book.author, book.language) == ("Field Notes", "Ann Author", "en")
    chapters = [(s.chapter, s.level) for s in book.sections]
    assert chapters == [(None, 0), ("Chapter One", 1), ("A Section", 2), ("Setext Chapter", 1)]
    preface, one, section, setext = (s.text for s in book.sections)
    assert preface == "Preface text with a link and bold and emphasis."
    assert one.split("\n\n") == [
        "Chapter One",
        "First paragraph\ncontinues here.",
        "Second paragraph with code and a picture.",
        "# not a heading inside code",
    ]
    assert section == "A Section\n\nSection text."
    assert "Deep heading stays text" in setext and "| 1 | 2 |" in setext and "|---|" not in setext


def test_markdown_title_from_first_heading() -> None:
    book = extract(b"# The Book\n\nText.\n", "x.md")
    assert book.title == "The Book"


HTML = """<!DOCTYPE html>
<html lang="ru"><head><meta charset="windows-1251"><title>Сборник</title>
<meta name="author" content="Иван Петров"><style>p {color: red}</style><script>alert(1)</script></head>
<body>
<p>Вступление &mdash; коротко.</p>
<h1>Часть первая</h1>
<p>Первый&nbsp;абзац <b>с разметкой</b>
   и переносом.</p><p>Второй<br/>абзац.</p>
<h2>Глава 1</h2><div>Текст главы.</div>
<h4>Мелкий заголовок</h4><p>Ещё текст.</p>
<table><tr><td>ячейка 1</td><td>ячейка 2</td></tr></table>
<pre>  код
    с отступом</pre>
</body></html>"""


def test_html_structure_and_charset() -> None:
    book = extract(HTML.encode("cp1251"), "page.html")
    assert book.format is BookFormat.HTML
    assert (book.title, book.author, book.language) == ("Сборник", "Иван Петров", "ru")
    assert [(s.chapter, s.level) for s in book.sections] == [(None, 0), ("Часть первая", 1), ("Глава 1", 2)]
    intro, part, chapter = (s.text for s in book.sections)
    assert intro == "Вступление — коротко."
    assert part.split("\n\n") == ["Часть первая", "Первый абзац с разметкой и переносом.", "Второй\nабзац."]
    assert "alert" not in book.text and "color" not in book.text
    assert chapter.split("\n\n")[:4] == ["Глава 1", "Текст главы.", "Мелкий заголовок", "Ещё текст."]
    assert "ячейка 1 ячейка 2" in chapter
    assert "код\n    с отступом" in chapter  # indentation inside <pre> kept


def test_html_entity_declarations_are_refused() -> None:
    data = (BILLION_LAUGHS.replace("lolz", "html") + "<html><body><p>&lol9;</p></body></html>").encode()
    with pytest.raises(IngestionError) as caught:
        extract(data, "bomb.html")
    assert caught.value.code is ErrorCode.XML_BOMB


def test_html_without_text() -> None:
    with pytest.raises(IngestionError) as caught:
        extract(b"<html><body><img src='a.png'><script>x()</script></body></html>", "a.html")
    assert caught.value.code is ErrorCode.NO_TEXT
