"""Writes a large PDF and a large XLSX (about SIZE_MB each) for the extraction memory figures.

usage: bigfiles.py OUT_DIR [--mb 100]
"""

import argparse
import os
import random

from fpdf import FPDF


def big_pdf(path, mb):
    rng = random.Random(1)
    words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima".split()
    pdf = FPDF()
    pdf.set_compression(False)
    pdf.set_font("helvetica", size=6)
    target = mb * 1024 * 1024
    page_text = None
    pages = 0
    while True:
        pdf.add_page()
        if page_text is None:
            page_text = "\n".join(" ".join(rng.choice(words) for _ in range(30)) for _ in range(90))
        pdf.multi_cell(0, 3, page_text, new_x="LMARGIN", new_y="NEXT")
        pages += 1
        # About 33 kB per page of this shape, uncompressed.
        if pages * 33_000 >= target:
            break
    pdf.output(path)


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
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    big_pdf(os.path.join(args.out, "big.pdf"), args.mb)
    big_xlsx(os.path.join(args.out, "big.xlsx"), args.mb)
    for name in ["big.pdf", "big.xlsx"]:
        print(name, os.path.getsize(os.path.join(args.out, name)))


if __name__ == "__main__":
    main()
