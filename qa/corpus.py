"""Load and clean articles from files and folders (.txt, .md, .html/.htm, .pdf).

Cleaning is conservative: Unicode NFC, unified line ends, trailing blanks and runs of empty lines
removed, and only lines that are clearly page furniture (photo credits, lone bullets, bare URLs)
dropped. Article text is never rewritten, so the cleaned text is what chunk offsets and gold
evidence spans point into. A file that cannot be read becomes a ``Skipped`` entry naming the file
and the reason; the rest of the corpus still loads.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from qa.types import Document

log = logging.getLogger(__name__)

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")
DEFAULT_MAX_BYTES = 20_000_000

_FURNITURE = [
    re.compile(r"^(foto|fotos|bild|bildquelle|image|photo|credit)s?\s*:\s*\S.{0,120}$", re.I),
    re.compile(r"^[\s·•|–—\-*]*$"),  # a lone bullet or separator
    re.compile(r"^[-*•]?\s*(https?://|www\.)\S+$", re.I),  # a bare URL (source lists)
]
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


def clean_text(text: str) -> str:
    """Normalise whitespace and drop furniture lines; never rewrites words.

    >>> clean_text("Foto: dpa\\r\\nAlibaba  wächst.   \\n\\n\\n\\n·\\nEnde")
    'Alibaba  wächst.\\n\\nEnde'
    """
    text = unicodedata.normalize("NFC", text).translate(_ZERO_WIDTH)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    lines = [ln.rstrip() for ln in text.split("\n")]
    kept = [ln if not any(p.match(ln.strip()) for p in _FURNITURE) or not ln.strip() else None
            for ln in lines]
    out = "\n".join(ln for ln in kept if ln is not None)
    out = re.sub(r"\n{3,}", "\n\n", out)
    return out.strip()


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data[:8192]:
        raise ValueError("binary content (NUL bytes), not text")
    for enc in ("utf-8-sig",):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            pass
    # Latin-1 family files are common for German text; cp1252 decodes any byte but 5, so check
    # that the result looks like text before trusting it.
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as e:
        raise ValueError("not UTF-8 and not Windows-1252 text") from e
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t")
    if controls > max(2, len(text) // 200):
        raise ValueError("undecodable bytes: neither UTF-8 nor Windows-1252 text")
    log.warning("%s is not UTF-8; read as Windows-1252", name)
    return text


def _markdown_to_text(md: str) -> str:
    md = re.sub(r"```.*?```", "", md, flags=re.S)
    md = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", md)  # images
    md = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", md)  # links keep their words
    md = re.sub(r"^\s{0,3}#{1,6}\s*", "", md, flags=re.M)  # heading marks
    md = re.sub(r"^\s{0,3}>\s?", "", md, flags=re.M)
    md = re.sub(r"(\*\*|__)(.+?)\1", r"\2", md)
    md = re.sub(r"<[^>\n]+>", "", md)  # inline html tags
    return md


def _html_to_text(html: str) -> tuple[str, str]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "lxml")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
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
    return text, title


def _pdf_to_text(path: Path) -> tuple[str, str]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise ValueError("encrypted PDF")
        pages = [p.extract_text() or "" for p in reader.pages]
        meta_title = (reader.metadata.title if reader.metadata else None) or ""
    except (PdfReadError, KeyError, OSError) as e:
        raise ValueError(f"unreadable PDF ({e})") from e
    # a hyphen at a line end inside a word is the typesetter's, not the author's
    text = "\n\n".join(re.sub(r"(\w)-\n(\w)", r"\1\2", p) for p in pages)
    return text, str(meta_title)


def _title_from(text: str) -> str:
    for line in text.split("\n"):
        line = line.strip(" -•·#*")
        if len(line) >= 3:
            return line[:200]
    return ""


def load_file(path: Path, source: str | None = None,
              max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """Read and clean one file; raises ``ValueError`` with the reason when it cannot be used."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise ValueError(f"unsupported file type {suffix or '(none)'}; use {', '.join(SUPPORTED)}")
    size = path.stat().st_size
    if size == 0:
        raise ValueError("empty file")
    if size > max_bytes:
        raise ValueError(f"too large ({size:,} bytes > {max_bytes:,})")
    data = path.read_bytes()
    title = ""
    if suffix == ".pdf":
        if not data.startswith(b"%PDF"):
            raise ValueError("not a PDF (no %PDF header)")
        raw, title = _pdf_to_text(path)
    else:
        raw = _decode(data, path.name)
        if suffix in (".html", ".htm"):
            raw, title = _html_to_text(raw)
        elif suffix in (".md", ".markdown"):
            raw = _markdown_to_text(raw)
    text = clean_text(raw)
    if len(text.split()) < 3:
        raise ValueError("no article text after cleaning (empty or only markup)")
    title = (title or _title_from(text)).strip()
    return Document(doc_id=sha256_bytes(text.encode("utf-8")), source=source or path.name,
                    title=title, text=text, sha256=sha256_bytes(data),
                    meta={"bytes": size, "format": suffix.lstrip(".")})


def iter_files(paths: Iterable[Path]) -> Iterable[tuple[Path, str]]:
    """Yield (file, source name): folders are walked recursively, hidden files ignored."""
    for p in paths:
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                rel = f.relative_to(p)
                if f.is_file() and not any(part.startswith(".") for part in rel.parts):
                    yield f, rel.as_posix()
        else:
            yield p, p.name


def load_corpus(paths: Iterable[Path | str], max_bytes: int = DEFAULT_MAX_BYTES) -> LoadResult:
    """Load every supported file; unusable ones are reported in ``skipped``, never fatal."""
    result = LoadResult()
    seen: dict[str, str] = {}
    for path, source in iter_files(Path(p) for p in paths):
        if not path.exists():
            result.skipped.append(Skipped(str(path), "does not exist"))
            continue
        try:
            doc = load_file(path, source, max_bytes=max_bytes)
        except (ValueError, OSError) as e:
            result.skipped.append(Skipped(source, str(e)))
            log.warning("%s: skipped, %s", source, e)
            continue
        if source in seen:
            result.skipped.append(Skipped(source, f"duplicate name (already from {seen[source]})"))
            continue
        seen[source] = str(path)
        result.documents.append(doc)
    return result
