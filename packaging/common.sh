# Shared by build_linux.sh and ci.sh (sourced, not run). Bash, Linux and macOS.
#
#   kura_pkg_venv      the packaging venv (PyInstaller + Kura's runtime dependencies only),
#                      created once per set of inputs and reused
#   kura_native_wheels portable builds of hnswlib and llama-cpp-python, built once per
#                      version + flags into $KURA_PKG_CACHE/wheels/<key>/ and reused
#
# pip's own wheel cache does not key on environment variables (CMAKE_ARGS,
# HNSWLIB_NO_NATIVE): a native wheel built earlier would be reused silently. These
# wheels are therefore always built with --no-cache-dir and installed with --no-index.

set -euo pipefail

KURA_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KURA_PKG_CACHE="${KURA_BUILD_CACHE:-$HOME/.cache/kura-build}/package"
PYTHON="${PYTHON:-python3}"

# The native extensions, pinned: the portable builds are cached by exactly these.
LLAMA_CPP_VERSION="${LLAMA_CPP_VERSION:-0.3.36}"
HNSWLIB_VERSION="${HNSWLIB_VERSION:-0.8.0}"

log() { printf '\n==> %s\n' "$*" >&2; }
die() { printf '\nERROR: %s\n' "$*" >&2; exit 1; }

_hash() {  # stdin -> 12 hex digits
    if command -v sha256sum >/dev/null; then sha256sum | cut -c1-12; else shasum -a 256 | cut -c1-12; fi
}

_platform_tag() {
    "$PYTHON" -c 'import sys, sysconfig; print(f"cp{sys.version_info[0]}{sys.version_info[1]}-" + sysconfig.get_platform().replace("-", "_").replace(".", "_"))'
}

# CMake flags for llama.cpp, per platform. Never -march=native: the package runs on
# other machines than this one.
#  Linux/Windows x86-64: every CPU backend variant (SSE4.2 ... AVX-512, AMX) as its own
#    library, the best one chosen at run time (GGML_BACKEND_DL + GGML_CPU_ALL_VARIANTS);
#    KURA_LLAMA_GPU=cuda|vulkan adds that backend (needs its SDK on the build machine).
#  macOS arm64: Metal (the shader library embedded), Apple Silicon baseline CPU code.
llama_cmake_args() {
    local args="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF"
    case "$(uname -s)" in
        Darwin)
            args="$args -DGGML_METAL=ON -DGGML_METAL_EMBED_LIBRARY=ON -DCMAKE_OSX_ARCHITECTURES=arm64 -DCMAKE_OSX_DEPLOYMENT_TARGET=12.0"
            ;;
        *)
            args="$args -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON -DCMAKE_PROJECT_INCLUDE=$KURA_REPO/packaging/cmake/install_cpu_variants.cmake"
            case "${KURA_LLAMA_GPU:-}" in
                cuda) args="$args -DGGML_CUDA=ON" ;;
                vulkan) args="$args -DGGML_VULKAN=ON" ;;
                "") ;;
                *) die "KURA_LLAMA_GPU must be cuda, vulkan or empty" ;;
            esac
            ;;
    esac
    echo "$args"
}

_compiler_id() { (cc --version 2>/dev/null || echo none) | head -1; }

# Prints the folder holding the portable wheels, building them if needed.
kura_native_wheels() {
    local cmake_args key dir tmp
    cmake_args="$(llama_cmake_args)"
    # Keyed without the checkout's path (CI clones into a new folder every run).
    key="$( { echo "llama-cpp-python==$LLAMA_CPP_VERSION ${cmake_args//$KURA_REPO/REPO}";
              cat "$KURA_REPO/packaging/cmake/install_cpu_variants.cmake";
              echo "hnswlib==$HNSWLIB_VERSION HNSWLIB_NO_NATIVE=1";
              _platform_tag; _compiler_id; } | _hash)"
    dir="$KURA_PKG_CACHE/wheels/llama-$LLAMA_CPP_VERSION-hnswlib-$HNSWLIB_VERSION-$key"
    if [ -f "$dir/.complete" ]; then
        log "portable wheels: reusing $dir"
        echo "$dir"
        return
    fi
    log "portable wheels: building into $dir (llama.cpp takes a while: ~15 min on 2 cores)"
    tmp="$dir.partial"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    local builder="$KURA_PKG_CACHE/wheel-builder"
    [ -x "$builder/bin/pip" ] || "$PYTHON" -m venv "$builder"
    "$builder/bin/python" -m pip install --quiet --upgrade pip wheel >&2
    HNSWLIB_NO_NATIVE=1 "$builder/bin/pip" wheel --no-deps --no-cache-dir \
        --no-binary hnswlib "hnswlib==$HNSWLIB_VERSION" -w "$tmp" >&2
    CMAKE_ARGS="$cmake_args" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(getconf _NPROCESSORS_ONLN)}" \
        "$builder/bin/pip" wheel --no-deps --no-cache-dir --no-binary llama-cpp-python \
        "llama-cpp-python==$LLAMA_CPP_VERSION" -w "$tmp" >&2
    echo "llama-cpp-python==$LLAMA_CPP_VERSION CMAKE_ARGS=$cmake_args" > "$tmp/FLAGS"
    echo "hnswlib==$HNSWLIB_VERSION HNSWLIB_NO_NATIVE=1" >> "$tmp/FLAGS"
    touch "$tmp/.complete"
    rm -rf "$dir"
    mv "$tmp" "$dir"
    echo "$dir"
}

