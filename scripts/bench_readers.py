"""Time and compare document readers on Office and e-book files (README, "File formats").

    python scripts/bench_readers.py make DIR        # write the bench files (needs the dev deps)
    python scripts/bench_readers.py qa DIR          # qa's readers (qa.ingest.readers)
    python scripts/bench_readers.py markitdown DIR  # in an environment with markitdown
    python scripts/bench_readers.py kreuzberg DIR   # in an environment with kreuzberg

Prints, per file: milliseconds per read (median of 5), characters of text, and whether the
probe strings (a heading, a list item, a table cell pair on one line, the last paragraph) are
in the text.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

PROBES = ("Abschnitt 7", "Punkt 3 der Liste", "Zeile 12", "Schlusswort des Berichts")


def make(d: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    import docx
    from office_files import make_epub, make_odt, make_pdf
    from openpyxl import Workbook
    from pptx import Presentation

    d.mkdir(parents=True, exist_ok=True)
    para = ("Die Nordwind AG berichtet über den Ausbau der Windparks an der Küste. " * 6).strip()
    doc = docx.Document()
    for i in range(1, 41):
        doc.add_heading(f"Abschnitt {i}", level=2)
        for _ in range(4):
            doc.add_paragraph(para)
        for j in range(1, 5):
            doc.add_paragraph(f"Punkt {j} der Liste", style="List Bullet")
    t = doc.add_table(rows=30, cols=3)
    for r, row in enumerate(t.rows, 1):
        for c, cell in enumerate(row.cells, 1):
            cell.text = f"Zeile {r}" if c == 1 else f"Wert {r}.{c}"
    doc.add_paragraph("Schlusswort des Berichts.")
    doc.save(str(d / "bench.docx"))

    prs = Presentation()
    for i in range(1, 31):
        s = prs.slides.add_slide(prs.slide_layouts[1])
        s.shapes.title.text = f"Abschnitt {i}"
        s.placeholders[1].text = "\n".join([para] + [f"Punkt {j} der Liste" for j in range(1, 5)])
    s = prs.slides.add_slide(prs.slide_layouts[5])
    s.shapes.title.text = "Schlusswort des Berichts"
    from pptx.util import Inches
    tbl = s.shapes.add_table(13, 2, Inches(1), Inches(2), Inches(6), Inches(3)).table
    for r in range(13):
        tbl.cell(r, 0).text, tbl.cell(r, 1).text = f"Zeile {r}", f"Wert {r}"
    prs.save(str(d / "bench.pptx"))

    wb = Workbook()
    ws = wb.active
    ws.title = "Abschnitt 7"
    for r in range(1, 2001):
        ws.append([f"Zeile {r}", r * 1.5, "Punkt 3 der Liste" if r == 3 else "x"])
    wb.create_sheet("Schlusswort des Berichts").append(["Ende", 1])
    wb.save(str(d / "bench.xlsx"))

    chapters = tuple((f"Abschnitt {i}", " ".join([para] * 4)) for i in range(1, 21))
    chapters += (("Schluss", "Schlusswort des Berichts. Zeile 12 | Wert"),)
    make_epub(d / "bench.epub", chapters=chapters)
    make_odt(d / "bench.odt")
    make_pdf(d / "bench.pdf", [f"Abschnitt {i}\n{para}\nZeile 12 | Wert" for i in range(1, 20)]
             + ["Schlusswort des Berichts."])


def extract(tool: str, f: Path) -> str:
    if tool == "qa":
        from qa.ingest.readers import READERS

        return "\n\n".join(READERS[f.suffix](f, f.read_bytes()).parts)
    if tool == "markitdown":
        from markitdown import MarkItDown

        return MarkItDown().convert(str(f)).text_content
    if tool == "kreuzberg":
        from kreuzberg import extract_file_sync

        return extract_file_sync(str(f)).content
    raise SystemExit(f"unknown tool {tool}")


def main() -> None:
    tool, d = sys.argv[1], Path(sys.argv[2])
    if tool == "make":
        make(d)
        return
    for f in sorted(d.iterdir()):
        try:
            text = extract(tool, f)
        except Exception as e:  # noqa: BLE001 - a comparison: report and go on
            print(f"{tool:10} {f.name:14} failed: {type(e).__name__}: {str(e)[:80]}")
            continue
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            extract(tool, f)
            times.append((time.perf_counter() - t0) * 1000)
        found = [p for p in PROBES if p in text]
        row = any("Zeile 12" in line and "Wert" in line for line in text.splitlines())
        print(f"{tool:10} {f.name:14} {statistics.median(times):8.1f} ms {len(text):7} chars  "
              f"probes {len(found)}/{len(PROBES)}  table row on one line: {row}")


if __name__ == "__main__":
    main()
