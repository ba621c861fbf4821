"""One reader per file format, behind one small protocol; ``READERS`` maps a suffix to its reader.

A reader turns a file's bytes into ``Extracted``: the text of each page (PDF page, slide, sheet,
e-book chapter) or one text for an unpaged file, and the metadata the file states (title,
author, date), kept apart from the text. ``qa.corpus.load_file`` cleans each part, joins them
and records where each page starts (``Document.meta["pages"]``, see ``qa.pages``).

Text is laid out for the sentence splitter: one paragraph per block (heading, paragraph, list
item ``- …``), a table as one line per row, ``cell | cell``. Libraries, chosen by measurement
(README, "File formats"): python-docx, python-pptx and openpyxl for Office files, pypdf for PDF;
OpenDocument text and EPUB are zips of XML, read here with lxml in about 60 lines each (odfpy's
last release is from January 2020; ebooklib would be a runtime dependency for what a zip and
lxml do, and the tests use both only to write files). RTF through striprtf. The price: a table
cell's layout (merged cells, spans) is flattened, and what a library does not expose (docx
footnotes, text boxes and content controls, slide notes) is not read.

Bad input fails with ``ValueError`` and one line of reason: Office files and EPUBs are zips and
their declared unpacked size is bounded before anything is read (``open_zip``; Python's zipfile
never inflates a member past its declared size); a password-protected Office file (an OLE
container, not a zip) and an encrypted PDF are named as such. Nothing outside the file is read:
XML is parsed without network access, DTDs or entity expansion, and an EPUB's or docx's
references to remote files are never followed. Macros are never run (no library here runs them);
macro-enabled files (.docm, .xlsm, .pptm) are refused by suffix with a line that says so.
"""

from __future__ import annotations

import io
import logging
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from qa.cleaning import unwrap_lines

log = logging.getLogger(__name__)

MAX_UNPACKED = 200_000_000  # bytes a zip-based file may declare unpacked
MAX_RATIO = 100  # unpacked : packed, above 1 MB unpacked
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # compound file: encrypted OOXML, or .doc/.xls/.ppt
MACRO_SUFFIXES = {".docm": ".docx", ".xlsm": ".xlsx", ".pptm": ".pptx", ".dotm": ".docx"}


@dataclass(frozen=True)
class Extracted:
    """What a reader found. ``kind`` set (``"page"``, ``"slide"``, ``"sheet"``, ``"chapter"``):
    ``parts`` are the pages in order; ``None``: ``parts`` is the file's one text. ``labels`` are
    the file's own names of the pages (sheet names, chapter titles), when it has them."""

    parts: list[str]
    meta: dict[str, str] = field(default_factory=dict)  # title, author, date ("" or absent)
    kind: str | None = None
    labels: list[str] | None = None
    furniture: bool = False  # drop web-page furniture lines in cleaning (qa.corpus.clean_text)


class Reader(Protocol):
    def __call__(self, path: Path, data: bytes) -> Extracted:
        """The text of ``data`` (the bytes of ``path``); ``ValueError`` with the reason."""
        ...


# -- text formats (their decoding and cleaning live in qa.corpus) --------------------------------
def read_text(path: Path, data: bytes) -> Extracted:
    from qa.corpus import _decode

    return Extracted([_decode(data, path.name)], furniture=True)


def read_markdown(path: Path, data: bytes) -> Extracted:
    from qa.corpus import _decode, _markdown_to_text

    text, title = _markdown_to_text(_decode(data, path.name))
    return Extracted([text], {"title": title}, furniture=True)


def read_html(path: Path, data: bytes) -> Extracted:
    from qa.corpus import _decode, _html_to_text

    text, meta = _html_to_text(_decode(data, path.name))
    return Extracted([text], meta, furniture=True)