# Prints the packaging venv's folder, creating it if its inputs changed: the portable
# wheels, Kura's runtime dependencies (pyproject.toml) and the build tools
# (packaging/requirements.txt). Never torch or the test tools.
kura_pkg_venv() {
    local wheels="$1" key venv reqs
    key="$( { basename "$wheels"; cat "$KURA_REPO/pyproject.toml" "$KURA_REPO/packaging/requirements.txt"; _platform_tag; } | _hash)"
    venv="$KURA_PKG_CACHE/venv-$key"
    if [ -f "$venv/.complete" ]; then
        log "packaging venv: reusing $venv"
        echo "$venv"
        return
    fi
    log "packaging venv: creating $venv"
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
    # The portable native wheels first, from the cache only; Kura's requirements then find
    # them satisfied and pip leaves them alone.
    "$venv/bin/pip" install --quiet --no-index --find-links "$wheels" \
        "llama-cpp-python==$LLAMA_CPP_VERSION" "hnswlib==$HNSWLIB_VERSION" \
        --no-deps >&2
    reqs="$venv/kura-runtime-requirements.txt"
    "$venv/bin/python" - "$KURA_REPO/pyproject.toml" > "$reqs" <<'PY'
import sys, tomllib
print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]))
PY
    "$venv/bin/pip" install --quiet -r "$reqs" -r "$KURA_REPO/packaging/requirements.txt" >&2
    # What must never be bundled must not even be installed.
    if "$venv/bin/pip" show torch transformers sentence-transformers pytest >/dev/null 2>&1; then
        die "the packaging venv pulled in torch/transformers/pytest: check the dependencies"
    fi
    # The native builds must be the portable ones from the cache, not an index's.
    "$venv/bin/python" - "$wheels" <<'PY' >&2
import hashlib, importlib.metadata as md, sys, zipfile
from pathlib import Path
wheels = Path(sys.argv[1])
for dist in ("llama_cpp_python", "hnswlib"):
    d = md.distribution(dist)
    (wheel,) = wheels.glob(f"{dist}-{d.version}-*.whl")
    with zipfile.ZipFile(wheel) as z:
        record = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/RECORD")))
    installed = d.read_text("RECORD") or ""
    libs = [l.split(",")[:2] for l in installed.splitlines() if ".so" in l.split(",")[0]]
    assert libs and all(line[1] and f"{line[0]},{line[1]}".encode() in record for line in libs), \
        f"{dist} in the venv is not the cached portable build {wheel.name}"
    print(f"  {dist} {d.version}: the portable build ({wheel.name})")
PY
    sed 's/^/  /' "$wheels/FLAGS" >&2
    touch "$venv/.complete"
    # Older packaging venvs are dead weight (~1 GB each).
    find "$KURA_PKG_CACHE" -maxdepth 1 -name 'venv-*' ! -name "venv-$key" -exec rm -rf {} + 2>/dev/null || true
    echo "$venv"
}

# Installs Kura itself (this checkout, not editable, no dependencies: they are all in
# the venv already) so that the bundle carries its metadata (the About box reads it).
kura_install_self() {
    local venv="$1"
    "$venv/bin/pip" install --quiet --no-deps --no-build-isolation --force-reinstall \
        "$KURA_REPO" >&2
    rm -rf "$KURA_REPO/build/lib" "$KURA_REPO"/build/bdist.*
}

# Runs PyInstaller on packaging/kura.spec into $KURA_REPO/dist/Kura (one folder).
kura_pyinstaller() {
    local venv="$1"
    log "PyInstaller"
    (cd "$KURA_REPO" && "$venv/bin/pyinstaller" --noconfirm --clean --log-level WARN \
        --workpath "$KURA_REPO/build/pyinstaller" --distpath "$KURA_REPO/dist" \
        packaging/kura.spec) >&2
}
