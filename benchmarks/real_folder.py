"""A real documentation folder through ``kura add``: today's pipeline against a candidate.

    python benchmarks/real_folder.py                       # both sides, then the table
    python benchmarks/real_folder.py --only reference      # the long reference run alone
    python benchmarks/real_folder.py --only candidate      # reuses a saved reference

The folder is ``benchmarks/real_folder_build.py``'s (~35 MB of Debian documentation: HTML,
PDF, DOCX, EPUB, Markdown, reST, TXT; English and Chinese; the same texts in several
formats). Each side is one checkout: the reference a git worktree of ``--ref`` (default
56de2f5), the candidate this working tree. Each side adds its own copy of the folder to a
fresh data dir (``KURA_HOME``) with the CLI in a subprocess, run by this venv's python with
``PYTHONPATH=<checkout>`` (checked: ``desktop_app`` must import from there). Meanwhile a
monitor reads the library's SQLite file read-only every ~2 s (documents by status, chunks
stored, vectors stored, chunks with a vector) and samples the process tree's RSS.

Then, per side:

- recall@10 of the labelled questions (``benchmarks/data/real_folder_questions.json``)
  through ``kura search --json``: a question is answered when one of its top 10 passages
  contains one of its phrases (any copy of a duplicated text counts) and, when it names
  files, comes from one of them (``--check-labels`` shows where each label matches);
- the embedder's tokens/s on the same chunks: a fixed sample of stored chunks read from the
  reference library, embedded by each checkout's ``Embedder`` in its own subprocess, the
  sides interleaved.

Every side's results are saved under ``--results-dir`` (default /work/bench/results) with
its data dir and folder copy, so the hour-long reference run is done once: a later run
reuses a saved side (``--reuse``, by default the reference, when it ran the same commit on
the same folder) and says from when. The ``kura add`` child gets SIGTERM if this script
dies, however it dies. A long reference run in the background:

    nohup python benchmarks/real_folder.py --only reference > /work/bench/ref.log 2>&1 &

``--check-labels`` only checks the labelled questions against the folder's text.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent
DEFAULT_REF = "56de2f5"
DEFAULT_FOLDER = Path("/work/bench/real_folder")
DEFAULT_RESULTS = Path("/work/bench/results")
DEFAULT_WORKTREE = Path("/work/bench/ref")
QUESTIONS = REPO / "benchmarks" / "data" / "real_folder_questions.json"
DB_NAME = "library.sqlite3"
SIDES = ("reference", "candidate")
POLL_SECONDS = 2.0
RSS_SECONDS = 0.5
LOG_EVERY_SECONDS = 60.0
TOKEN_SAMPLE = 300
TOKEN_ROUNDS = 3
TOP_K = 10
PR_SET_PDEATHSIG = 1  # <sys/prctl.h>


@dataclass(frozen=True)
class Side:
    name: str  # "reference" or "candidate"
    checkout: Path
    commit: str
    work: Path  # results_dir / name: the data dir, the folder copy, the results

    @property
    def home(self) -> Path:
        return self.work / "home"

    @property
    def folder(self) -> Path:
        return self.work / "folder"

    @property
    def db(self) -> Path:
        return self.home / DB_NAME

    @property
    def run_file(self) -> Path:
        return self.work / "run.json"

    @property
    def recall_file(self) -> Path:
        return self.work / "recall.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=SIDES, help="run one side (and its recall) only")
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--ref", default=DEFAULT_REF, help="the reference commit")
    parser.add_argument("--worktree", type=Path, default=DEFAULT_WORKTREE,
                        help="where the reference checkout is (made with git worktree add)")
    parser.add_argument("--results-dir", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--reuse", choices=("reference", "candidate", "both", "none"),
                        default="reference",
                        help="sides whose saved run is reused when there is one")
    parser.add_argument("--embedder-dir", type=Path, default=None,
                        help="the embedder both sides use (default: KURA_EMBEDDER_DIR, "
                             "else the build cache's quantized artifact)")
    parser.add_argument("--no-tokens", action="store_true", help="skip the tokens/s step")
    parser.add_argument("--token-sample", type=int, default=TOKEN_SAMPLE)
    parser.add_argument("--check-labels", action="store_true",
                        help="only check that every question's phrases are in the folder "
                             "(parsed by this checkout), and say in which files")
    args = parser.parse_args(argv)
    if args.check_labels:
        return check_labels(args.folder, args.questions)

    args.results_dir.mkdir(parents=True, exist_ok=True)
    embedder = args.embedder_dir or find_embedder_dir()
    sides = {
        "reference": Side("reference", ensure_worktree(args.ref, args.worktree),
                          resolve_commit(REPO, args.ref), args.results_dir / "reference"),
        "candidate": Side("candidate", REPO, describe_working_tree(REPO),
                          args.results_dir / "candidate"),
    }
    wanted = [args.only] if args.only else list(SIDES)
    runs: dict[str, dict[str, Any]] = {}
    recalls: dict[str, dict[str, Any]] = {}
    for name in wanted:
        side = sides[name]
        reuse = args.reuse in (name, "both")
        runs[name] = ingest(side, args.folder, embedder, reuse)
        add_pipeline_tokens(side, runs[name], embedder)
        if args.questions.exists():
            recalls[name] = recall(side, args.questions, embedder)
    tokens: dict[str, Any] | None = None
    if not args.only and not args.no_tokens:
        tokens = tokens_per_second(sides, embedder, args.results_dir, args.token_sample)
    print_table(runs, recalls, tokens)
    return 0


# --- Checkouts -----------------------------------------------------------------------------

def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def resolve_commit(repo: Path, ref: str) -> str:
    return git(repo, "rev-parse", f"{ref}^{{commit}}")


def describe_working_tree(repo: Path) -> str:
    head = git(repo, "rev-parse", "HEAD")
    dirty = bool(git(repo, "status", "--porcelain", "--untracked-files=no"))
    return f"{head}{' + uncommitted changes' if dirty else ''}"


def ensure_worktree(ref: str, path: Path) -> Path:
    """A detached worktree of ``ref`` at ``path``, made once and then checked."""
    commit = resolve_commit(REPO, ref)
    if not path.exists():
        git(REPO, "worktree", "add", "--detach", str(path), commit)
    head = git(path, "rev-parse", "HEAD")
    if head != commit:
        sys.exit(f"{path} is at {head[:12]}, not {ref} ({commit[:12]}): remove it with "
                 f"git worktree remove {path}")
    return path


def find_embedder_dir() -> Path:
    override = os.environ.get("KURA_EMBEDDER_DIR")
    if override:
        return Path(override)
    sys.path.insert(0, str(REPO))
    from models.build import quantized_dir

    return quantized_dir(log=lambda _message: None)


def side_env(side: Side, embedder: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("KURA_")}
    env.update(KURA_HOME=str(side.home), KURA_EMBEDDER_DIR=str(embedder),
               PYTHONPATH=str(side.checkout), QT_QPA_PLATFORM="offscreen")
    return env


def check_imports(side: Side, embedder: Path) -> str:
    """Where ``desktop_app`` comes from in this side's subprocesses: it must be the
    checkout, not the venv's editable install of another tree."""
    found = subprocess.run(
        [sys.executable, "-c", "import desktop_app; print(desktop_app.__file__)"],
        cwd=side.checkout, env=side_env(side, embedder), check=True, capture_output=True,
        text=True).stdout.strip()
    if not Path(found).resolve().is_relative_to(side.checkout.resolve()):
        sys.exit(f"{side.name}: desktop_app imports from {found}, not {side.checkout}")
    return found


