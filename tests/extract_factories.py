"""Small books and hostile files made on the fly for the extraction tests."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from pypdf import PdfWriter
from pypdf.actions import JavaScript
from pypdf.generic import (
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    TextStringObject,
)

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FILES = SHARED_DATA / "files"
BOOKS = SHARED_DATA / "books"


def read_file(relative: str) -> bytes:
    return (FILES / relative).read_bytes()


# --- the corpus -----------------------------------------------------------------------------------


def corpus_outcome(relative: str, password: str | None = None) -> tuple[str, str, str]:
    """Run one corpus file through detect + extract in a worker process.

    ("ok", format, first characters of the text) or ("error", code, details) or ("crash", type, message)
    for anything that is not an IngestionError.
    """
    from services.ingestion.errors import IngestionError
    from services.ingestion.extract import extract

    data = (FILES / relative).read_bytes()
    try:
        book = extract(data, relative.rsplit("/", 1)[-1], password=password)
    except IngestionError as error:
        return "error", error.code.value, repr(error.details)
    except BaseException as error:  # the test reports it; the worker must survive
        return "crash", type(error).__name__, str(error)[:300]
    return "ok", book.format.value, book.text.strip()[:80]


# --- PDF ---------------------------------------------------------------------------------------


def make_pdf(
    pages: Sequence[str],
    *,
    outline: Iterable[tuple[str, int]] = (),
    javascript: bool = False,
    launch: bool = False,
    attachment: bool = False,
    user_password: str | None = None,
    owner_password: str | None = None,
    title: str | None = None,
    author: str | None = None,
) -> bytes:
    """A PDF with one page per string (Helvetica, Latin-1), optional outline and active content."""
    writer = PdfWriter()
    font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
                NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
            }
        )
    )
    for text in pages:
        page = writer.add_blank_page(612, 792)
        shown = " ".join(f"({_pdf_escape(line)}) '" for line in text.split("\n"))
        stream = DecodedStreamObject()
        stream.set_data(f"BT /F1 10 Tf 12 TL 50 750 Td {shown} ET".encode("cp1252"))
        page[NameObject("/Contents")] = writer._add_object(stream)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
    for outline_title, page_index in outline:
        writer.add_outline_item(title=outline_title, page_number=page_index)
    if javascript:
        writer.add_open_action(JavaScript("app.alert('hello');"))
    if attachment:
        writer.add_attachment("notes.txt", b"attached data")
    if launch:
        writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
            {NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("calc.exe")}
        )
    metadata = {}
    if title:
        metadata["/Title"] = title
    if author:
        metadata["/Author"] = author
    if metadata:
        writer.add_metadata(metadata)
    if user_password is not None:
        writer.encrypt(user_password, owner_password, algorithm="AES-256")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _pdf_escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


# --- ZIP-based formats ---------------------------------------------------------------------------


def make_zip(members: Iterable[tuple[str, bytes | str]], *, stored_first: bool = True) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, (name, content) in enumerate(members):
            data = content.encode("utf-8") if isinstance(content, str) else content
            method = zipfile.ZIP_STORED if stored_first and index == 0 else zipfile.ZIP_DEFLATED
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return buffer.getvalue()


CONTAINER = """<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>"""


def xhtml(body: str, title: str = "x") -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.1//EN" "http://www.w3.org/TR/xhtml11/DTD/xhtml11.dtd">\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">'
        f"<head><title>{title}</title></head><body>{body}</body></html>"
    )


def make_epub(
    documents: Sequence[tuple[str, str]],
    *,
    title: str = "A Test Book",
    author: str = "Jane Writer",
    language: str = "en",
    nav: Sequence[tuple[str, str, int]] | None = None,
    ncx: Sequence[tuple[str, str, int]] | None = None,
    extra: Iterable[tuple[str, bytes | str]] = (),
    container: bool = True,
    absent: Sequence[str] = (),
) -> bytes:
    """An EPUB whose spine is `documents` (file name under OEBPS/, XHTML); toc entries are
    (href, title, level) in a nav document (EPUB 3) and/or an NCX (EPUB 2). `absent` hrefs are listed
    in the manifest and spine but not stored."""
    names = [name for name, _ in documents] + list(absent)
    manifest = [
        f'<item id="d{i}" href="{name}" media-type="application/xhtml+xml"/>' for i, name in enumerate(names)
    ]
    members: list[tuple[str, bytes | str]] = [("mimetype", "application/epub+zip")]
    if container:
        members.append(("META-INF/container.xml", CONTAINER))
    if nav is not None:
        manifest.append(
            '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
        )
        members.append(
            ("OEBPS/nav.xhtml", xhtml(f'<nav epub:type="toc"><h1>Contents</h1>{_nav_list(nav)}</nav>'))
        )
    if ncx is not None:
        manifest.append('<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>')
        members.append(("OEBPS/toc.ncx", _ncx(ncx)))
    spine = "".join(f'<itemref idref="d{i}"/>' for i in range(len(names)))
    opf = f"""<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="{"3.0" if nav is not None else "2.0"}" unique-identifier="id">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:identifier id="id">urn:test</dc:identifier><dc:title>{title}</dc:title>
    <dc:creator>{author}</dc:creator><dc:language>{language}</dc:language>
  </metadata>
  <manifest>{"".join(manifest)}</manifest>
  <spine{' toc="ncx"' if ncx is not None else ""}>{spine}</spine>
