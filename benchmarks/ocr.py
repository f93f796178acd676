"""OCR on scans of known text: pages/s and character error rate (CER) of Kura's engine
(``desktop_app/core/ocr``) against rapidocr's own pipeline (``RapidOCR()`` with its
defaults: the same three models) as the reference, measured in the same run.

    python benchmarks/ocr.py                   # 3 pages per cell, ~5 minutes on 2 cores
    python benchmarks/ocr.py --pages 1         # a quick look
    python benchmarks/ocr.py --threads 2       # onnxruntime threads per model (default 1,
                                               # what an ingest worker process gets)
    python benchmarks/ocr.py --no-reference    # Kura's engine only
    python benchmarks/ocr.py --ingest          # instead: a 10-page scan added alone, and a
                                               # folder where a tenth of the PDFs are scans
                                               # (benchmarks/ocr_ingest.py)

Pages: full A4 pages (about 40 lines of 11 pt text) of the English and Chinese texts of
``tests/support/scans.py``, laid out as one long document per language, so every page
holds other lines; at 150 and 300 dpi; in two variants:

- clean: upright, no noise;
- turned+noisy: page i turned by 90, 180 and 270° in turn, skewed by +2/-2°, with light
  scanner noise (blur, grain, dust specks);
- 8 pt+noisy: upright, small print (a footnote's size: 17 pixels to the em at 150 dpi),
  skewed by 1°, the same noise. The synthetic 11 pt pages read almost perfectly; this
  variant is where a change to the pipeline shows first.

Each engine runs in its own process (its load time and peak RSS are its own), and the
pages go to them alternately (A B A B ...), so a busy spell on the machine hits both;
only the ``read`` call (or ``RapidOCR.__call__``) is timed, not the page's rendering.

CER: the edit distance (insertions, deletions, substitutions) between the expected text
and the OCR's text, divided by the expected text's length, after normalising both
(``tests.support.scans.normalise``): Unicode NFKC, so full- and half-width forms compare
equal ("，" = ",", "：" = ":", "Ａ" = "A"), then every whitespace character dropped (line
breaks, and the spaces OCR adds or leaves out between words and around CJK, are layout).
The expected text is in reading order, so lines read out of order count as errors: CER
measures the reading order too. "× reference" is the reference's seconds per page over
Kura's (above 1: Kura is faster).

Prints a markdown table, one row per engine and cell, then each engine's load time, peak
RSS and identity, and the issue's goals against the figures.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script from a checkout

from tests.support.scans import (  # noqa: E402
    CHINESE,
    ENGLISH,
    Scan,
    character_error_rate,
    degrade,
    render_pages,
)

LANGUAGES = {"English": ENGLISH, "Chinese": CHINESE}
DPIS = (150, 300)
VARIANTS = ("clean", "turned+noisy", "8 pt+noisy")
TURNS = (90, 180, 270)
ENGINES = ("kura", "rapidocr")
NAMES = {"kura": "Kura (desktop_app.core.ocr)", "rapidocr": "rapidocr's pipeline (reference)"}
GOAL_CER = 0.03


@dataclass
class Result:
    seconds: float
    cer: float
    confidence: float


def seconds_per_page(rows: list[Result]) -> float:
    return sum(r.seconds for r in rows) / len(rows)


def pages_of(language: str, dpi: int, variant: str, count: int) -> list[Scan]:
    """``count`` pages of the language's document, clean or turned and noisy."""
    paragraphs = LANGUAGES[language] * (6 * count + 2)  # more than ``count`` full pages
    if variant == "8 pt+noisy":
        pages = render_pages(paragraphs, dpi=dpi, font_pt=8)[:count]
        return [degrade(page, skew=1.0, noise=True, seed=i) for i, page in enumerate(pages)]
    pages = render_pages(paragraphs, dpi=dpi)[:count]
    if variant == "clean":
        return pages
    return [degrade(page, rotation=TURNS[i % 3], skew=2.0 if i % 2 == 0 else -2.0,
                    noise=True, seed=i) for i, page in enumerate(pages)]


# -- the engines, each in its own process ------------------------------------------------