def kura(*args: str) -> list[str]:
    """A ``kura`` command line for a side's subprocess (its cwd and PYTHONPATH pick the
    checkout): this venv's python, so both sides run on the same libraries."""
    return [sys.executable, "-m", "desktop_app.cli", *args]


# --- The ingest run ----------------------------------------------------------------------

def ingest(side: Side, folder: Path, embedder: Path, reuse: bool) -> dict[str, Any]:
    if reuse and side.run_file.exists():
        saved = json.loads(side.run_file.read_text())
        same = (Path(saved.get("folder", "")).resolve() == folder.resolve()
                and saved.get("commit") == side.commit)
        if saved.get("finished") and not same:
            print(f"{side.name}: not reusing {side.run_file}: it ran {saved.get('commit')} on "
                  f"{saved.get('folder')}, not {side.commit} on {folder}", flush=True)
        elif saved.get("finished"):
            saved["reused"] = True
            print(f"{side.name}: reusing the run saved in {side.run_file} "
                  f"(started {saved['started']}, {saved['commit'][:12]})", flush=True)
            return dict(saved)
    if side.run_file.exists():
        saved = json.loads(side.run_file.read_text())
        if not saved.get("finished") and psutil.pid_exists(saved.get("runner_pid", -1)):
            sys.exit(f"{side.name}: a run is still going on in {side.work} "
                     f"(process {saved['runner_pid']}, started {saved['started']})")
    if side.work.exists():
        shutil.rmtree(side.work)
    side.work.mkdir(parents=True)
    module = check_imports(side, embedder)
    shutil.copytree(folder, side.folder)
    files, size = folder_size(side.folder)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    print(f"{side.name}: {side.commit[:12]} from {module}; adding {files} files, "
          f"{size / 1e6:.1f} MB ({side.folder}); started {started}", flush=True)
    result: dict[str, Any] = {
        "side": side.name, "commit": side.commit, "checkout": str(side.checkout),
        "module": module, "folder": str(folder), "copy": str(side.folder), "files": files,
        "bytes": size, "started": started, "finished": None, "runner_pid": os.getpid(),
    }
    side.run_file.write_text(json.dumps(result, indent=1))
    command = kura("add", str(side.folder), "--json")
    with open(side.work / "add.out", "wb") as out, open(side.work / "add.err", "wb") as err:
        start = time.monotonic()
        process = subprocess.Popen(command, cwd=side.checkout, env=side_env(side, embedder),
                                   stdout=out, stderr=err, preexec_fn=die_with_parent)
        monitor = Monitor(side.db, process.pid, start, side.name)
        monitor.start()
        previous = signal.signal(signal.SIGTERM, stop_on_sigterm)
        try:
            code = process.wait()
        finally:
            signal.signal(signal.SIGTERM, previous)
            monitor.stop()
            if process.poll() is None:  # we were stopped: so is the run
                process.terminate()
                process.wait(30)
        wall = time.monotonic() - start
    final = read_counts(side.db, final=True) or {}
    result.update(
        finished=datetime.now(UTC).isoformat(timespec="seconds"), exit_code=code,
        wall_seconds=round(wall, 1), peak_rss_mb=round(monitor.peak_rss / 2**20, 1),
        final=final, timeline=monitor.timeline, **milestones(monitor.timeline, final, wall))
    side.run_file.write_text(json.dumps(result, indent=1))
    print(f"{side.name}: exit {code} after {wall:.0f} s; {summary_line(final)}", flush=True)
    return result


