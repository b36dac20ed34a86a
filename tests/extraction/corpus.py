"""Writes the extraction test corpus into a folder: one file per supported format family made
with the usual writers (python-docx, python-pptx, openpyxl, xlwt, fpdf2, odfpy) or by hand (RTF,
HTML, XML, SVG, text), plus corrupt and hostile files. Prints a JSON manifest: for each file, a
few phrases its text must contain ("" for files that must give no body).

usage: corpus.py OUT_DIR [--copies N] [--bomb-mb N] [--no-hostile] [--binary-only]
"""

import argparse
import io
import json
import os
import random
import zipfile

WORDS = (
    "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november "
    "oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu connector "
    "elasticsearch serverless lambda invoice quarterly revenue forecast meeting agenda minutes "
    "café naïve résumé Zürich"
).split()


def sentence(rng, n=12):
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def paragraphs(rng, count, n=12):
    return [sentence(rng, n) for _ in range(count)]


def write_text_family(out, rng, tag, manifest):
    paras = paragraphs(rng, 20)
    marker = f"marker{tag}text"
    body = "\n\n".join([marker] + paras)
    for ext in ["txt", "md", "markdown", "rst", "py", "rb", "sh", "paper"]:
        name = f"{tag}-text.{ext}"
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            f.write(body)
        manifest[name] = [marker, paras[3]]
    rows = [[rng.choice(WORDS) for _ in range(5)] for _ in range(30)]
    for ext, sep in [("csv", ","), ("tsv", "\t")]:
        name = f"{tag}-table.{ext}"
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            f.write(sep.join(["h1", f"marker{tag}{ext}", "h3", "h4", "h5"]) + "\n")
            f.writelines(sep.join(r) + "\n" for r in rows)
        manifest[name] = [f"marker{tag}{ext}", rows[7][2]]
    name = f"{tag}-data.json"
    with open(os.path.join(out, name), "w", encoding="utf-8") as f:
        json.dump({"title": f"marker{tag}json", "items": paras[:5]}, f, ensure_ascii=False)
    manifest[name] = [f"marker{tag}json"]


def write_markup(out, rng, tag, manifest):
    paras = paragraphs(rng, 15)
    html = (
        "<!DOCTYPE html><html><head><title>Ignored title</title><style>p{color:red}</style>"
        "<script>var hidden = 'scriptonly';</script></head><body>"
        f"<h1>marker{tag}html &amp; heading</h1>"
        + "".join(f"<p>{p}</p>" for p in paras)
        + "<table><tr><td>cell one</td><td>cell two</td></tr></table></body></html>"
    )
    for ext in ["html", "aspx"]:
        name = f"{tag}-page.{ext}"
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            f.write(html.replace(f"marker{tag}html", f"marker{tag}{ext}"))
        manifest[name] = [f"marker{tag}{ext} & heading", paras[2], "cell one"]
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><catalog>'
        f"<title>marker{tag}xml</title>"
        + "".join(f'<item id="{i}"><name>{p}</name></item>' for i, p in enumerate(paras))
        + "<note><![CDATA[raw <cdata> text]]></note></catalog>"
    )
    name = f"{tag}-catalog.xml"
    with open(os.path.join(out, name), "w", encoding="utf-8") as f:
        f.write(xml)
    manifest[name] = [f"marker{tag}xml", paras[4], "raw <cdata> text"]
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100">'
        f'<text x="10" y="20">marker{tag}svg</text><text x="10" y="40">{paras[0]}</text></svg>'
    )
    name = f"{tag}-drawing.svg"
    with open(os.path.join(out, name), "w", encoding="utf-8") as f:
        f.write(svg)
    manifest[name] = [f"marker{tag}svg"]
    rtf_paras = "".join(
        p.replace("é", "\\'e9").replace("ï", "\\'ef").replace("ü", "\\'fc") + "\\par\n" for p in paras
    )
    rtf = (
        "{\\rtf1\\ansi\\ansicpg1252\\deff0{\\fonttbl{\\f0\\fswiss Helvetica;}}"
        "{\\colortbl;\\red255\\green0\\blue0;}{\\*\\generator corpus;}"
        f"\\pard\\f0 marker{tag}rtf \\b bold\\b0  words\\par\n{rtf_paras}"
        "euro \\u8364? sign\\par}"
    )
    name = f"{tag}-letter.rtf"
    with open(os.path.join(out, name), "w", encoding="ascii") as f:
        f.write(rtf)
    manifest[name] = [f"marker{tag}rtf bold words", "euro € sign", paras[1]]