def worker(engine: str, threads: int, connection: Connection) -> None:
    """Load ``engine``, then read each page sent until None; answer (seconds, text,
    confidence) per page, and finally (load seconds, peak RSS MB, engine id)."""
    started = time.perf_counter()
    read: Any
    if engine == "kura":
        from desktop_app.core.ocr import OcrEngine

        kura = OcrEngine(threads=threads)
        identity = kura.engine_id

        def read(image: Any) -> tuple[str, float]:
            page = kura.read(image)
            return page.text, page.confidence
    else:
        import numpy as np
        from rapidocr import RapidOCR
        from rapidocr._version import __version__

        reference = RapidOCR(params={
            "Global.log_level": "warning",
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        })
        reference(np.full((64, 64, 3), 255, np.uint8))  # it loads its models lazily
        identity = f"rapidocr {__version__} RapidOCR() defaults"

        def read(image: Any) -> tuple[str, float]:
            result = reference(np.asarray(image.convert("RGB"))[:, :, ::-1])
            texts = list(getattr(result, "txts", None) or ())
            scores = list(getattr(result, "scores", None) or ())
            chars = sum(len(t) for t in texts)
            confidence = sum(len(t) * s for t, s in zip(texts, scores, strict=True)) / chars \
                if chars else 0.0
            return "\n".join(texts), float(confidence)
    loaded = time.perf_counter() - started
    while (image := connection.recv()) is not None:
        start = time.perf_counter()
        text, confidence = read(image)
        connection.send((time.perf_counter() - start, text, confidence))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    connection.send((loaded, peak, identity))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=3, help="pages per cell (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime threads")
    parser.add_argument("--no-reference", action="store_true", help="Kura's engine only")
    parser.add_argument("--ingest", action="store_true",
                        help="instead: what OCR costs a library (benchmarks/ocr_ingest.py)")
    args = parser.parse_args()
    if args.ingest:
        from benchmarks.ocr_ingest import main as ingest

        ingest()
        return
    engines = ENGINES[:1] if args.no_reference else ENGINES

    context = multiprocessing.get_context("spawn")
    connections: dict[str, Connection] = {}
    processes = []
    for engine in engines:
        ours, theirs = context.Pipe()
        process = context.Process(target=worker, args=(engine, args.threads, theirs))
        process.start()
        connections[engine] = ours
        processes.append(process)

    results: dict[tuple[str, str, int, str], list[Result]] = {}
    for language in LANGUAGES:
        for dpi in DPIS:
            for variant in VARIANTS:
                for scan in pages_of(language, dpi, variant, args.pages):
                    for engine in engines:  # alternately: A B A B
                        connections[engine].send(scan.image)
                        seconds, text, confidence = connections[engine].recv()
                        results.setdefault((engine, language, dpi, variant), []).append(
                            Result(seconds, character_error_rate(scan.text, text), confidence))
                print(f"  {language} {dpi} dpi {variant}: done", file=sys.stderr, flush=True)
    finals = {}
    for engine in engines:
        connections[engine].send(None)
        finals[engine] = connections[engine].recv()
    for process in processes:
        process.join()

    print(f"\n{args.pages} page(s) per cell, A4; onnxruntime threads per model: "
          f"{args.threads}; machine: {multiprocessing.cpu_count()} CPUs (timings are only "
          f"as quiet as the machine was)\n")
    print("| engine | language | dpi | variant | s/page | pages/s | × reference | CER | "
          "worst page CER | mean confidence |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for language in LANGUAGES:
        for dpi in DPIS:
            for variant in VARIANTS:
                reference = results.get(("rapidocr", language, dpi, variant))
                for engine in engines:
                    rows = results[(engine, language, dpi, variant)]
                    per_page = seconds_per_page(rows)
                    ratio = "—"
                    if reference is not None:
                        ratio = f"{seconds_per_page(reference) / per_page:.2f}"
                    cer = sum(r.cer for r in rows) / len(rows)
                    print(f"| {NAMES[engine]} | {language} | {dpi} | {variant} | "
                          f"{per_page:.2f} | {1 / per_page:.2f} | {ratio} | {cer:.2%} | "
                          f"{max(r.cer for r in rows):.2%} | "
                          f"{sum(r.confidence for r in rows) / len(rows):.3f} |")

    print("\n| engine | load s | peak RSS MB | identity |")
    print("| --- | --- | --- | --- |")
    for engine in engines:
        loaded, peak, identity = finals[engine]
        print(f"| {NAMES[engine]} | {loaded:.2f} | {peak:.0f} | {identity} |")

    print(f"\nGoal: CER ≤ {GOAL_CER:.0%} on clean 300 dpi pages:")
    for language in LANGUAGES:
        rows = results[("kura", language, 300, "clean")]
        cer = sum(r.cer for r in rows) / len(rows)
        verdict = "met" if cer <= GOAL_CER else "MISSED"
        print(f"  {language}: {cer:.2%} ({verdict})")
    clean_300 = [r.seconds for language in LANGUAGES
                 for r in results[("kura", language, 300, "clean")]]
    print(f"A 10-page 300 dpi scan at this rate: {10 * sum(clean_300) / len(clean_300):.0f} s "
          f"of OCR (the issue: searchable within a minute, added alone)")


if __name__ == "__main__":
    main()