def die_with_parent() -> None:
    """In the child before exec (Linux): SIGTERM when the benchmark dies, even by SIGKILL,
    so an hour-long ``kura add`` never goes on alone."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def stop_on_sigterm(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def folder_size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def read_counts(db: Path, final: bool = False) -> dict[str, Any] | None:
    """The library's progress, read-only; None while the file is missing or locked."""
    if not db.exists():
        return None
    try:
        conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=0.2)
    except sqlite3.Error:
        return None
    try:
        counts: dict[str, Any] = {
            "documents": dict(conn.execute(
                "SELECT status, count(*) FROM documents GROUP BY status").fetchall()),
            "chunks": conn.execute("SELECT count(*) FROM chunks").fetchone()[0],
            "vectors": conn.execute("SELECT count(*) FROM vectors").fetchone()[0],
            "chunks_embedded": conn.execute(
                "SELECT count(*) FROM chunks WHERE embed_key IN "
                "(SELECT embed_key FROM vectors)").fetchone()[0],
        }
        if final:
            counts["skipped"] = dict(conn.execute(
                "SELECT coalesce(skip_reason, '?'), count(*) FROM documents "
                "WHERE status = 'skipped' GROUP BY 1").fetchall())
            counts["kinds"] = dict(conn.execute(
                "SELECT coalesce(kind, '?'), count(*) FROM documents GROUP BY 1").fetchall())
        return counts
    except sqlite3.Error:  # locked, or the schema not there yet
        return None
    finally:
        conn.close()