# -- PDF -------------------------------------------------------------------------------------------
def read_pdf(path: Path, data: bytes) -> Extracted:
    """One part per page, its wrapped lines joined into the sentences they hold
    (``qa.cleaning.unwrap_lines``: the typesetter's hyphens go, headings keep their line).
    A PDF encrypted with an empty user password (printing or copying restricted) is read; one
    that needs a password is refused."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.startswith(b"%PDF"):
        raise ValueError("not a PDF (no %PDF header)")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except Exception as e:  # noqa: BLE001 - pypdf raises several kinds here
                raise ValueError(f"encrypted PDF that cannot be opened ({e})") from e
            if not opened:
                raise ValueError("password-protected PDF (encrypted; save it without a password)")
        if len(reader.pages) == 0:
            raise ValueError("PDF has no pages")
        pages = [p.extract_text() or "" for p in reader.pages]
        info = reader.metadata
        meta = {"title": str((info.title if info else None) or ""),
                "author": str((info.author if info else None) or "")}
    except (PdfReadError, KeyError, OSError, TypeError, AttributeError) as e:
        raise ValueError(f"unreadable PDF ({e})") from e
    meta |= _ocr_scanned_pages(pages, data)
    return Extracted([unwrap_lines(p) for p in pages], meta, "page", furniture=True)


def _ocr_scanned_pages(pages: list[str], data: bytes) -> dict[str, str]:
    """Pages without a text layer (scans) read by OCR, in place; the OCR's figures for the
    document's metadata. Without Tesseract a PDF of scans only is refused with what to install;
    one with some text pages keeps those and logs what was left out."""
    from qa.ocr import OCRUnavailable, needs_ocr, ocr_pdf_pages

    scans = [i for i, p in enumerate(pages) if needs_ocr(p)]
    if not scans:
        return {}
    try:
        texts, seconds = ocr_pdf_pages(data, scans)
    except OCRUnavailable as e:
        if len(scans) == len(pages):
            raise ValueError(str(e)) from None
        log.warning("%d of %d PDF pages are scans and were not read: %s", len(scans),
                    len(pages), e)
        return {}
    for i, text in texts.items():
        pages[i] = text
    return {"ocr_pages": str(len(scans)), "ocr_seconds": f"{seconds:.1f}"}


def read_image(path: Path, data: bytes) -> Extracted:
    """An image (a photo or scan of a page) read by OCR; every frame of a TIFF is a page."""
    from qa.ocr import ocr_image

    got = ocr_image(data)
    paged = len(got.pages) > 1
    return Extracted([unwrap_lines(p) for p in got.pages] if paged else [unwrap_lines(got.text)],
                     {"ocr_pages": str(len(got.pages)), "ocr_seconds": f"{got.seconds:.1f}"},
                     "page" if paged else None, furniture=True)


# -- zips ------------------------------------------------------------------------------------------
def open_zip(data: bytes, what: str) -> zipfile.ZipFile:
    """The zip archive of an Office file or EPUB, after checking what it declares: refused when
    it is no zip (a password-protected Office file is an OLE container), has encrypted members,
    or declares more than ``MAX_UNPACKED`` bytes unpacked, or more than ``MAX_RATIO`` times its
    own size (above 1 MB): a zip bomb is refused before a byte of it is inflated.

    >>> buf = io.BytesIO()
    >>> with zipfile.ZipFile(buf, "w") as z: z.writestr("a.xml", "<a/>")
    >>> open_zip(buf.getvalue(), "docx").namelist()
    ['a.xml']
    >>> open_zip(_OLE + bytes(504), "docx")
    Traceback (most recent call last):
    ...
    ValueError: password-protected or old binary Office file (an OLE container, not a docx zip); save it as an unprotected .docx
    """
    if data.startswith(_OLE):
        raise ValueError(f"password-protected or old binary Office file (an OLE container, not "
                         f"a {what} zip); save it as an unprotected .{what}")
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        infos = z.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as e:
        raise ValueError(f"corrupt {what} file (not a readable zip archive: {e})") from e
    if any(i.flag_bits & 0x1 for i in infos):
        raise ValueError(f"password-protected {what} (encrypted zip members)")
    unpacked = sum(i.file_size for i in infos)
    ratio = unpacked / max(1, len(data))
    if unpacked > MAX_UNPACKED or (unpacked > 1_000_000 and ratio > MAX_RATIO):
        raise ValueError(f"zip-bomb-like {what}: declares {unpacked / 1e6:,.0f} MB unpacked from "
                         f"{len(data) / 1e6:,.1f} MB ({ratio:,.0f}:1; limits "
                         f"{MAX_UNPACKED / 1e6:,.0f} MB and {MAX_RATIO}:1); not read")
    return z


def _xml(z: zipfile.ZipFile, name: str) -> Any:
    """A member parsed without network access, DTD loading or entity expansion."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False, recover=True)
    try:
        root = etree.fromstring(z.read(name), parser=parser)
    except (KeyError, etree.XMLSyntaxError) as e:
        raise ValueError(f"corrupt file: {name} is missing or not XML ({e})") from e
    if root is None:
        raise ValueError(f"corrupt file: {name} is empty")
    return root


