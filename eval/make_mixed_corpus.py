"""Build ``eval/corpora/docs-de-mixed/``: docs-de's documents in the formats people have.

The same 16 documents and the same questions as ``docs-de``, but most web pages saved as
Word (.docx), OpenDocument (.odt), EPUB or RTF, and two of the four PDFs turned into image-only
scans that qa reads by Tesseract OCR. The file stems stay, so each gold item keeps pointing at
the same document; the gold is docs-de's (ids, questions, facts, tune/test halves unchanged)
with each evidence file renamed to its new suffix and its span located again in the text qa
extracts from the new file (``build_gold.locate``). A quote the conversion or the OCR lost
keeps the empty span -1..-1 and is listed on stderr, as ``build_gold.py`` does.

The output is a build product, ignored by git (``/eval/corpora/docs-de-mixed/``); ``qa eval
--corpus docs-de-mixed`` runs this script when the folder is missing. What qa reads from it is
deterministic: the converted text depends only on the source files (zip members and PDF dates
are fixed, so even the bytes repeat and the OCR cache, keyed by the file's hash, is reused).

    python eval/make_mixed_corpus.py            # (re)build the folder
    python eval/make_mixed_corpus.py --out DIR  # somewhere else
    python eval/make_mixed_corpus.py --list     # which format each document gets
"""

from __future__ import annotations

import io
import json
import shutil
import sys
import time
import unicodedata
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "eval"))

SOURCE = ROOT / "eval" / "corpora" / "docs-de"
OUT = ROOT / "eval" / "corpora" / "docs-de-mixed"
FIXED_TIME = datetime(2026, 1, 1, tzinfo=UTC)
ZIP_TIME = (2026, 1, 1, 0, 0, 0)
SCAN_DPI = 200

# stem -> the format it is saved in; stems not named keep their file (HTML or text PDF)
FORMATS = {
    "01_debian-faq-definitionen": "docx",
    "03_debian-faq-software": "docx",
    "07_debian-faq-naechste-version": "docx",
    "10_devref-mitgliedschaft": "docx",
    "02_debian-faq-installieren": "odt",
    "08_maint-guide-pruefen": "odt",
    "05_debian-faq-unterstuetzung": "epub",
    "11_devref-pflichten": "epub",
    "06_debian-faq-beitragen": "rtf",
    "09_maint-guide-hochladen": "rtf",
    "14_uhrzeit": "scan.pdf",
    "15_hausarbeit-jura": "scan.pdf",
}

Block = tuple[str, object]  # ("h1".."h4" | "p" | "li" | "pre", text) or ("table", rows)


def html_blocks(html: str) -> tuple[str, list[Block]]:
    """The title and the blocks of a page, read as ``qa.corpus._html_blocks`` reads them
    (same root, same dropped furniture), but with each block's kind kept and tables as rows.

    >>> html_blocks("<title>T</title><h2>Kopf</h2><p>Ein  Satz.</p><ul><li>eins</li></ul>")
    ('T', [('h2', 'Kopf'), ('p', 'Ein Satz.'), ('li', 'eins')])
    """
    import warnings

    from bs4 import BeautifulSoup, XMLParsedAsHTMLWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(html, "lxml")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(["script", "style", "noscript", "template", "nav", "header", "footer",
                     "aside", "form", "iframe", "svg", "button"]):
        tag.decompose()
    root = soup.find("article") or soup.find("main") or soup.body or soup
    blocks: list[Block] = []
    for el in root.find_all(["h1", "h2", "h3", "h4", "p", "li", "blockquote", "pre", "table"]):
        if el.find_parent("table") is not None:
            continue  # read with its table
        if el.name == "table":
            rows = [[" ".join(c.get_text(" ", strip=True).split())
                     for c in tr.find_all(["td", "th"])] for tr in el.find_all("tr")]
            rows = [r for r in rows if any(r)]
            if rows:
                blocks.append(("table", rows))
            continue
        if el.find(["p", "li"]):
            continue
        text = " ".join(el.get_text(" ", strip=True).split())
        if text:
            kind = el.name if el.name in ("h1", "h2", "h3", "h4", "li", "pre") else "p"
            blocks.append((kind, text))
    return title, blocks