class Monitor(threading.Thread):
    """Samples the process tree's RSS every 0.5 s and the library's counts every 2 s."""

    def __init__(self, db: Path, pid: int, start: float, name: str) -> None:
        super().__init__(daemon=True)
        self.db, self.start_time, self.name_ = db, start, name
        self.process = psutil.Process(pid)
        self.peak_rss = 0
        self.timeline: list[dict[str, Any]] = []
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()
        self.join()

    def run(self) -> None:
        next_poll = next_log = 0.0
        while not self._stopping.wait(RSS_SECONDS):
            rss = self._tree_rss()
            self.peak_rss = max(self.peak_rss, rss)
            elapsed = time.monotonic() - self.start_time
            if elapsed < next_poll:
                continue
            next_poll = elapsed + POLL_SECONDS
            counts = read_counts(self.db)
            if counts is None:
                continue
            self.timeline.append({"t": round(elapsed, 1), "rss_mb": round(rss / 2**20, 1),
                                  **counts})
            if elapsed >= next_log:
                next_log = elapsed + LOG_EVERY_SECONDS
                print(f"{self.name_} {elapsed:7.0f} s: {summary_line(counts)}; "
                      f"RSS {rss / 2**20:.0f} MB (peak {self.peak_rss / 2**20:.0f})",
                      flush=True)

    def _tree_rss(self) -> int:
        total = 0
        try:
            processes = [self.process, *self.process.children(recursive=True)]
        except psutil.Error:
            return 0
        for process in processes:
            with contextlib.suppress(psutil.Error):
                total += process.memory_info().rss
        return total


def summary_line(counts: dict[str, Any]) -> str:
    documents = counts.get("documents", {})
    states = ", ".join(f"{n} {status}" for status, n in sorted(documents.items()))
    return (f"documents {states or 'none'}; chunks {counts.get('chunks', 0)}, "
            f"embedded {counts.get('chunks_embedded', 0)}, vectors {counts.get('vectors', 0)}")


def milestones(timeline: list[dict[str, Any]], final: dict[str, Any],
               wall: float) -> dict[str, Any]:
    """When the first document was embedded, and when every document that would be was
    (the first sample with the final number of embedded documents and none waiting)."""
    final_embedded = final.get("documents", {}).get("embedded", 0)
    first = next((s["t"] for s in timeline if s["documents"].get("embedded", 0) > 0), None)
    everything = next((s["t"] for s in timeline
                       if s["documents"].get("embedded", 0) >= final_embedded > 0
                       and not s["documents"].get("parsed", 0)), None)
    embedded_chunks = final.get("chunks_embedded", 0)
    return {
        "first_embedded_seconds": first,
        "all_embedded_seconds": everything if everything is not None else round(wall, 1),
        "chunks_per_second": round(embedded_chunks / wall, 2) if wall else None,
    }


