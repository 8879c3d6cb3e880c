"""Russian texts put a book's title in «» wherever it stands inside a sentence: a Russian title cannot be
declined by a template ("Индексирую Капитанская дочка"), quoted it reads right in every case."""

from __future__ import annotations

import re
from pathlib import Path

from locales.i18n import I18n

RU = Path(__file__).parents[1] / "locales" / "ru"
TITLE = "Капитанская дочка"


def test_every_russian_sentence_quotes_the_title() -> None:
    unquoted = []
    for path in sorted(RU.glob("*.ftl")):
        for line in path.read_text("utf-8").splitlines():
            if "{ $title }" not in line or not re.search("[а-яё]", line, re.IGNORECASE):
                continue  # a heading with the title alone
            if not re.search(r"«(<b>)?\{ \$title \}(</b>)?»", line):
                unquoted.append(f"{path.name}: {line.strip()}")
    assert not unquoted, unquoted


def test_rendered_russian_messages_quote_the_book() -> None:
    i18n = I18n(default="ru")
    assert f"«{TITLE}»" in i18n.get("ru", "library-progress", stage="🧠 Индексирую", name=TITLE, percent=40)
    assert f"«{TITLE}»" in i18n.get("ru", "notify-book-ready", title=TITLE)
    assert f"«{TITLE}»" in i18n.get("ru", "library-delete-confirm", title=TITLE)
    # English keeps its own typography: the title in bold, no guillemets.
    assert "«" not in i18n.get("en", "notify-book-ready", title=TITLE)