</package>"""
    members.append(("OEBPS/content.opf", opf))
    members.extend((f"OEBPS/{name}", content) for name, content in documents)
    members.extend(extra)
    return make_zip(members)


def _nav_list(entries: Sequence[tuple[str, str, int]], start: int = 0, level: int = 1) -> str:
    return _nav_level(entries, start, level)[0]


def _nav_level(entries: Sequence[tuple[str, str, int]], index: int, level: int) -> tuple[str, int]:
    html = "<ol>"
    while index < len(entries) and entries[index][2] == level:
        href, label, _ = entries[index]
        index += 1
        inner = ""
        if index < len(entries) and entries[index][2] > level:
            inner, index = _nav_level(entries, index, level + 1)
        html += f'<li><a href="{href}">{label}</a>{inner}</li>'
    return html + "</ol>", index


def _ncx(entries: Sequence[tuple[str, str, int]]) -> str:
    points, open_levels = "", 0
    for index, (href, label, depth) in enumerate(entries):
        while open_levels >= depth:
            points += "</navPoint>"
            open_levels -= 1
        points += f'<navPoint id="n{index}"><navLabel><text>{label}</text></navLabel><content src="{href}"/>'
        open_levels += 1
    points += "</navPoint>" * open_levels
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1">'
        f"<head/><docTitle><text>t</text></docTitle><navMap>{points}</navMap></ncx>"
    )


def make_docx(
    blocks: Sequence[tuple[str, str]],
    *,
    title: str | None = None,
    author: str | None = None,
    table: Sequence[Sequence[str]] | None = None,
) -> bytes:
    """A DOCX made with python-docx: blocks are (style, text); style 'Heading N', 'Title' or ''."""
    import docx

    document = docx.Document()
    for style, text in blocks:
        if style.startswith("Heading"):
            document.add_heading(text, level=int(style.split()[-1]))
        elif style == "Title":
            document.add_heading(text, level=0)
        else:
            document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for row, values in zip(grid.rows, table, strict=True):
            for cell, value in zip(row.cells, values, strict=True):
                cell.text = value
    if title is not None:
        document.core_properties.title = title
    if author is not None:
        document.core_properties.author = author
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def replace_member(archive: bytes, name: str, content: bytes | str) -> bytes:
    """A copy of a ZIP with one member's content replaced."""
    source = zipfile.ZipFile(io.BytesIO(archive))
    members = [(info.filename, source.read(info)) for info in source.infolist()]
    data = content.encode("utf-8") if isinstance(content, str) else content
    return make_zip([(member, data if member == name else old) for member, old in members])


# --- FB2 ------------------------------------------------------------------------------------------


def make_fb2(
    sections: Sequence[tuple[str, Sequence[str]]],
    *,
    title: str = "Книга",
    first_name: str = "Иван",
    last_name: str = "Петров",
    lang: str = "ru",
    encoding: str = "utf-8",
    declare_encoding: bool = True,
    notes: Sequence[str] = (),
) -> bytes:
    body = "".join(
        f"<section><title><p>{heading}</p></title>{''.join(f'<p>{p}</p>' for p in paragraphs)}</section>"
        for heading, paragraphs in sections
    )
    notes_body = (
        '<body name="notes">'
        + "".join(
            f'<section id="n{i}"><title><p>{i}</p></title><p>{n}</p></section>'
            for i, n in enumerate(notes, 1)
        )
        + "</body>"
        if notes
        else ""
    )
    declaration = f'<?xml version="1.0" encoding="{encoding}"?>' if declare_encoding else ""
    text = (
        f"{declaration}"
        '<FictionBook xmlns="http://www.gribuser.ru/xml/fictionbook/2.0" xmlns:l="http://www.w3.org/1999/xlink">'
        f"<description><title-info><genre>prose</genre><author><first-name>{first_name}</first-name>"
        f"<last-name>{last_name}</last-name></author><book-title>{title}</book-title><lang>{lang}</lang>"
        f"</title-info></description><body>{body}</body>{notes_body}"
        '<binary id="cover.jpg" content-type="image/jpeg">AAAA</binary></FictionBook>'
    )
    return text.encode(encoding)


# --- bombs ----------------------------------------------------------------------------------------

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    + "]>"
)


def zip_bomb(member: str = "OEBPS/chapter.xhtml", size: int = 64 * 1024 * 1024) -> list[tuple[str, bytes]]:
    """A member of `size` zero bytes: deflates about 1000:1."""
    return [(member, b"\0" * size)]