def _office(data: bytes, what: str, open_: Callable[[io.BytesIO], Any]) -> Any:
    """``open_`` (python-docx, python-pptx, openpyxl) on a zip that passed ``open_zip``."""
    open_zip(data, what).close()
    try:
        return open_(io.BytesIO(data))
    except (KeyError, ValueError, zipfile.BadZipFile, TypeError, AttributeError) as e:
        raise ValueError(f"corrupt {what} file ({type(e).__name__}: {e})") from e


def _props(props: Any) -> dict[str, str]:
    """title, author, date (ISO day) of core properties (docx, pptx, xlsx)."""
    created = getattr(props, "created", None)
    return {"title": (getattr(props, "title", None) or "").strip(),
            "author": (getattr(props, "author", None) or getattr(props, "creator", None)
                       or "").strip(),
            "date": created.date().isoformat() if created is not None else ""}


def _row(cells: Iterable[str]) -> str:
    """A table row as one line; repeated neighbours (a merged cell) once.

    >>> _row(["Region", "Region", " Umsatz\\n2025 ", ""])
    'Region | Umsatz 2025'
    """
    out: list[str] = []
    for c in cells:
        c = " ".join(c.split())
        if c and (not out or out[-1] != c):
            out.append(c)
    return " | ".join(out)


# -- docx --------------------------------------------------------------------------------------
def read_docx(path: Path, data: bytes) -> Extracted:
    """Paragraphs and headings as blocks, list paragraphs as ``- …``, tables as rows, in body
    order (headers, footers and footnotes are not read)."""
    import docx
    from docx.table import Table

    d = _office(data, "docx", docx.Document)
    blocks: list[str] = []
    for item in d.iter_inner_content():
        if isinstance(item, Table):
            blocks.extend(r for r in (_row(c.text for c in row.cells) for row in item.rows) if r)
            continue
        text = " ".join(item.text.split())
        if not text:
            continue
        # the style's id, not python-docx's style lookup (which scans all styles: 80 % of
        # the reading time); list styles ("ListBullet", German "Liste…") or numbering
        style = item._p.style or ""
        numbered = item._p.pPr is not None and item._p.pPr.numPr is not None
        blocks.append(f"- {text}" if numbered or style.startswith(("List", "Liste")) else text)
    return Extracted(["\n\n".join(blocks)], _props(d.core_properties))


# -- pptx --------------------------------------------------------------------------------------
def _shape_blocks(shapes: Iterable[Any]) -> Iterator[str]:
    for shape in shapes:
        if getattr(shape, "shape_type", None) == 6:  # MSO_SHAPE_TYPE.GROUP
            yield from _shape_blocks(shape.shapes)
        elif getattr(shape, "has_table", False):
            for row in shape.table.rows:
                if line := _row(c.text for c in row.cells):
                    yield line
        elif getattr(shape, "has_text_frame", False):
            for p in shape.text_frame.paragraphs:
                if text := " ".join("".join(r.text for r in p.runs).split()):
                    yield text


def read_pptx(path: Path, data: bytes) -> Extracted:
    """One part per slide: its title first, then its shapes' paragraphs and tables."""
    from pptx import Presentation

    prs = _office(data, "pptx", Presentation)
    parts = []
    for slide in prs.slides:
        title = slide.shapes.title
        blocks = [" ".join(title.text.split())] if title is not None and title.text.strip() else []
        blocks += _shape_blocks(s for s in slide.shapes if title is None
                                or s.shape_id != title.shape_id)
        parts.append("\n\n".join(blocks))
    if not parts:
        raise ValueError("presentation has no slides")
    return Extracted(parts, _props(prs.core_properties), "slide")


# -- xlsx --------------------------------------------------------------------------------------
def _cell(v: Any) -> str:
    """A cell value as text.

    >>> _cell(250.0), _cell(162.5), _cell(None)
    ('250', '162.5', '')
    """
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if hasattr(v, "isoformat"):
        return str(v.isoformat()).removesuffix("T00:00:00")
    return str(v)