def _fix_zip(data: bytes) -> bytes:
    """The same zip with every member's date fixed (so equal input gives equal bytes)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, ZIP_TIME)
            fixed.compress_type = (zipfile.ZIP_STORED if info.filename == "mimetype"
                                   else zipfile.ZIP_DEFLATED)
            fixed.external_attr = info.external_attr
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def to_docx(title: str, blocks: list[Block]) -> bytes:
    import docx

    d = docx.Document()
    d.core_properties.title = title
    d.core_properties.author = "docs-de"
    d.core_properties.created = d.core_properties.modified = FIXED_TIME.replace(tzinfo=None)
    for kind, value in blocks:
        if kind == "table":
            rows = value  # type: ignore[assignment]
            width = max(len(r) for r in rows)
            table = d.add_table(rows=len(rows), cols=width)
            for r, row in enumerate(rows):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = cell
        elif kind in ("h1", "h2", "h3", "h4"):
            d.add_heading(str(value), level=int(kind[1]))
        elif kind == "li":
            d.add_paragraph(str(value), style="List Bullet")
        else:
            d.add_paragraph(str(value))
    buf = io.BytesIO()
    d.save(buf)
    return _fix_zip(buf.getvalue())


def to_odt(title: str, blocks: list[Block]) -> bytes:
    from odf.opendocument import OpenDocumentText
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import H, List, ListItem, P

    doc = OpenDocumentText()
    from odf import dc, meta

    doc.meta.addElement(dc.Title(text=title))
    doc.meta.addElement(meta.InitialCreator(text="docs-de"))
    doc.meta.addElement(dc.Date(text=FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%S")))
    current_list = None
    for kind, value in blocks:
        if kind != "li":
            current_list = None
        if kind == "table":
            rows = value  # type: ignore[assignment]
            table = Table()
            table.addElement(TableColumn(numbercolumnsrepeated=max(len(r) for r in rows)))
            for row in rows:
                tr = TableRow()
                for cell in row:
                    tc = TableCell()
                    tc.addElement(P(text=cell))
                    tr.addElement(tc)
                table.addElement(tr)
            doc.text.addElement(table)
        elif kind in ("h1", "h2", "h3", "h4"):
            doc.text.addElement(H(outlinelevel=int(kind[1]), text=str(value)))
        elif kind == "li":
            if current_list is None:
                current_list = List()
                doc.text.addElement(current_list)
            item = ListItem()
            item.addElement(P(text=str(value)))
            current_list.addElement(item)
        else:
            doc.text.addElement(P(text=str(value)))
    buf = io.BytesIO()
    doc.write(buf)
    return _fix_zip(buf.getvalue())


def _xhtml(title: str, blocks: list[Block]) -> str:
    from html import escape

    body = []
    in_list = False
    for kind, value in blocks:
        if kind != "li" and in_list:
            body.append("</ul>")
            in_list = False
        if kind == "table":
            rows = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>"
                           for r in value)  # type: ignore[union-attr]
            body.append(f"<table>{rows}</table>")
        elif kind == "li":
            if not in_list:
                body.append("<ul>")
                in_list = True
            body.append(f"<li>{escape(str(value))}</li>")
        else:
            body.append(f"<{kind}>{escape(str(value))}</{kind}>")
    if in_list:
        body.append("</ul>")
    return "\n".join(body)


def to_epub(title: str, blocks: list[Block], stem: str) -> bytes:
    """One chapter per top-level heading run (a book, not one long page)."""
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier(f"docs-de-mixed-{stem}")
    book.set_title(title)
    book.set_language("de")
    book.add_author("docs-de")
    book.add_metadata("DC", "date", FIXED_TIME.strftime("%Y-%m-%d"))
    chapters: list[list[Block]] = [[]]
    for b in blocks:
        if b[0] in ("h1", "h2") and chapters[-1]:
            chapters.append([])
        chapters[-1].append(b)
    items = []
    for i, chunk in enumerate(chapters, 1):
        head = next((str(v) for k, v in chunk if k.startswith("h")), f"Teil {i}")
        ch = epub.EpubHtml(title=head, file_name=f"chap_{i:02d}.xhtml", lang="de")
        ch.content = _xhtml(head, chunk)
        book.add_item(ch)
        items.append(ch)
    book.toc = items
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", *items]
    buf = io.BytesIO()
    epub.write_epub(buf, book, {"mtime": FIXED_TIME})
    return _fix_zip(buf.getvalue())


def _rtf_escape(text: str) -> str:
    r"""RTF's 7-bit text: ``\\``, braces escaped, every non-ASCII character as ``\uN?``.

    >>> _rtf_escape("Grüße {x}")
    'Gr\\u252?\\u223?e \\{x\\}'
    """
    out = []
    for ch in text:
        if ch in "\\{}":
            out.append("\\" + ch)
        elif ord(ch) < 128:
            out.append(ch)
        else:
            code = ord(ch)
            for unit in ([code] if code < 0x10000 else
                         [0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)]):
                out.append(f"\\u{unit if unit < 32768 else unit - 65536}?")
    return "".join(out)


def to_rtf(title: str, blocks: list[Block]) -> bytes:
    lines = ["{\\rtf1\\ansi\\ansicpg1252\\deff0{\\fonttbl{\\f0 Times New Roman;}}",
             f"{{\\info{{\\title {_rtf_escape(title)}}}{{\\author docs-de}}}}"]
    for kind, value in blocks:
        if kind == "table":
            for row in value:  # type: ignore[union-attr]
                cells = "".join(f"{_rtf_escape(c)}\\cell " for c in row)
                bounds = "".join(f"\\cellx{2000 * (i + 1)}" for i in range(len(row)))
                lines.append(f"\\trowd{bounds} {cells}\\row")
            continue
        text = _rtf_escape(str(value))
        if kind in ("h1", "h2", "h3", "h4"):
            lines.append(f"{{\\pard\\b\\fs{36 - 4 * int(kind[1])} {text}\\par}}")
        elif kind == "li":
            lines.append(f"{{\\pard\\li360 \\bullet  {text}\\par}}")
        else:
            lines.append(f"{{\\pard {text}\\par}}")
    lines.append("}")
    return "\n".join(lines).encode("ascii")


def to_scan(pdf: bytes) -> bytes:
    """An image-only PDF: each page rendered at ``SCAN_DPI`` in grey, no text layer."""
    import pypdfium2
    from PIL import Image

    doc = pypdfium2.PdfDocument(pdf)
    try:
        images = [doc[i].render(scale=SCAN_DPI / 72, grayscale=True).to_pil().convert("L")
                  for i in range(len(doc))]
    finally:
        doc.close()
    buf = io.BytesIO()
    stamp = time.gmtime(FIXED_TIME.timestamp())
    first: Image.Image = images[0]
    first.save(buf, "PDF", save_all=True, append_images=images[1:], resolution=SCAN_DPI,
               title="scan", creationDate=stamp, modDate=stamp)
    return buf.getvalue()


def convert(src: Path) -> tuple[str, bytes]:
    """The new file name and bytes of one docs-de document (unchanged when not in FORMATS)."""
    fmt = FORMATS.get(src.stem)
    data = src.read_bytes()
    if fmt is None:
        return src.name, data
    if fmt == "scan.pdf":
        return src.name, to_scan(data)
    title, blocks = html_blocks(data.decode("utf-8", errors="replace"))
    if fmt == "docx":
        out = to_docx(title, blocks)
    elif fmt == "odt":
        out = to_odt(title, blocks)
    elif fmt == "epub":
        out = to_epub(title, blocks, src.stem)
    elif fmt == "rtf":
        out = to_rtf(title, blocks)
    else:
        raise ValueError(f"unknown format {fmt}")
    return f"{src.stem}.{fmt}", out


def converted(source: Path = SOURCE) -> Iterator[tuple[Path, str, bytes]]:
    for src in sorted((source / "docs").iterdir()):
        if src.is_file():
            name, data = convert(src)
            yield src, name, data


def relocate_gold(gold: list[dict], renamed: dict[str, str], texts: dict[str, str]) -> list[dict]:
    """docs-de's gold with evidence files renamed and spans located in the new texts."""
    from build_gold import locate

    out = []
    for item in gold:
        item = json.loads(json.dumps(item))
        for ev in item.get("evidence") or []:
            ev["file"] = renamed.get(ev["file"], ev["file"])
            text = texts.get(ev["file"], "")
            start, end, n = locate(text, ev["quote"])
            if n == 0:  # a ligature of the text layer ("ﬀ") that OCR reads as letters ("ff")
                start, end, n = locate(text, unicodedata.normalize("NFKC", ev["quote"]))
            if n == 0:
                print(f"docs-de-mixed/{item['id']}: {ev['file']}: quote not in qa's extracted "
                      f"text: {ev['quote'][:70]!r}", file=sys.stderr)
            ev["start"], ev["end"] = start, end
        out.append(item)
    return out


