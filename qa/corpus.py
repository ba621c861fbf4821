"""Load and clean articles from files and folders (.txt, .md, .html/.htm, .pdf, .docx, .pptx,
.xlsx, .odt, .epub, .rtf; the readers are in ``qa.ingest.readers``).

Cleaning is conservative: Unicode NFC, unified line ends, trailing blanks and runs of empty lines
removed, and only lines that are clearly page furniture (photo credits, lone bullets, bare URLs)
dropped. Article text is never rewritten, so the cleaned text is what chunk offsets and gold
evidence spans point into. A file that cannot be read becomes a ``Skipped`` entry naming the file
and the reason; the rest of the corpus still loads.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import os
import re
import stat
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.cleaning import Dropped, drop_furniture, find_date, find_title
from qa.ingest.readers import READERS, unsupported
from qa.types import Document

log = logging.getLogger(__name__)

SUPPORTED = tuple(READERS)  # the suffixes qa reads (qa.ingest.readers)
DEFAULT_MAX_BYTES = 20_000_000

_FURNITURE = {
    "photo credit": re.compile(r"^(foto|fotos|bild|bildquelle|image|photo|credit)s?\s*:\s*\S.{0,120}$", re.I),
    "lone bullet or separator": re.compile(r"^[\s·•|–—\-*]*$"),
    "source list": re.compile(r"^[-*•]?\s*(https?://|www\.)\S+$", re.I),  # a bare URL
}
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: skipped, {self.reason}"


@dataclass
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def document_id(source: str, text: str) -> str:
    """A document's id: its source and its cleaned text, hashed. Identical text under two
    names is two documents; a changed text under one name is a new version of it.

    >>> document_id("a.txt", "Text") != document_id("b.txt", "Text")
    True
    """
    return sha256_bytes(source.encode("utf-8") + b"\0" + text.encode("utf-8"))


def clean_text(text: str, dropped: list[Dropped] | None = None, furniture: bool = True) -> str:
    """Normalise whitespace and drop furniture lines (``qa.cleaning``; not with ``furniture``
    false: Office files and e-books have no web furniture, and their table rows, ``a | b``,
    would read as captions); never rewrites words. Dropped lines are appended to ``dropped``
    when a list is given.

    >>> clean_text("Foto: dpa\\r\\nAlibaba  wächst.   \\n\\n\\n\\n·\\nEnde")
    'Alibaba  wächst.\\n\\nEnde'
    """
    # NUL: PDF and HTML extraction can yield it, and PostgreSQL text cannot hold it
    text = unicodedata.normalize("NFC", text.replace("\x00", "")).translate(_ZERO_WIDTH)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    lines = [ln.rstrip() for ln in text.split("\n")]
    if not furniture:
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    kept: list[str] = []
    for ln in lines:
        why = next((w for w, p in _FURNITURE.items() if p.match(ln.strip())), None)
        if why and ln.strip():
            if dropped is not None:
                dropped.append(Dropped(ln.strip(), why))
        else:
            kept.append(ln)
    out, more = drop_furniture("\n".join(kept))
    if dropped is not None:
        dropped.extend(more)
    out = re.sub(r"\n{3,}", "\n\n", out)
    return out.strip()


_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))  # 32 first: FF FE 00 00


def _wide_encoding(data: bytes) -> str | None:
    """The UTF-16/32 encoding a byte-order mark names or the pattern of NUL bytes shows (text
    that is mostly Latin script has a zero high byte in every code unit), else None.

    >>> _wide_encoding("Die Größe".encode("utf-16-le")), _wide_encoding("Text".encode("utf-32-be"))
    ('utf-16-le', 'utf-32-be')
    >>> _wide_encoding(codecs.BOM_UTF16_LE + "Ä".encode("utf-16-le"))
    'utf-16'
    >>> _wide_encoding(b"\\x00\\x01\\x02binary" * 10) is None
    True
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding
    sample = data[:8192]
    if b"\x00" not in sample:
        return None

    def zeros(step: int, offset: int) -> float:
        units = sample[offset:len(sample) // step * step:step]
        return units.count(0) / len(units) if units else 0.0

    if len(sample) >= 8:
        z = [zeros(4, i) for i in range(4)]
        if min(z[1:]) > 0.9 and z[0] < 0.5:
            return "utf-32-le"
        if min(z[:3]) > 0.9 and z[3] < 0.5:
            return "utf-32-be"
    even, odd = zeros(2, 0), zeros(2, 1)
    if odd > 0.3 and even < 0.05:
        return "utf-16-le"
    if even > 0.3 and odd < 0.05:
        return "utf-16-be"
    return None


def text_encoding(data: bytes) -> str:
    """The encoding qa reads a text file's bytes with (``_decode``, which also refuses binary
    content): the UTF-16/32 that a byte-order mark or the NUL pattern shows, else UTF-8 when
    the bytes are UTF-8, else Windows-1252. The chat window serves originals with it as their
    charset (``qa.ui.originals``).

    >>> text_encoding("Größe".encode()), text_encoding("Größe".encode("cp1252"))
    ('utf-8', 'windows-1252')
    >>> text_encoding("Größe".encode("utf-16")), text_encoding("Größe".encode("utf-16-le"))
    ('utf-16', 'utf-16-le')
    """
    wide = _wide_encoding(data)
    if wide:
        return wide
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "windows-1252"
    return "utf-8"


def _too_many_controls(text: str) -> bool:
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t")
    return controls > max(2, len(text) // 200)


def _decode(data: bytes, name: str) -> str:
    """Text from UTF-8 (with or without BOM), UTF-16/32 (BOM or NUL pattern, as Windows tools
    write them) or Windows-1252; ``ValueError`` with the reason for anything else."""
    wide = _wide_encoding(data)
    if wide:
        try:
            text = data.decode(wide)
        except UnicodeDecodeError as e:
            raise ValueError(f"binary content (NUL bytes), not text (not valid {wide.upper()} "
                             "either)") from e
        if _too_many_controls(text):
            raise ValueError("binary content (NUL bytes), not text")
        log.info("%s read as %s", name, wide.upper())
        return text
    nul = data.find(b"\x00")  # anywhere, not only in the first 8 KB: no store can hold it
    if nul >= 0:
        raise ValueError(f"binary content (NUL byte at offset {nul:,}), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # Latin-1 family files are common for German text; cp1252 decodes any byte but 5, so check
    # that the result looks like text before trusting it.
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as e:
        raise ValueError("not UTF-8 and not Windows-1252 text") from e
    if _too_many_controls(text):
        raise ValueError("undecodable bytes: neither UTF-8 nor Windows-1252 text")
    log.warning("%s is not UTF-8; read as Windows-1252", name)
    return text


def _markdown_to_text(md: str) -> tuple[str, str]:
    """Plain text and the first ``#`` heading (the title, "" when there is none)."""
    md = re.sub(r"```.*?```", "", md, flags=re.S)
    heading = re.search(r"^\s{0,3}#\s+(.+?)\s*#*\s*$", md, flags=re.M)
    md = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", md)  # images
    md = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", md)  # links keep their words
    md = re.sub(r"^\s{0,3}#{1,6}\s*", "", md, flags=re.M)  # heading marks
    md = re.sub(r"^\s{0,3}>\s?", "", md, flags=re.M)
    md = re.sub(r"(\*\*|__)(.+?)\1", r"\2", md)
    md = re.sub(r"<[^>\n]+>", "", md)  # inline html tags
    return md, (heading.group(1).strip() if heading else "")


def _meta(soup: object, *names: str) -> str:
    for name in names:
        tag = soup.find("meta", attrs={"property": name}) or soup.find("meta", attrs={"name": name})  # type: ignore[attr-defined]
        if tag and tag.get("content"):
            return str(tag["content"]).strip()
    return ""


def _html_to_text(html: str) -> tuple[str, dict[str, str]]:
    """The article text of a web page and its metadata (``title``, ``author``, ``date``,
    ``site``, where the page gives them), kept apart from the text so the model never mistakes a
    byline for article text.

    trafilatura finds the main text (measured on the eval corpora's pages, issue 22: 74 of 75
    evidence sentences of the saved news pages kept, against 54 by the hand-written extraction,
    which skipped one page whole); a page where it finds nothing falls back to that extraction
    (``_html_blocks``), so documentation-like pages without an article still give their text."""
    import trafilatura

    try:
        found = trafilatura.bare_extraction(
            html, favor_recall=True, include_comments=False, include_tables=True,
            deduplicate=False, with_metadata=True)
    except Exception as e:  # noqa: BLE001 - a page it cannot parse goes to the fallback
        log.debug("trafilatura failed: %s", e)
        found = None
    if found is None:
        text, title, date = _html_blocks(html)
        return text, {k: v for k, v in (("title", title), ("date", date)) if v}
    meta = {k: str(getattr(found, attr, None) or "").strip() for k, attr in
            (("title", "title"), ("author", "author"), ("date", "date"), ("site", "sitename"))}
    body = getattr(found, "body", None)
    if body is not None and sum(c.tag in _BLOCKS for c in body) >= 2:
        text = _blocks_of(body)  # paragraphs as the page has them, wrapped lines joined
    else:  # one undivided block (trafilatura's fallback for a page it could not structure):
        text = re.sub(r"\n+", "\n\n", (getattr(found, "text", None) or "").strip())  # a line a paragraph
    if len(text.split()) < 3:  # nothing it accepts: the page's own blocks, whatever they are
        text, title, date = _html_blocks(html)
        meta = {**meta, "title": meta["title"] or title, "date": meta["date"] or date}
    return text, {k: v for k, v in meta.items() if v}


_BLOCKS = frozenset({"p", "head", "item", "cell", "quote", "code", "pre", "list", "table",
                     "row"})


def _blocks_of(body: Any) -> str:
    """trafilatura's main-text tree as paragraphs: one per block (paragraph, heading, list item
    ``- …``, table cell, quote), the line breaks of the page's source inside a block joined
    (a wrapped sentence stays one sentence for the splitter and the chunker); no text of the
    tree is dropped, a block's own text around a nested block included."""
    parts: list[str] = []

    def walk(el: Any) -> None:
        parent = el.getparent()
        block = el.tag in _BLOCKS and not (  # code or a quote inside a paragraph runs inline
            el.tag in ("code", "quote") and parent is not None
            and parent.tag in ("p", "head", "item", "cell"))
        if block:
            parts.append("\0")
        if el.tag == "item":
            parts.append("- ")
        parts.append(el.text or "")
        for child in el:
            walk(child)
        if block:
            parts.append("\0")
        parts.append(el.tail or "")

    walk(body)
    blocks = (" ".join(b.split()) for b in "".join(parts).split("\0"))
    return "\n\n".join(b for b in blocks if b and b != "-")


def _html_blocks(html: str) -> tuple[str, str, str]:
    """Text blocks of ``<article>``/``<main>``/``<body>`` (headings, paragraphs, list items,
    cells), title (og:title, else <title>, else <h1>) and publication date metadata."""
    import warnings

    from bs4 import BeautifulSoup, XMLParsedAsHTMLWarning

    with warnings.catch_warnings():  # XHTML pages (an XML declaration) are read as HTML on purpose
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(html, "lxml")
    title = _meta(soup, "og:title", "twitter:title") or (
        soup.title.get_text(" ", strip=True) if soup.title else "")
    date = _meta(soup, "article:published_time", "og:published_time", "date", "pubdate",
                 "publish-date", "DC.date", "dc.date", "citation_publication_date")
    if not date and (time_tag := soup.find("time", attrs={"datetime": True})):
        date = str(time_tag["datetime"])
    for tag in soup(["script", "style", "noscript", "template", "nav", "header", "footer",
                     "aside", "form", "iframe", "svg", "button"]):
        tag.decompose()
    root = soup.find("article") or soup.find("main") or soup.body or soup
    blocks = []
    for el in root.find_all(["h1", "h2", "h3", "h4", "p", "li", "blockquote", "pre", "td"]):
        if el.find(["p", "li"]):  # containers: their children are visited themselves
            continue
        t = " ".join(el.get_text(" ", strip=True).split())
        if t:
            blocks.append(("- " if el.name == "li" else "") + t)
    text = "\n\n".join(blocks) if blocks else root.get_text("\n", strip=True)
    if not title:
        h1 = soup.find("h1")
        title = h1.get_text(" ", strip=True) if h1 else ""
    return text, title, date


def join_pages(parts: list[str]) -> tuple[str, list[int]]:
    """Cleaned page texts joined with a paragraph break, and where each page starts in the
    result (an empty page starts where the next one does).

    >>> join_pages(["Eins.", "", "Drei."])
    ('Eins.\\n\\nDrei.', [0, 7, 7])
    """
    text, starts, empty = "", [], 0
    for part in parts:
        if not part:
            empty += 1
            continue
        if text:
            text += "\n\n"
        starts += [len(text)] * (empty + 1)
        empty = 0
        text += part
    return text, starts + [len(text)] * empty


def load_file(path: Path, source: str | None = None,
              max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """Read and clean one file; raises ``ValueError`` with the reason when it cannot be used.
    A paged file (PDF, pptx, xlsx, epub) records where each page starts (``qa.pages``)."""
    suffix = path.suffix.lower()
    reader = READERS.get(suffix)
    if reader is None:
        raise ValueError(unsupported(suffix))
    st = path.stat()
    if not stat.S_ISREG(st.st_mode):  # a FIFO or device would block or never end
        raise ValueError("not a regular file")
    size = st.st_size
    if size == 0:
        raise ValueError("empty file")
    if size > max_bytes:
        raise ValueError(f"too large ({size:,} bytes > {max_bytes:,})")
    data = path.read_bytes()
    try:
        got = reader(path, data)
    except (ValueError, OSError):
        raise
    except Exception as e:  # noqa: BLE001 - a library's parse error in a damaged file (lxml's
        # XMLSyntaxError is no ValueError) is that file's skip line, never the end of the ingest
        log.debug("%s: %s", path.name, e, exc_info=True)
        raise ValueError(f"unreadable {suffix.lstrip('.')} file ({type(e).__name__}: "
                         f"{' '.join(str(e).split())[:200]})") from e
    text, starts = join_pages([clean_text(p, furniture=got.furniture) for p in got.parts])
    if len(text.split()) < 3:
        raise ValueError("no article text after cleaning (empty or only markup)")
    title = (got.meta.get("title") or find_title(text)).strip()
    meta: dict[str, Any] = {"bytes": size, "format": suffix.lstrip("."),
                            "date": find_date(text, got.meta.get("date", "")),
                            **{k: got.meta[k] for k in ("author", "site", "ocr_pages",
                                                        "ocr_seconds") if got.meta.get(k)}}
    if got.kind is not None:
        meta.update(pages=starts, page_kind=got.kind)
        if got.labels:
            meta["page_labels"] = got.labels
    source = source or path.name
    return Document(doc_id=document_id(source, text), source=source,
                    title=title, text=text, sha256=sha256_bytes(data), meta=meta)


def printable(name: str) -> str:
    """``name`` with control and format characters (ANSI escapes, newlines, right-to-left
    overrides) written as escapes: safe to print to a terminal, a log or a page.

    >>> printable("a\\x1b[2Jb\\u202etxt.exe\\n.txt")
    'a\\\\x1b[2Jb\\\\u202etxt.exe\\\\n.txt'
    >>> printable("Größe 2025.txt")
    'Größe 2025.txt'
    """
    return "".join(ascii(ch)[1:-1] if unicodedata.category(ch).startswith("C") else ch
                   for ch in name)


def _walk(paths: Iterable[Path], follow_symlinks: bool = False
          ) -> Iterator[tuple[Path, str, str | None]]:
    """(file, source name, reason to skip or None). Folders are walked recursively, hidden files
    ignored. A symbolic link in a folder that leads outside that folder is not followed unless
    ``follow_symlinks``; a file named explicitly is read wherever it is."""
    for p in paths:
        if not p.is_dir():
            yield p, p.name, None
            continue
        root = p.resolve()
        found: list[tuple[Path, str, str | None]] = []
        visited = {root}
        for dirpath, dirnames, filenames in os.walk(p, followlinks=follow_symlinks):
            here = Path(dirpath)
            for d in list(dirnames):  # prune in place: hidden, looping or escaping folders
                sub = here / d
                real = sub.resolve()
                rel = sub.relative_to(p).as_posix()
                if d.startswith(".") or real in visited:
                    dirnames.remove(d)
                elif sub.is_symlink() and not follow_symlinks:
                    dirnames.remove(d)
                    if not real.is_relative_to(root):
                        found.append((sub, rel, "a symbolic link to a folder outside the "
                                      "corpus folder; not followed (follow_symlinks = true "
                                      "allows it)"))
                else:
                    visited.add(real)
            for name in filenames:
                f = here / name
                rel = f.relative_to(p).as_posix()
                if name.startswith(".") or any(part.startswith(".") for part in Path(rel).parts):
                    continue
                reason = None
                if f.is_symlink():
                    target = f.resolve()
                    if not target.exists():
                        reason = "a broken symbolic link"
                    elif not follow_symlinks and not target.is_relative_to(root):
                        reason = ("a symbolic link to a file outside the corpus folder; not "
                                  "followed (follow_symlinks = true allows it)")
                if reason is None and not f.is_file():
                    continue  # sockets, FIFOs, devices
                found.append((f, rel, reason))
        yield from sorted(found, key=lambda item: Path(item[1]).parts)


def iter_files(paths: Iterable[Path], follow_symlinks: bool = False
               ) -> Iterable[tuple[Path, str]]:
    """Yield (file, source name) of the files ``load_corpus`` would read (see ``_walk``)."""
    for path, source, reason in _walk(paths, follow_symlinks):
        if reason is None:
            yield path, source


def _bad_name(source: str) -> str | None:
    if any(unicodedata.category(ch).startswith("C") for ch in source):
        return "file name contains control characters (rename the file)"
    return None


def load_corpus(paths: Iterable[Path | str], max_bytes: int = DEFAULT_MAX_BYTES,
                follow_symlinks: bool = False) -> LoadResult:
    """Load every supported file; unusable ones are reported in ``skipped``, never fatal.

    Reasons are not logged here (the caller reports ``skipped`` once); names in ``skipped`` are
    ``printable``."""
    result = LoadResult()
    seen: dict[str, str] = {}
    for path, source, reason in _walk((Path(p) for p in paths), follow_symlinks):
        if reason is None and not path.exists():
            reason = "does not exist"
            source = str(path)
        reason = reason or _bad_name(source)
        if reason is None:
            try:
                doc = load_file(path, source, max_bytes=max_bytes)
            except (ValueError, OSError) as e:
                reason = str(e)
        if reason is not None:
            result.skipped.append(Skipped(printable(source), reason))
            log.debug("%s: skipped, %s", printable(source), reason)
            continue
        if source in seen:
            result.skipped.append(Skipped(source, f"duplicate name (already from {seen[source]})"))
            continue
        seen[source] = str(path)
        result.documents.append(doc)
    return result