def _sheet_lines(rows: Iterable[tuple[Any, ...]]) -> Iterator[str]:
    """One line per non-empty row. When the first row is a header (text in every cell), each
    later row names its columns, so a row quoted alone still says what its numbers are.

    >>> list(_sheet_lines([("Standort", "Mitarbeiter"), ("Husum", 48), (None, None), ("Kiel", None)]))
    ['Standort | Mitarbeiter', 'Standort: Husum | Mitarbeiter: 48', 'Standort: Kiel']
    >>> list(_sheet_lines([("Husum", 48), ("Kiel", 31)]))
    ['Husum | 48', 'Kiel | 31']
    """
    header: list[str] | None = None
    first = True
    for row in rows:
        cells = [_cell(v) for v in row]
        if not any(c.strip() for c in cells):
            continue
        if first:
            first = False
            named = [c for c in cells if c.strip()]
            if len(named) >= 2 and all(isinstance(v, str) for v in row if v is not None):
                header = [" ".join(c.split()) for c in cells]
        elif header is not None:
            cells = [f"{header[i]}: {c}" if i < len(header) and header[i] and c.strip() else c
                     for i, c in enumerate(cells)]
        yield _row(cells)


def read_xlsx(path: Path, data: bytes) -> Extracted:
    """One part per sheet: its name, then one line per non-empty row (``_sheet_lines``; the
    values last saved, formulas are not evaluated)."""
    from openpyxl import load_workbook

    wb = _office(data, "xlsx", lambda f: load_workbook(f, read_only=True, data_only=True))
    try:
        parts, labels = [], []
        for ws in wb.worksheets:
            rows = _sheet_lines(ws.iter_rows(values_only=True))
            parts.append("\n".join([ws.title, *(r for r in rows if r)]))
            labels.append(ws.title)
        meta = _props(wb.properties)
    finally:
        wb.close()
    if not parts:
        raise ValueError("workbook has no sheets")
    return Extracted(parts, meta, "sheet", labels)


# -- odt ---------------------------------------------------------------------------------------
_ODF = {"text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
        "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
        "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
        "dc": "http://purl.org/dc/elements/1.1/",
        "meta": "urn:oasis:names:tc:opendocument:xmlns:meta:1.0"}


def _odf_text(el: Any) -> str:
    """The words of a paragraph: ``text:s``, ``text:tab`` and line breaks as spaces, notes out."""
    out = [el.text or ""]
    for child in el:
        local = child.tag.rsplit("}", 1)[-1] if isinstance(child.tag, str) else ""
        if local in ("s", "tab", "line-break"):
            out.append(" ")
        elif local not in ("note", "annotation"):
            out.append(_odf_text(child))
        out.append(child.tail or "")
    return " ".join("".join(out).split())


def _odf_blocks(el: Any, prefix: str = "") -> Iterator[str]:
    t, tb = f"{{{_ODF['text']}}}", f"{{{_ODF['table']}}}"
    for child in el:
        if child.tag in (t + "p", t + "h"):
            if text := _odf_text(child):
                yield prefix + text
        elif child.tag == t + "list":
            for item in child:
                yield from _odf_blocks(item, "- ")
        elif child.tag == tb + "table":
            for row in child.iter(tb + "table-row"):
                cells = (" ".join(_odf_text(p) for p in c.iter(t + "p"))
                         for c in row if c.tag == tb + "table-cell")
                if line := _row(cells):
                    yield line
        elif child.tag in (t + "section", t + "list-item", t + "list-header"):
            yield from _odf_blocks(child, prefix)


def read_odt(path: Path, data: bytes) -> Extracted:
    """Headings, paragraphs, list items and table rows of ``content.xml``; title, author and
    date from ``meta.xml``."""
    z = open_zip(data, "odt")
    body = _xml(z, "content.xml").find(".//office:body/office:text", _ODF)
    if body is None:
        raise ValueError("not an OpenDocument text (content.xml has no office:text)")
    meta: dict[str, str] = {}
    if "meta.xml" in z.namelist():
        m = _xml(z, "meta.xml")
        for key, xpath in (("title", ".//dc:title"), ("author", ".//dc:creator"),
                           ("author", ".//meta:initial-creator"), ("date", ".//dc:date")):
            found = m.find(xpath, _ODF)
            if not meta.get(key) and found is not None and (found.text or "").strip():
                meta[key] = found.text.strip()[:10] if key == "date" else found.text.strip()
    return Extracted(["\n\n".join(_odf_blocks(body))], meta)


# -- epub --------------------------------------------------------------------------------------
_OPF = {"opf": "http://www.idpf.org/2007/opf", "dc": "http://purl.org/dc/elements/1.1/",
        "c": "urn:oasis:names:tc:opendocument:xmlns:container"}


