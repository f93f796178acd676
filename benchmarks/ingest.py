"""Ingest throughput, against the embedder alone on the same text in the same run.

    python benchmarks/ingest.py

1. A mixed folder (the eval set's passages written as Markdown, plain text, HTML, DOCX
   and PDF) goes through ``Library.add``: discover, parse, chunk, store, embed, index.
2. The embedder alone then embeds exactly the chunk texts the pipeline stored (same
   prompts, same batching code): the reference. Overhead = pipeline time / reference - 1.
3. Re-adding the unchanged folder, and re-syncing an unchanged folder of 500 files.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from desktop_app.core.embedder import Embedder, document_input  # noqa: E402
from desktop_app.core.library import Library  # noqa: E402
from desktop_app.core.progress import run_quietly  # noqa: E402
from models.build import quantized_dir  # noqa: E402

FORMATS = ("md", "txt", "html", "docx", "pdf")


def write_mixed_folder(folder: Path) -> int:
    from docx import Document
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    data = json.loads((REPO / "benchmarks/data/multilingual_eval.json").read_text())
    passages = [p for p in data["passages"] if p["lang"] in ("en", "zh", "de", "fr", "es")]
    for i, p in enumerate(passages):
        kind = FORMATS[i % len(FORMATS)]
        title, text = p.get("title") or f"Note {i}", p["text"]
        path = folder / f"{i:03}-{kind}.{kind}"
        if kind == "md":
            path.write_text(f"# {title}\n\n{text}\n", encoding="utf-8")
        elif kind == "txt":
            path.write_text(f"{title}\n\n{text}\n", encoding="utf-8")
        elif kind == "html":
            path.write_text(f"<html><head><title>{title}</title></head><body><nav>Home | "
                            f"About</nav><main><h1>{title}</h1><p>{text}</p></main></body>"
                            "</html>", encoding="utf-8")
        elif kind == "docx":
            doc = Document()
            doc.add_heading(title, 1)
            for para in text.split("\n\n"):
                doc.add_paragraph(para)
            doc.save(str(path))
        else:
            pdf = canvas.Canvas(str(path), pagesize=A4)
            pdf.setFont("STSong-Light", 10)
            y = 800
            for line in _wrap(text, 60):
                if y < 60:
                    pdf.showPage()
                    pdf.setFont("STSong-Light", 10)
                    y = 800
                pdf.drawString(40, y, line)
                y -= 14
            pdf.save()
    return len(passages)


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for para in text.splitlines():
        while len(para) > width:
            lines.append(para[:width])
            para = para[width:]
        lines.append(para)
    return lines


def main() -> None:
    embedder = Embedder(quantized_dir(log=lambda _m: None))
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        folder = tmp / "mixed"
        folder.mkdir()
        n_files = write_mixed_folder(folder)
        library = Library(home=tmp / "home", embedder=embedder)

        stage_time: dict[str, float] = {}
        t = last = time.perf_counter()
        for step in library.add([folder]):
            now = time.perf_counter()
            stage_time[step.stage] = stage_time.get(step.stage, 0.0) + now - last
            last = now
        total = time.perf_counter() - t

        with library.db.reading() as conn:
            rows = conn.execute("SELECT DISTINCT embed_key, text, title FROM chunks").fetchall()
        prompted = [document_input(text, title) for _key, text, title in rows]
        tokens = sum(len(e.ids) for e in embedder.tokenizer.encode_batch(prompted))
        t = time.perf_counter()
        for i in range(0, len(prompted), library.settings.embed_batch):
            embedder.embed_prompted(prompted[i : i + library.settings.embed_batch])
        reference = time.perf_counter() - t

        t = time.perf_counter()
        for _ in library.add([folder]):
            pass
        readd = time.perf_counter() - t

        small = tmp / "small"
        small.mkdir()
        for i in range(500):
            (small / f"note-{i:03}.txt").write_text(f"Note {i}: meeting minutes {i}.\n")
        for _ in library.add([small], embed=False):
            pass
        t = time.perf_counter()
        counts = run_quietly(library.sync(collection="small", embed=False))
        resync = time.perf_counter() - t
        library.close()
        shutil.rmtree(tmp / "home", ignore_errors=True)

    print(f"Mixed folder: {n_files} files ({', '.join(FORMATS)}), {len(rows)} distinct chunks, "
          f"{tokens} tokens\n")
    print("| step | seconds | files/s | tokens/s |")
    print("| --- | --- | --- | --- |")
    print(f"| pipeline: read + parse + chunk + store | {stage_time.get('scan', 0):.1f} | "
          f"{n_files / max(stage_time.get('scan', 1e-9), 1e-9):.1f} | |")
    print(f"| pipeline: embed + index | {stage_time.get('embed', 0):.1f} | | "
          f"{tokens / max(stage_time.get('embed', 1e-9), 1e-9):.0f} |")
    print(f"| pipeline total | {total:.1f} | {n_files / total:.1f} | {tokens / total:.0f} |")
    print(f"| embedder alone, same chunks (reference) | {reference:.1f} | | "
          f"{tokens / reference:.0f} |")
    print(f"\nPipeline overhead over the embedder alone: {total / reference - 1:+.1%} "
          f"(goal ≤ +15%)")
    print(f"Re-adding the unchanged mixed folder: {readd:.3f} s")
    print(f"Re-sync of an unchanged folder of 500 files: {resync:.3f} s "
          f"(unchanged {counts.unchanged}; goal < 2 s)")


if __name__ == "__main__":
    main()