def build(source: Path = SOURCE, out: Path = OUT) -> dict[str, str]:
    """Write ``out/docs/`` and ``out/gold.jsonl``; return old file name -> new file name."""
    from qa.corpus import load_corpus

    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "docs").mkdir(parents=True)
    renamed = {}
    for src, name, data in converted(source):
        (tmp / "docs" / name).write_bytes(data)
        renamed[src.name] = name
    texts = {d.source: d.text for d in load_corpus([tmp / "docs"]).documents}
    gold = [json.loads(line) for line in
            (source / "gold.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    items = relocate_gold(gold, renamed, texts)
    (tmp / "gold.jsonl").write_text(
        "".join(json.dumps(it, ensure_ascii=False) + "\n" for it in items), encoding="utf-8")
    (tmp / "README.md").write_text(
        "Built by eval/make_mixed_corpus.py from docs-de; do not edit (ignored by git).\n",
        encoding="utf-8")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return renamed


def main(argv: list[str]) -> int:
    if "--list" in argv:
        for src in sorted((SOURCE / "docs").iterdir()):
            print(f"{src.name} -> {FORMATS.get(src.stem, src.suffix.lstrip('.'))}")
        return 0
    out = Path(argv[argv.index("--out") + 1]).resolve() if "--out" in argv else OUT
    renamed = build(out=out)
    changed = sum(a != b for a, b in renamed.items())
    scans = sum(f == "scan.pdf" for f in FORMATS.values())
    print(f"wrote {out}: {len(renamed)} documents, {changed} converted, {scans} PDFs as scans")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