def add_pipeline_tokens(side: Side, run: dict[str, Any], embedder: Path) -> None:
    """The tokens the pipeline embedded (each distinct chunk text once, without its title
    prompt) and so its tokens/s up to the last document embedded; kept in the run file."""
    if "embedded_tokens" in run or not run.get("finished") or not side.db.exists():
        return
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(embedder / "tokenizer.json"))
    conn = sqlite3.connect(f"{side.db.as_uri()}?mode=ro", uri=True, timeout=5)
    try:
        texts = [row[0] for row in conn.execute(
            "SELECT min(c.text) FROM chunks c JOIN vectors v ON v.embed_key = c.embed_key "
            "GROUP BY c.embed_key")]
    finally:
        conn.close()
    tokens = sum(len(e.ids) for e in tokenizer.encode_batch(texts)) if texts else 0
    seconds = run.get("all_embedded_seconds") or run.get("wall_seconds")
    run["embedded_tokens"] = tokens
    run["pipeline_tokens_per_second"] = round(tokens / seconds, 1) if seconds else None
    saved = {key: value for key, value in run.items() if key != "reused"}
    side.run_file.write_text(json.dumps(saved, indent=1))


# --- Recall ------------------------------------------------------------------------------

def normalize(text: str) -> str:
    return re.sub(r"\s+", " ", text).casefold().strip()


def load_questions(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return list(data["questions"])


def recall(side: Side, questions_file: Path, embedder: Path) -> dict[str, Any]:
    """recall@10 of the labelled questions in this side's library, one ``kura search
    --json`` per question; saved, and reused while the library and questions are the same."""
    questions = load_questions(questions_file)
    run = json.loads(side.run_file.read_text())
    key = {"questions_mtime": questions_file.stat().st_mtime, "run_started": run["started"]}
    if side.recall_file.exists():
        saved = json.loads(side.recall_file.read_text())
        if saved.get("key") == key:
            print(f"{side.name}: reusing recall from {side.recall_file}", flush=True)
            return dict(saved)
    prefix = str(side.folder) + os.sep
    per_question = []
    for question in questions:
        started = time.monotonic()
        completed = subprocess.run(
            kura("search", question["question"], "-k", str(TOP_K), "--json"),
            cwd=side.checkout, env=side_env(side, embedder), capture_output=True, text=True)
        seconds = time.monotonic() - started
        if completed.returncode != 0:
            per_question.append({"id": question["id"], "rank": None, "error":
                                 completed.stderr.strip()[-500:]})
            continue
        results = json.loads(completed.stdout)["results"]
        texts = chunk_texts(side.db, results)
        hits = [rank for rank, (result, text) in enumerate(zip(results, texts, strict=True), 1)
                if is_hit(question, result["path"].removeprefix(prefix), text)]
        per_question.append({
            "id": question["id"], "lang": question["lang"], "rank": hits[0] if hits else None,
            "seconds": round(seconds, 2),
            "top": [r["path"].removeprefix(prefix) for r in results[:3]],
        })
    answered = [q for q in per_question if q.get("rank")]
    by_lang: dict[str, list[float]] = {}
    for q in per_question:
        by_lang.setdefault(q.get("lang", "?"), []).append(1.0 if q.get("rank") else 0.0)
    result = {
        "key": key, "side": side.name, "questions": len(questions),
        "recall_at_10": round(len(answered) / len(questions), 3) if questions else None,
        "recall_by_lang": {lang: round(statistics.mean(v), 3) for lang, v in by_lang.items()},
        "mrr": round(statistics.mean(1 / q["rank"] if q.get("rank") else 0.0
                                     for q in per_question), 3) if per_question else None,
        "per_question": per_question,
    }
    side.recall_file.write_text(json.dumps(result, indent=1, ensure_ascii=False))
    print(f"{side.name}: recall@{TOP_K} {result['recall_at_10']} {result['recall_by_lang']}",
          flush=True)
    return result


def chunk_texts(db: Path, results: list[dict[str, Any]]) -> list[str]:
    """Each result's whole passage, found by its document and character span."""
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=5)
    try:
        texts = []
        for r in results:
            row = conn.execute(
                "SELECT c.text FROM chunks c JOIN documents d ON d.id = c.document_id "
                "WHERE d.path = ? AND c.start_char IS ? AND c.end_char IS ?",
                (r["path"], r.get("start_char"), r.get("end_char"))).fetchone()
            texts.append(row[0] if row else r.get("snippet") or "")
        return texts
    finally:
        conn.close()


