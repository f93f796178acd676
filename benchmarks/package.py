"""The packaged app: its size per component, its start-up to a visible window against
``python -m desktop_app.gui.app`` in the same run, and (``--llama``) llama.cpp's speed
in the portable build against other builds.

    bash packaging/build_linux.sh && python benchmarks/package.py
    python benchmarks/package.py --repeats 5
    python benchmarks/package.py --llama --llama-python native=/path/to/venv/bin/python

1. Size: every top-level entry of ``dist/Kura/_internal`` (and the tarball), largest
   first.
2. Start-up: each start gets an empty data dir (a first launch: the welcome page) and is
   timed from the process start to its window being mapped on an X display (xdotool; a
   private Xvfb is started when there is no display), the packaged app and the source
   checkout alternating, ``--repeats`` times; medians. The first start of each is a cold
   disk cache and is reported separately.
3. ``--llama``: each interpreter loads the 270M Gemma 3 GGUF (the tests' model, from the
   build cache) and generates greedily from the same prompt; decode tokens/s (after the
   first token) and prompt tokens/s, medians of ``--llama-repeats``. The packaging venv
   holds the portable build (every CPU variant, the best chosen at run time), the dev venv
   whatever pip built there. Also printed: which CPU features each build uses.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DIST = REPO / "dist" / "Kura"
CACHE = Path(os.environ.get("KURA_BUILD_CACHE", Path.home() / ".cache" / "kura-build"))
GGUF = CACHE / "llm" / "gemma-3-270m-q4_k_m.gguf"
MB = 1024 * 1024


# -- 1. size ---------------------------------------------------------------------------


def tree_size(path: Path) -> int:
    if not path.is_dir():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())


def size_report(app: Path, top: int = 20) -> str:
    root = app / "_internal" if (app / "_internal").is_dir() else app
    rows = sorted(((tree_size(p), p.name) for p in root.iterdir()), reverse=True)
    total = tree_size(app)
    lines = ["| component | MB | share |", "| --- | --- | --- |"]
    for nbytes, name in rows[:top]:
        lines.append(f"| {name} | {nbytes / MB:.1f} | {nbytes / total:.0%} |")
    rest = sum(n for n, _ in rows[top:])
    if rest:
        lines.append(f"| {len(rows) - top} more | {rest / MB:.1f} | {rest / total:.0%} |")
    lines.append(f"| **total** | **{total / MB:.1f}** | |")
    for tarball in sorted(app.parent.glob("Kura-*.tar.gz")):
        lines.append(f"| {tarball.name} (compressed) | {tarball.stat().st_size / MB:.1f} | |")
    return "\n".join(lines)


# -- 2. start-up -----------------------------------------------------------------------


class Display:
    """The current X display, or a private Xvfb for the duration."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.name = os.environ.get("DISPLAY", "")

    def __enter__(self) -> Display:
        if self.name:
            return self
        if not shutil.which("Xvfb"):
            raise SystemExit("no DISPLAY and no Xvfb: apt-get install xvfb")
        read, write = os.pipe()
        self.proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0",
                                      "1440x900x24", "-nolisten", "tcp"], pass_fds=[write],
                                     stderr=subprocess.DEVNULL)
        os.close(write)
        with os.fdopen(read) as pipe:
            self.name = ":" + pipe.readline().strip()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


