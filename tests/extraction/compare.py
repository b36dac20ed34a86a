"""Extraction against Tika (the `extractous` wheel, a native build of Tika), file by file.

usage: compare.py CORPUS_DIR OURS_JSON [--min-overlap 0.9] [--bench]

OURS_JSON is what `connectors extract --json CORPUS_DIR` printed: {file: {"text": ...} or
{"error": ...}}. For every file Tika reads, the normalised token overlap is
|ours ∩ tika| / |tika| over token multisets (lower-cased words of letters and digits); the
figures are printed per format, and files below --min-overlap are listed. With --bench, Tika's
throughput on the same corpus is printed per format (MB/s, files/s, median of 3 passes).
Exit status 1 when a format Tika supports averages below --min-overlap.
"""

import argparse
import collections
import json
import os
import re
import statistics
import sys
import time

TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


def tokens(text):
    return collections.Counter(t.lower() for t in TOKEN.findall(text or ""))


def overlap(ours, tika):
    t = tokens(tika)
    if not t:
        return None
    o = tokens(ours)
    common = sum((o & t).values())
    return common / sum(t.values())


def tika_texts(corpus, files):
    from extractous import Extractor

    ex = Extractor().set_extract_string_max_length(100_000)
    out = {}
    for name in files:
        try:
            text, _ = ex.extract_file_to_string(os.path.join(corpus, name))
            out[name] = text
        except Exception as e:  # Tika refuses some hostile files: nothing to compare
            out[name] = None
    return out


def family(name):
    return os.path.splitext(name)[1].lower() or "(none)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("ours")
    ap.add_argument("--min-overlap", type=float, default=0.9)
    ap.add_argument("--bench", action="store_true")
    args = ap.parse_args()
    with open(args.ours, encoding="utf-8") as f:
        ours = json.load(f)
    files = sorted(n for n in os.listdir(args.corpus) if not n.startswith(("broken-", "hostile-")))
    tika = tika_texts(args.corpus, files)
    per_format = collections.defaultdict(list)
    low = []
    for name in files:
        if tika.get(name) is None:
            continue
        mine = ours.get(name, {})
        score = overlap(mine.get("text", ""), tika[name])
        if score is None:
            continue
        per_format[family(name)].append(score)
        if score < args.min_overlap:
            low.append((name, round(score, 3), mine.get("error")))
    failed = False
    print(f"{'format':8} {'files':>5} {'mean overlap':>12} {'min':>6}")
    for fmt in sorted(per_format):
        scores = per_format[fmt]
        mean = statistics.mean(scores)
        failed |= mean < args.min_overlap
        print(f"{fmt:8} {len(scores):5d} {mean:12.3f} {min(scores):6.3f}")
    for item in low:
        print("below the bar:", item)
    if args.bench:
        from extractous import Extractor

        ex = Extractor().set_extract_string_max_length(100_000)
        sizes = collections.defaultdict(int)
        counts = collections.Counter()
        for name in files:
            sizes[family(name)] += os.path.getsize(os.path.join(args.corpus, name))
            counts[family(name)] += 1
        timings = collections.defaultdict(list)
        for _ in range(3):
            for fmt in sizes:
                start = time.perf_counter()
                for name in files:
                    if family(name) == fmt:
                        try:
                            ex.extract_file_to_string(os.path.join(args.corpus, name))
                        except Exception:
                            pass
                timings[fmt].append(time.perf_counter() - start)
        total_s = 0.0
        for fmt in sorted(sizes):
            s = statistics.median(timings[fmt])
            total_s += s
            print(
                f"tika {fmt:8} {sizes[fmt] / 1e6 / s:8.2f} MB/s {counts[fmt] / s:9.1f} files/s"
            )
        print(
            f"tika overall {sum(sizes.values()) / 1e6 / total_s:8.2f} MB/s "
            f"{sum(counts.values()) / total_s:9.1f} files/s"
        )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