def read_epub(path: Path, data: bytes) -> Extracted:
    """One part per chapter (the spine's XHTML documents, in reading order; the navigation
    document left out), each read like a web page's blocks. Remote resources are never fetched:
    only members of the zip are read."""
    from qa.corpus import _html_blocks

    z = open_zip(data, "epub")
    rootfile = _xml(z, "META-INF/container.xml").find(".//c:rootfile", _OPF)
    if rootfile is None or not rootfile.get("full-path"):
        raise ValueError("corrupt epub (META-INF/container.xml names no package document)")
    opf_path = rootfile.get("full-path")
    opf = _xml(z, opf_path)
    base = posixpath.dirname(opf_path)
    manifest = {i.get("id"): i for i in opf.iterfind(".//opf:manifest/opf:item", _OPF)}
    names = set(z.namelist())
    parts, labels = [], []
    for ref in opf.iterfind(".//opf:spine/opf:itemref", _OPF):
        item = manifest.get(ref.get("idref"))
        if item is None or "nav" in (item.get("properties") or "").split():
            continue
        href = item.get("href") or ""
        if urlsplit(href).scheme or href.startswith("/"):  # remote or absolute: never fetched
            log.info("%s: spine item %s is not inside the book; not read", path.name, href)
            continue
        name = posixpath.normpath(posixpath.join(base, unquote(urlsplit(href).path)))
        if name not in names:
            continue
        html = z.read(name).decode("utf-8", errors="replace")
        text, title, _ = _html_blocks(html)
        parts.append(text)
        labels.append(" ".join(title.split())[:80])
    if not parts:
        raise ValueError("epub has no readable chapters")
    meta = {}
    for key, tag in (("title", "dc:title"), ("author", "dc:creator"), ("date", "dc:date")):
        found = opf.find(f".//opf:metadata/{tag}", _OPF)
        if found is not None and (found.text or "").strip():
            meta[key] = found.text.strip()[:10] if key == "date" else found.text.strip()
    return Extracted(parts, meta, "chapter", labels if any(labels) else None)


# -- rtf ---------------------------------------------------------------------------------------
def read_rtf(path: Path, data: bytes) -> Extracted:
    """striprtf's text, a paragraph per ``\\par``, a table row a line; title and author from the
    ``{\\info …}`` group. RTF is 7-bit text with escapes (``\\'fc``, ``\\u8364``);
    stray 8-bit bytes are read as Windows-1252."""
    from striprtf.striprtf import rtf_to_text

    if not data.lstrip().startswith(b"{\\rtf"):
        raise ValueError("not an RTF file (no {\\rtf header)")
    raw = data.decode("cp1252", errors="replace")
    try:
        text = rtf_to_text(raw, errors="replace")
        meta = {key: rtf_to_text(m.group(1), errors="replace").strip()
                for key in ("title", "author")
                if (m := re.search(r"\{\\" + key + r"\s+([^{}]*)\}", raw))}
    except (ValueError, IndexError, LookupError) as e:
        raise ValueError(f"unreadable RTF ({e})") from e
    lines = (_row(ln.split("|")) if "|" in ln else ln.strip() for ln in text.split("\n"))
    return Extracted(["\n\n".join(ln for ln in lines if ln)], meta)


READERS: dict[str, Reader] = {
    ".txt": read_text, ".md": read_markdown, ".markdown": read_markdown,
    ".html": read_html, ".htm": read_html, ".pdf": read_pdf,
    ".docx": read_docx, ".pptx": read_pptx, ".xlsx": read_xlsx, ".odt": read_odt,
    ".epub": read_epub, ".rtf": read_rtf,
    # scans and photos of pages (qa.ocr; Tesseract must be installed)
    ".png": read_image, ".jpg": read_image, ".jpeg": read_image, ".tif": read_image,
    ".tiff": read_image, ".webp": read_image,
}


def unsupported(suffix: str) -> str:
    """The reason a file with ``suffix`` is not read.

    >>> unsupported(".xlsm")
    'macro-enabled Office file (.xlsm): not read (macros are never run); save it as .xlsx'
    """
    if suffix in MACRO_SUFFIXES:
        return (f"macro-enabled Office file ({suffix}): not read (macros are never run); "
                f"save it as {MACRO_SUFFIXES[suffix]}")
    return f"unsupported file type {suffix or '(none)'}; use {', '.join(READERS)}"