def write_office(out, rng, tag, manifest):
    import docx
    import openpyxl
    import pptx
    import xlwt
    from fpdf import FPDF
    from odf.opendocument import OpenDocumentText
    from odf.text import H, P

    paras = paragraphs(rng, 25)
    d = docx.Document()
    d.add_heading(f"marker{tag}docx heading", 1)
    for p in paras:
        d.add_paragraph(p)
    t = d.add_table(rows=2, cols=2)
    t.cell(0, 0).text = "tablecell alpha"
    t.cell(1, 1).text = "tablecell omega"
    name = f"{tag}-report.docx"
    d.save(os.path.join(out, name))
    manifest[name] = [f"marker{tag}docx heading", paras[5], "tablecell omega"]

    deck = pptx.Presentation()
    for i in range(4):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = f"marker{tag}pptx slide {i}"
        slide.placeholders[1].text = paras[i]
        slide.notes_slide.notes_text_frame.text = f"speaker note {i}"
    for ext in ["pptx", "potx"]:
        name = f"{tag}-deck.{ext}"
        deck.save(os.path.join(out, name))
        manifest[name] = [f"marker{tag}pptx slide 2", paras[1]]

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Revenue"
    ws.append([f"marker{tag}xlsx", "quarter", "amount"])
    for i in range(40):
        ws.append([rng.choice(WORDS), f"Q{i % 4 + 1}", i * 10])
    second = wb.create_sheet("Notes")
    second["A1"] = "second sheet text"
    for ext in ["xlsx", "xlsm"]:
        name = f"{tag}-book.{ext}"
        wb.save(os.path.join(out, name))
        manifest[name] = [f"marker{tag}xlsx", "second sheet text", "Revenue"]

    book = xlwt.Workbook()
    sheet = book.add_sheet("Legacy")
    sheet.write(0, 0, f"marker{tag}xls")
    for i in range(30):
        sheet.write(i + 1, 0, rng.choice(WORDS))
        sheet.write(i + 1, 1, i)
    name = f"{tag}-legacy.xls"
    book.save(os.path.join(out, name))
    manifest[name] = [f"marker{tag}xls", "Legacy"]

    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for page in range(3):
        pdf.add_page()
        pdf.multi_cell(0, 6, f"marker{tag}pdf page {page}", new_x="LMARGIN", new_y="NEXT")
        for p in paras[page * 5 : page * 5 + 5]:
            pdf.multi_cell(0, 6, p.encode("latin-1", "replace").decode("latin-1"), new_x="LMARGIN", new_y="NEXT")
    name = f"{tag}-paper.pdf"
    pdf.output(os.path.join(out, name))
    manifest[name] = [f"marker{tag}pdf page 2"]

    odt = OpenDocumentText()
    odt.text.addElement(H(outlinelevel=1, text=f"marker{tag}odt heading"))
    for p in paras[:10]:
        odt.text.addElement(P(text=p))
    name = f"{tag}-essay.odt"
    odt.save(os.path.join(out, name))
    manifest[name] = [f"marker{tag}odt heading", paras[3]]


def write_hostile(out, bomb_mb, manifest):
    # A truncated PDF, a zip that is not a document, random bytes named as documents.
    with open(os.path.join(out, "broken-truncated.pdf"), "wb") as f:
        f.write(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Kids [")
    manifest["broken-truncated.pdf"] = [""]
    rng = random.Random(7)
    for name in ["broken-random.docx", "broken-random.xlsx", "broken-random.doc", "broken-random.pptx"]:
        with open(os.path.join(out, name), "wb") as f:
            f.write(bytes(rng.getrandbits(8) for _ in range(4096)))
        manifest[name] = [""]
    # A zip bomb: a .docx whose document part unpacks to bomb_mb MiB of spaces.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("word/document.xml", "w", force_zip64=True) as part:
            part.write(b"<w:document><w:body><w:p><w:r><w:t>")
            chunk = b" " * (1024 * 1024)
            for _ in range(bomb_mb):
                part.write(chunk)
            part.write(b"</w:t></w:r></w:p></w:body></w:document>")
    with open(os.path.join(out, "hostile-bomb.docx"), "wb") as f:
        f.write(buf.getvalue())
    manifest["hostile-bomb.docx"] = [""]
    # Deep nesting.
    with open(os.path.join(out, "hostile-deep.xml"), "w") as f:
        f.write("<a>" * 200000 + "deepest words" + "</a>" * 200000)
    manifest["hostile-deep.xml"] = ["deepest words"]
    # Replacement characters and whitespace for the pipeline rules.
    with open(os.path.join(out, "rules-fffd.txt"), "wb") as f:
        f.write("before\ufffdafter   spaced\n\n\tout".encode("utf-8"))
    manifest["rules-fffd.txt"] = ["beforeafter"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--copies", type=int, default=1)
    ap.add_argument("--bomb-mb", type=int, default=64)
    ap.add_argument("--no-hostile", action="store_true")
    ap.add_argument(
        "--binary-only", action="store_true", help="only the office, spreadsheet and PDF files"
    )
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    manifest = {}
    for copy in range(args.copies):
        rng = random.Random(copy)
        tag = f"c{copy:04d}"
        if not args.binary_only:
            write_text_family(args.out, rng, tag, manifest)
            write_markup(args.out, rng, tag, manifest)
        write_office(args.out, rng, tag, manifest)
    if not args.no_hostile:
        write_hostile(args.out, args.bomb_mb, manifest)
    print(json.dumps(manifest, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