def is_hit(question: dict[str, Any], relative_path: str, text: str) -> bool:
    """A passage answers when it holds one of the question's phrases (whichever copy of
    a duplicated text it comes from) and, if the question names files (path globs), comes
    from one of them; a question with files only, when it comes from one of them."""
    phrases = question.get("phrases") or []
    files = question.get("files") or []
    if files and not any(Path(relative_path).match(pattern) for pattern in files):
        return False
    passage = normalize(text)
    return not phrases or any(normalize(p) in passage for p in phrases)


def check_labels(folder: Path, questions_file: Path) -> int:
    """Every question's label must match some file of the folder as this checkout's
    parser reads it (a whole file standing for a passage): a label that matches nothing
    would make recall lie."""
    sys.path.insert(0, str(REPO))
    from desktop_app.core.chunking import document_text
    from desktop_app.core.ingest.formats import format_of
    from desktop_app.core.ingest.parse import parse

    texts: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and format_of(path) is not None:
            try:
                texts[path.relative_to(folder).as_posix()] = normalize(document_text(parse(path)))
            except Exception as exc:  # a file Kura skips holds no label
                print(f"(not read: {path.relative_to(folder)}: {exc})")
    failures = 0
    for question in load_questions(questions_file):
        found = sorted(name for name, text in texts.items() if is_hit(question, name, text))
        failures += not found
        print(f"{question['id']:24} {question['lang']:6} {len(found):3} files"
              f"{'  NOT FOUND' if not found else ''}: {', '.join(found[:4])}"
              f"{' ...' if len(found) > 4 else ''}")
    print(f"{len(texts)} files read; {failures} labels not found")
    return 1 if failures else 0


# --- Embedder tokens/s -------------------------------------------------------------------

EMBED_PROBE = """
import json, sys, time
import desktop_app
from desktop_app.core.embedder import Embedder
from desktop_app.core.paths import embedder_dir
sample = json.load(open(sys.argv[1], encoding="utf-8"))
texts, titles = sample["texts"], sample["titles"]
embedder = Embedder(embedder_dir())
embedder.embed_documents(texts[:8], titles[:8])  # warm-up
started = time.perf_counter()
embedder.embed_documents(texts, titles)
print(json.dumps({"seconds": time.perf_counter() - started, "module": desktop_app.__file__}))
"""


def token_sample(reference_db: Path, path: Path, size: int, embedder: Path) -> dict[str, Any]:
    """A fixed sample of the reference library's chunks (seeded, by chunk id), kept in
    ``path`` so later comparisons embed the very same texts."""
    if path.exists():
        return dict(json.loads(path.read_text(encoding="utf-8")))
    conn = sqlite3.connect(f"{reference_db.as_uri()}?mode=ro", uri=True, timeout=5)
    try:
        rows = conn.execute("SELECT id, text, title FROM chunks ORDER BY id").fetchall()
    finally:
        conn.close()
    chosen = sorted(random.Random(13).sample(rows, min(size, len(rows))))
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(embedder / "tokenizer.json"))
    tokens = sum(len(e.ids) for e in tokenizer.encode_batch([row[1] for row in chosen]))
    sample = {"chunk_ids": [row[0] for row in chosen], "texts": [row[1] for row in chosen],
              "titles": [row[2] for row in chosen], "tokens": tokens}
    path.write_text(json.dumps(sample, ensure_ascii=False), encoding="utf-8")
    return sample


