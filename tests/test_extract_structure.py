"""Chapters of plain-text books: contents lists skipped, titled numerals, volumes and a play's acts and scenes."""

from __future__ import annotations

from services.ingestion.extract import extract
from services.places import play_label, play_place, roman
from tests.conftest import shared_data

PROSE = (
    "The morning was grey and the street was quiet when the visitor came to the door and asked "
    "for the doctor, who was not at home.\n\n"
) * 20


def _chapters(text: str, name: str = "book.txt") -> list[str | None]:
    book = extract(text.encode(), name)
    names: list[str | None] = []
    for section in book.sections:
        if not names or names[-1] != section.chapter:
            names.append(section.chapter)
    return names


def test_contents_under_a_contents_line_are_not_chapters() -> None:
    contents = "CONTENTS\n\n" + "".join(
        f"CHAPTER {n}. {title}\n\n"
        for n, title in (("I", "The Start"), ("II", "The Road"), ("III", "The End"))
    )
    body = "".join(
        f"CHAPTER {n}. {title}\n\n{PROSE}"
        for n, title in (("I", "The Start"), ("II", "The Road"), ("III", "The End"))
    )
    names = _chapters(f"[A Tale by Somebody 1900]\n\n{contents}\n{body}")
    assert names == [None, "CHAPTER I. The Start", "CHAPTER II. The Road", "CHAPTER III. The End"]


def test_contents_as_one_block_of_lines_are_not_chapters() -> None:
    entries = ["I. The Absence of Mr Glass", "II. The Paradise of Thieves", "III. The Duel of Dr Hirsch"]
    contents = "Contents\n\n" + "\n".join(f"  {entry}" for entry in entries) + "\n\n\n"
    body = "".join(f"{entry}\n\n\n{PROSE}" for entry in entries)
    names = _chapters(contents + body)
    assert names == [None, *entries]


def test_a_list_of_headings_without_text_that_come_again_is_a_contents_list() -> None:
    titles = ["CHAPTER 1", "CHAPTER 2", "CHAPTER 3", "CHAPTER 4"]
    contents = "".join(f"{title}\n\n" for title in titles)
    body = "".join(f"{title}\n\n{PROSE}" for title in titles)
    book = extract(f"Front matter of the book.\n\n{contents}{body}".encode(), "book.txt")
    assert book.chapters == 4
    assert all(len(section.text) > 1000 for section in book.sections if section.chapter)


def test_roman_numerals_with_titles_in_ordinary_case_are_chapters() -> None:
    stories = ["I. The Blue Cross", "II. The Secret Garden", "III. The Queer Feet"]
    names = _chapters("".join(f"{story}\n\n\n{PROSE}" for story in stories))
    assert names == stories


def test_numbered_sentences_are_not_chapters() -> None:
    # Moby Dick's whaling laws: two numbered lines, and a numbered paragraph that runs on
    text = (
        f"{PROSE}I. A Fast-Fish belongs to the party fast to it.\n\n"
        f"II. A Loose-Fish is fair game for anybody who can soonest catch it.\n\n{PROSE}"
        "BOOK I. (FOLIO), CHAPTER I. (SPERM WHALE).--This whale, among the\n"
        f"English of old vaguely known as the Trumpa whale.\n\n{PROSE}"
    )
    assert _chapters(text) == [None]


def test_chapters_are_named_with_their_volume() -> None:
    text = "".join(
        f"VOLUME {volume}\n\nCHAPTER {chapter}\n\n{PROSE}" + (f"CHAPTER II\n\n{PROSE}")
        for volume, chapter in (("I", "I"), ("II", "I"))
    )
    book = extract(text.encode(), "emma.txt")
    names = [s.chapter for s in book.sections]
    assert names == [
        "VOLUME I, CHAPTER I",
        "VOLUME I, CHAPTER II",
        "VOLUME II, CHAPTER I",
        "VOLUME II, CHAPTER II",
    ]
    # a volume's title opens its first chapter instead of an empty chapter of its own
    assert book.sections[2].text.startswith("VOLUME II\n\nCHAPTER I\n\nThe morning")
    assert book.chapters == 4


def test_a_play_cites_act_and_scene() -> None:
    text = (
        "THE TRAGEDY OF SOMEONE\n\n"
        f"ACT I\n\nSCENE I. Elsinore. A platform before the castle.\n\n{PROSE}"
        f"SCENE II. A room of state in the castle.\n\n{PROSE}"
        f"ACT II. SCENE I. A room in Polonius's house.\n\n{PROSE}"
        f"SCENE II. Another room in the castle.\n\n{PROSE}"
        f"ACT III\n\n{PROSE}"
    )
    names = _chapters(text, "play.txt")
    assert names == [
        None,
        "Act I, Scene 1",
        "Act I, Scene 2",
        "Act II, Scene 1",
        "Act II, Scene 2",
        "Act III",
    ]


def test_a_russian_play_cites_act_and_scene() -> None:
    prose = "Утро было серое, и на улице было тихо, когда гость пришёл к двери и спросил доктора.\n\n" * 20
    text = f"ДЕЙСТВИЕ ПЕРВОЕ\n\nЯВЛЕНИЕ ПЕРВОЕ\n\n{prose}ЯВЛЕНИЕ ВТОРОЕ\n\n{prose}ДЕЙСТВИЕ ВТОРОЕ\n\n{prose}"
    assert _chapters(text, "пьеса.txt") == ["Act I, Scene 1", "Act I, Scene 2", "Act II"]


def test_play_labels_read_back() -> None:
    assert play_label(1, 2) == "Act I, Scene 2"
    assert play_label(14, None) == "Act XIV"
    assert play_label(None, 3) == "Scene 3"
    assert play_label(None, None) is None
    assert play_place("Act I, Scene 2") == ("I", 2)
    assert play_place("Act XIV") == ("XIV", None)
    assert play_place("Scene 3") == (None, 3)
    for other in (None, "", "CHAPTER I", "Actors", "Act I Scene 2", "Act I, Scene"):
        assert play_place(other) is None
    assert [roman(n) for n in (1, 4, 9, 14, 40, 1999)] == ["I", "IV", "IX", "XIV", "XL", "MCMXCIX"]


def test_gutenberg_macbeth_acts_and_scenes() -> None:
    path = shared_data("books", "gutenberg", "shakespeare-macbeth.txt")
    book = extract(path.read_bytes(), path.name)
    names = {s.chapter for s in book.sections}
    assert {"Act I, Scene 1", "Act I, Scene 2", "Act II, Scene 3", "Act V, Scene 5"} <= names
    assert not any(name and name.startswith(("Actus", "Scena")) for name in names)


def test_gutenberg_stories_and_volumes() -> None:
    brown = shared_data("books", "gutenberg", "chesterton-brown.txt")
    book = extract(brown.read_bytes(), brown.name)
    stories = [s.chapter for s in book.sections if s.chapter]
    assert stories[0] == "I. The Absence of Mr Glass"
    assert stories[-1] == "XII. The Fairy Tale of Father Brown"
    assert book.chapters == 12
    emma = shared_data("books", "gutenberg", "austen-emma.txt")
    names = {s.chapter for s in extract(emma.read_bytes(), emma.name).sections}
    assert {"VOLUME I, CHAPTER I", "VOLUME II, CHAPTER XI", "VOLUME III, CHAPTER XIX"} <= names
    moby = shared_data("books", "gutenberg", "melville-moby_dick.txt")
    book = extract(moby.read_bytes(), moby.name)
    assert book.chapters == 136  # 135 chapters and the epilogue; no paragraph taken for a heading
