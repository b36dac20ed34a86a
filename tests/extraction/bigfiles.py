"""Writes a large PDF and a large XLSX (about SIZE_MB each) for the extraction memory figures.

usage: bigfiles.py OUT_DIR [--mb 100]
"""

import argparse
import os
import random



def big_pdf(path, mb):
    """A text PDF written directly (uncompressed content streams, one base-14 font): fpdf2 needs
    minutes for this size."""
    rng = random.Random(1)
    words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima".split()
    target = mb * 1024 * 1024
    lines = [" ".join(rng.choice(words) for _ in range(30)) for _ in range(97)]
    body = "BT /F1 6 Tf 8 TL 20 820 Td\n" + "".join(f"({l}) Tj T*\n" for l in lines) + "ET\n"
    content = body.encode("latin-1")
    pages = max(1, target // (len(content) + 200))
    out = bytearray(b"%PDF-1.4\n")
    offsets = {}

    def obj(num, data):
        offsets[num] = len(out)
        out.extend(f"{num} 0 obj\n".encode() + data + b"\nendobj\n")

    first_page = 4
    kids = " ".join(f"{first_page + 2 * i} 0 R" for i in range(pages))
    obj(1, b"<< /Type /Catalog /Pages 2 0 R >>")
    obj(2, f"<< /Type /Pages /Count {pages} /Kids [{kids}] >>".encode())
    obj(3, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    for i in range(pages):
        page, stream = first_page + 2 * i, first_page + 2 * i + 1
        obj(page, f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
                  f"/Resources << /Font << /F1 3 0 R >> >> /Contents {stream} 0 R >>".encode())
        obj(stream, f"<< /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream")
    count = first_page + 2 * pages
    xref = len(out)
    out.extend(f"xref\n0 {count}\n0000000000 65535 f \n".encode())
    for n in range(1, count):
        out.extend(f"{offsets[n]:010d} 00000 n \n".encode())
    out.extend(f"trailer\n<< /Size {count} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    with open(path, "wb") as f:
        f.write(out)


def big_xlsx(path, mb):
    import openpyxl

    rng = random.Random(2)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Big")
    target = mb * 1024 * 1024
    row = 0
    while True:
        for _ in range(10_000):
            ws.append([f"text {rng.random():.12f}", rng.randint(0, 10**9), f"label {row % 997}", rng.random()])
            row += 1
        # Roughly 45 compressed bytes per row of this shape.
        if row * 45 >= target:
            break
    wb.save(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--pdf-only", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    big_pdf(os.path.join(args.out, "big.pdf"), args.mb)
    names = ["big.pdf"]
    if not args.pdf_only:
        big_xlsx(os.path.join(args.out, "big.xlsx"), args.mb)
        names.append("big.xlsx")
    for name in names:
        print(name, os.path.getsize(os.path.join(args.out, name)))


if __name__ == "__main__":
    main()
