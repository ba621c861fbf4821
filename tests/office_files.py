"""Office, e-book and PDF files for the tests, written by the libraries that write them
(python-docx, python-pptx, openpyxl, odfpy, ebooklib, fpdf2): real files, never downloaded."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path


def make_docx(path: Path, title: str = "Quartalsbericht Nordwind",
              author: str = "Erika Muster") -> Path:
    """A heading, two paragraphs, a bulleted list and a table; title and author set."""
    import docx

    d = docx.Document()
    d.core_properties.title = title
    d.core_properties.author = author
    d.core_properties.created = dt.datetime(2025, 3, 14, 9, 30)
    d.add_heading("Ergebnisse des dritten Quartals", level=1)
    d.add_paragraph("Die Nordwind AG steigerte ihren Umsatz im dritten Quartal auf 412 Millionen "
                    "Euro. Der Vorstand nannte die Windparks in Schleswig-Holstein als Grund.")
    d.add_heading("Ausblick", level=2)
    d.add_paragraph("Für das nächste Jahr plant das Unternehmen drei neue Standorte.")
    d.add_paragraph("Husum an der Nordsee", style="List Bullet")
    d.add_paragraph("Rostock an der Ostsee", style="List Bullet")
    table = d.add_table(rows=3, cols=2)
    for row, cells in zip(table.rows, [("Region", "Umsatz"), ("Nord", "250"), ("Süd", "162")], strict=True):
        for cell, value in zip(row.cells, cells, strict=True):
            cell.text = value
    d.save(str(path))
    return path


def make_pptx(path: Path, title: str = "Strategie 2026") -> Path:
    """Two slides, each with a title and a bulleted body; the second with a table."""
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation()
    prs.core_properties.title = title
    prs.core_properties.author = "Max Beispiel"
    s1 = prs.slides.add_slide(prs.slide_layouts[1])
    s1.shapes.title.text = "Marktlage im Norden"
    s1.placeholders[1].text = ("Die Nachfrage nach Windstrom wuchs um zwölf Prozent.\n"
                               "Neue Kunden kamen vor allem aus Hamburg.")
    s2 = prs.slides.add_slide(prs.slide_layouts[5])
    s2.shapes.title.text = "Investitionen"
    shape = s2.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(6), Inches(1))
    for (r, c), value in zip([(0, 0), (0, 1), (1, 0), (1, 1)],
                             ["Projekt", "Budget", "Offshore-Park Helgoland", "80 Millionen"], strict=True):
        shape.table.cell(r, c).text = value
    prs.save(str(path))
    return path


def make_xlsx(path: Path, title: str = "Absatzzahlen") -> Path:
    """Two sheets ("Umsatz" and "Personal"), a header row each; title set."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.properties.title = title
    wb.properties.creator = "Controlling"
    ws = wb.active
    assert ws is not None
    ws.title = "Umsatz"
    for row in [("Region", "Umsatz 2025"), ("Nord", 250), ("Süd", 162.5)]:
        ws.append(row)
    ws2 = wb.create_sheet("Personal")
    for row in [("Standort", "Mitarbeiter"), ("Husum", 48), ("Rostock", 31)]:
        ws2.append(row)
    wb.save(str(path))
    return path


def make_odt(path: Path, title: str = "Protokoll der Sitzung") -> Path:
    """A heading, a paragraph, a list and a table; title set."""
    from odf import dc, opendocument, table, text

    doc = opendocument.OpenDocumentText()
    doc.meta.addElement(dc.Title(text=title))
    doc.meta.addElement(dc.Creator(text="Hans Protokoll"))
    doc.text.addElement(text.H(outlinelevel=1, text="Beschlüsse"))
    doc.text.addElement(text.P(text="Der Verein beschloss einen neuen Vorstand mit fünf "
                                    "Mitgliedern."))
    lst = text.List()
    for item in ("Kasse geprüft", "Sommerfest im Juli"):
        li = text.ListItem()
        li.addElement(text.P(text=item))
        lst.addElement(li)
    doc.text.addElement(lst)
    t = table.Table(name="Stimmen")
    for values in (("Antrag", "Ja"), ("Satzung", "17")):
        tr = table.TableRow()
        for v in values:
            tc = table.TableCell()
            tc.addElement(text.P(text=v))
            tr.addElement(tc)
        t.addElement(tr)
    doc.text.addElement(t)
    doc.save(str(path))
    return path