def tokens_per_second(sides: dict[str, Side], embedder: Path, results_dir: Path,
                      size: int) -> dict[str, Any]:
    sample_path = results_dir / "token_sample.json"
    sample = token_sample(sides["reference"].db, sample_path, size, embedder)
    seconds: dict[str, list[float]] = {name: [] for name in SIDES}
    for _round in range(TOKEN_ROUNDS):
        for name in SIDES:  # interleaved: a load spike hits both sides alike
            side = sides[name]
            completed = subprocess.run(
                [sys.executable, "-c", EMBED_PROBE, str(sample_path)], cwd=side.checkout,
                env=side_env(side, embedder), check=True, capture_output=True, text=True)
            seconds[name].append(json.loads(completed.stdout.strip().splitlines()[-1])["seconds"])
    result = {
        "chunks": len(sample["texts"]), "tokens": sample["tokens"], "rounds": TOKEN_ROUNDS,
        "seconds": seconds,
        "tokens_per_second": {name: round(sample["tokens"] / statistics.median(values), 1)
                              for name, values in seconds.items()},
    }
    (results_dir / "tokens.json").write_text(json.dumps(result, indent=1))
    return result


# --- The table ---------------------------------------------------------------------------

def print_table(runs: dict[str, dict[str, Any]], recalls: dict[str, dict[str, Any]],
                tokens: dict[str, Any] | None) -> None:
    names = [name for name in SIDES if name in runs]
    for name in names:
        run = runs[name]
        origin = (f"reused, run started {run['started']}" if run.get("reused")
                  else f"run now, started {run['started']}")
        print(f"{name}: {run['commit'][:12]} ({origin}); exit {run.get('exit_code')}")
    rows: list[tuple[str, dict[str, Any]]] = []

    def row(label: str, pick: Any) -> None:
        values = {}
        for name in names:
            with contextlib.suppress(KeyError, TypeError):
                values[name] = pick(name)
        rows.append((label, values))

    row("files in the folder", lambda n: runs[n]["files"])
    row("MB in the folder", lambda n: round(runs[n]["bytes"] / 1e6, 1))
    row("documents embedded", lambda n: runs[n]["final"]["documents"].get("embedded", 0))
    row("documents skipped", lambda n: runs[n]["final"]["documents"].get("skipped", 0))
    row("chunks stored", lambda n: runs[n]["final"]["chunks"])
    row("chunks embedded", lambda n: runs[n]["final"]["chunks_embedded"])
    row("vectors stored", lambda n: runs[n]["final"]["vectors"])
    row("s to the first embedded document", lambda n: runs[n]["first_embedded_seconds"])
    row("s to all documents embedded", lambda n: runs[n]["all_embedded_seconds"])
    row("s for the whole kura add", lambda n: runs[n]["wall_seconds"])
    row("chunks embedded per s", lambda n: runs[n]["chunks_per_second"])
    row("peak RSS MB (process tree)", lambda n: runs[n]["peak_rss_mb"])
    if recalls:
        row(f"recall@{TOP_K} (all)", lambda n: recalls[n]["recall_at_10"])
        languages = sorted({lang for r in recalls.values() for lang in r["recall_by_lang"]})
        for lang in languages:
            row(f"recall@{TOP_K} ({lang})", lambda n, lang=lang: recalls[n]["recall_by_lang"][lang])
        row("MRR", lambda n: recalls[n]["mrr"])
    row("tokens embedded (distinct chunks)", lambda n: runs[n]["embedded_tokens"])
    row("pipeline tokens/s (to all embedded)", lambda n: runs[n]["pipeline_tokens_per_second"])
    if tokens:
        row(f"embedder tokens/s ({tokens['chunks']} chunks)",
            lambda n: tokens["tokens_per_second"][n])
    header = ["measure", *names] + (["candidate / reference"] if len(names) == 2 else [])
    print("\n| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for label, values in rows:
        cells = [label, *(fmt(values.get(name)) for name in names)]
        if len(names) == 2:
            ref, cand = values.get("reference"), values.get("candidate")
            ratio = cand / ref if isinstance(ref, int | float) and ref and \
                isinstance(cand, int | float) else None
            cells.append(f"{ratio:.2f}" if ratio is not None else "–")
        print("| " + " | ".join(cells) + " |")


def fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}" if value < 10 else f"{value:.1f}"
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