def time_to_window(cmd: list[str], display: str, timeout: float = 60.0) -> float:
    """Seconds from starting ``cmd`` to its window being visible (a fresh data dir)."""
    with tempfile.TemporaryDirectory(prefix="kura-bench-") as home:
        env = dict(os.environ, DISPLAY=display, KURA_HOME=home)
        env.pop("QT_QPA_PLATFORM", None)
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, cwd=home)
        try:
            while time.perf_counter() - start < timeout:
                if proc.poll() is not None:
                    raise RuntimeError(f"{cmd[0]} exited with {proc.returncode}")
                found = subprocess.run(["xdotool", "search", "--onlyvisible", "--pid",
                                        str(proc.pid), "--name", "^Kura"],
                                       capture_output=True, text=True, env=env)
                if found.stdout.strip():
                    return time.perf_counter() - start
                time.sleep(0.02)
            raise TimeoutError(f"no window from {cmd[0]} in {timeout:.0f} s")
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def startup_report(repeats: int) -> str:
    if not shutil.which("xdotool"):
        raise SystemExit("xdotool is needed to see the window: apt-get install xdotool")
    commands = {
        "packaged (dist/Kura/kura)": [str(DIST / "kura")],
        "source (python -m desktop_app.gui.app)": [sys.executable, "-m", "desktop_app.gui.app"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    with Display() as display:
        for _ in range(repeats + 1):  # the first round: cold caches
            for name, cmd in commands.items():
                times[name].append(time_to_window(cmd, display.name))
    lines = ["| start | first (cold) s | median of next s | min s |", "| --- | --- | --- | --- |"]
    for name, values in times.items():
        warm = values[1:]
        lines.append(f"| {name} | {values[0]:.2f} | {statistics.median(warm):.2f} | "
                     f"{min(warm):.2f} |")
    return "\n".join(lines)


# -- 3. llama.cpp builds ---------------------------------------------------------------

LLAMA_SNIPPET = r"""
import ctypes, json, os, sys, time
from pathlib import Path
import llama_cpp
lib_dir = Path(llama_cpp.llama_cpp._base_path)
sonames = sorted(p.name for p in lib_dir.glob("libggml.so.*") if p.name.count(".") == 2)
lib = ctypes.CDLL(sonames[0]) if sonames else ctypes.CDLL(str(lib_dir / "libggml.so"))
lib.ggml_backend_reg_count.restype = ctypes.c_size_t
if lib.ggml_backend_reg_count() == 0:  # a GGML_BACKEND_DL build: what the bundle's hook does
    lib.ggml_backend_load_all_from_path(os.fsencode(lib_dir))
llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=2048, n_threads=int(sys.argv[2]),
                      n_threads_batch=int(sys.argv[2]), verbose=False, seed=0)
prompt = "The history of libraries begins with clay tablets. " * 12
runs = []
for _ in range(int(sys.argv[3])):
    llm.reset()
    llama_cpp.llama_perf_context_reset(llm._ctx.ctx)
    start = time.perf_counter()
    first = None
    for _chunk in llm.create_completion(prompt, max_tokens=int(sys.argv[4]), temperature=0.0,
                                        stream=True):
        if first is None:
            first = time.perf_counter()
    end = time.perf_counter()
    perf = llama_cpp.llama_perf_context(llm._ctx.ctx)
    runs.append({"decode_tps": (perf.n_eval - 1) / (end - first),
                 "prompt_tps": perf.n_p_eval / (first - start),
                 "n_eval": perf.n_eval, "n_p": perf.n_p_eval})
maps = Path("/proc/self/maps")
variant = sorted({line.split()[-1].rsplit("/", 1)[-1] for line in maps.read_text().splitlines()
                  if "libggml-cpu" in line}) if maps.exists() else []
print(json.dumps({"runs": runs, "system": llama_cpp.llama_print_system_info().decode(),
                  "variant": variant, "version": llama_cpp.__version__}))
"""


def packaging_python() -> Path | None:
    venvs = sorted((CACHE / "package").glob("venv-*/bin/python"),
                   key=lambda p: p.stat().st_mtime, reverse=True)
    return venvs[0] if venvs else None


def llama_report(pythons: dict[str, str], repeats: int, tokens: int, threads: int) -> str:
    if not GGUF.exists():
        raise SystemExit(f"no {GGUF}: run benchmarks/answer_speed.py once (it assembles it)")
    results: dict[str, list[dict[str, float]]] = {name: [] for name in pythons}
    info: dict[str, dict[str, object]] = {}
    for _ in range(repeats):  # alternate the builds: the machine's load hits both alike
        for name, python in pythons.items():
            out = subprocess.run([python, "-c", LLAMA_SNIPPET, str(GGUF), str(threads), "1",
                                  str(tokens)], capture_output=True, text=True, check=True,
                                 cwd=tempfile.gettempdir())
            data = json.loads(out.stdout.strip().splitlines()[-1])
            results[name].extend(data["runs"])
            info[name] = data
    lines = ["| build | decode tok/s | prompt tok/s | CPU backend | features |",
             "| --- | --- | --- | --- | --- |"]
    for name, runs in results.items():
        decode = statistics.median(r["decode_tps"] for r in runs)
        prompt = statistics.median(r["prompt_tps"] for r in runs)
        features = " ".join(f.split("=")[0].strip() for f in str(info[name]["system"])
                            .split("|") if f.strip().endswith("= 1") and "AVX" in f)
        variant = ", ".join(info[name]["variant"]) or "linked in"  # type: ignore[arg-type]
        lines.append(f"| {name} | {decode:.1f} | {prompt:.1f} | {variant} | {features} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="warm starts of each")
    parser.add_argument("--no-startup", action="store_true")
    parser.add_argument("--llama", action="store_true", help="compare llama.cpp builds")
    parser.add_argument("--llama-python", action="append", default=[], metavar="LABEL=PYTHON",
                        help="another interpreter with llama-cpp-python (repeatable)")
    parser.add_argument("--llama-repeats", type=int, default=5)
    parser.add_argument("--llama-tokens", type=int, default=96)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()

    if not (DIST / "kura").exists() and not (DIST / "Kura.exe").exists():
        raise SystemExit(f"no packaged app in {DIST}: bash packaging/build_linux.sh")
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs\n")
    print("## Package size (dist/Kura)\n")
    print(size_report(DIST))
    if not args.no_startup:
        print(f"\n## Start-up to a visible window (empty data dir, {args.repeats} warm starts)\n")
        print(startup_report(args.repeats))
    if args.llama:
        pythons = {"dev venv (.venv)": sys.executable}
        portable = packaging_python()
        if portable:
            pythons["portable (packaging venv)"] = str(portable)
        for item in args.llama_python:
            label, _, python = item.rpartition("=")
            pythons[label] = python
        print(f"\n## llama.cpp builds, Gemma 3 270M Q4_K_M, {args.threads} threads, "
              f"{args.llama_tokens} tokens\n")
        print(llama_report(pythons, args.llama_repeats, args.llama_tokens, args.threads))


if __name__ == "__main__":
    main()