def make_epub(path: Path, title: str = "Die Reise nach Sylt",
              chapters: tuple[tuple[str, str], ...] = (
                  ("Aufbruch", "Am Morgen fuhr Anna mit dem Zug von Hamburg nach Westerland."),
                  ("Ankunft", "Auf der Insel wartete ihr Bruder mit zwei Fahrrädern.")),
              extra_head: str = "") -> Path:
    """An e-book of chapters (one XHTML file each, in the spine); title and author set.
    ``extra_head`` goes into every chapter's ``<head>`` (e.g. a remote stylesheet)."""
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("qa-test-book")
    book.set_title(title)
    book.set_language("de")
    book.add_author("Lena Autorin")
    items = []
    for i, (head, body) in enumerate(chapters, 1):
        c = epub.EpubHtml(title=head, file_name=f"chap_{i}.xhtml", lang="de")
        c.content = (f"<html><head>{extra_head}</head><body><h1>{head}</h1><p>{body}</p>"
                     "<ul><li>Erster Punkt der Liste</li><li>Zweiter Punkt</li></ul>"
                     "</body></html>")
        book.add_item(c)
        items.append(c)
    book.toc = items
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", *items]
    epub.write_epub(str(path), book)
    return path


def make_pdf(path: Path, pages: list[str], title: str = "") -> Path:
    """A text PDF with one page per entry of ``pages``."""
    from fpdf import FPDF

    pdf = FPDF()
    if title:
        pdf.set_title(title)
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    pdf.output(str(path))
    return path


def make_scan(path: Path, lines: list[str]) -> Path:
    """An image of ``lines`` of printed text: ``.png`` an image file, ``.pdf`` a PDF page holding
    only that image (a scan, without a text layer)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=36)
    img = Image.new("RGB", (1400, 100 + 80 * len(lines)), "white")
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((40, 40 + 80 * i), line, fill="black", font=font)
    img.save(path)
    return path


RTF = (r"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Times New Roman;}}"
       r"{\info{\title Hafenbericht Kiel}{\author Jana K\'fcster}}"
       r"\pard\b Der Hafen\b0\par "
       r"Im Kieler Hafen legten 2025 genau 271 Kreuzfahrtschiffe an. Das ist ein Rekord.\par "
       r"\trowd\cellx2000\cellx4000 Schiff\cell Anl\'e4ufe\cell\row "
       r"\trowd\cellx2000\cellx4000 AIDA\cell 40\cell\row "
       r"\pard Die Geb\u252?hr stieg um 5 \u8364?.\par}")


def make_encrypted_docx(path: Path, password: str = "geheim") -> Path:
    """A docx encrypted with a password, as Word writes it (an OLE container; msoffcrypto-tool)."""
    import io

    from msoffcrypto.format.ooxml import OOXMLFile

    plain = make_docx(path.with_name(path.stem + ".plain.tmp"))
    out = io.BytesIO()
    with open(plain, "rb") as f:
        OOXMLFile(f).encrypt(password, out)
    plain.unlink()
    path.write_bytes(out.getvalue())
    return path


def damage_member(src: Path, dst: Path, member: str, data: bytes = b"<a><unclosed>") -> Path:
    """A copy of the zip-based file ``src`` with ``member`` replaced by broken XML."""
    with zipfile.ZipFile(src) as z_in, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z_out:
        for info in z_in.infolist():
            z_out.writestr(info, data if info.filename == member else z_in.read(info))
    return dst


def make_zip_bomb(path: Path, member: str = "word/document.xml", size: int = 300_000_000) -> Path:
    """A zip whose one member declares ``size`` bytes of zeros (compressed to a few hundred KB)."""
    chunk = b"\0" * 1_000_000
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open(member, "w", force_zip64=True) as f:
            for _ in range(size // len(chunk)):
                f.write(chunk)
    return path
