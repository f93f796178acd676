"""PyInstaller runtime hook: runs in the packaged app before Kura's own code.

1. llama.cpp's CPU backends. The portable build (GGML_BACKEND_DL + GGML_CPU_ALL_VARIANTS)
   ships one backend library per x86 level and lets ggml pick the best for this CPU. ggml
   looks for them next to the executable and in the current folder, but they lie in
   llama_cpp/lib inside the bundle; so right after ``llama_cpp.llama_cpp`` has loaded the
   libraries (lazily, when Kura first needs the answer model), this loads the backends
   from there. Builds with the backend linked in (macOS) already have one registered, and
   are left alone.
2. HTTPS certificates. The bundled OpenSSL looks where the build machine keeps its CA
   certificates; where this machine keeps none there (another Linux distribution, or
   macOS), certifi's bundle is used, so model downloads still verify the server.
"""

from __future__ import annotations

import ctypes
import importlib.abc
import importlib.machinery
import os
import sys
from pathlib import Path


def libggml(lib_dir: Path) -> ctypes.CDLL | None:
    """The libggml that libllama itself uses. On Linux, by its soname (a bare name:
    the dynamic linker hands back the object already loaded under that soname); the
    wheel also holds an identical copy named libggml.so, and loading that by path would
    map a second ggml with a registry of its own, which libllama never sees."""
    if sys.platform.startswith("linux"):
        for soname in sorted(p.name for p in lib_dir.glob("libggml.so.*")
                             if p.name.count(".") == 2):
            try:
                return ctypes.CDLL(soname)
            except OSError:
                pass
    name = {"win32": "ggml.dll", "darwin": "libggml.dylib"}.get(sys.platform, "libggml.so")
    return ctypes.CDLL(str(lib_dir / name)) if (lib_dir / name).exists() else None


def _load_ggml_backends(lib_dir: Path) -> None:
    lib = libggml(lib_dir)
    if lib is None:
        return
    lib.ggml_backend_reg_count.restype = ctypes.c_size_t
    if lib.ggml_backend_reg_count() == 0:  # a GGML_BACKEND_DL build
        lib.ggml_backend_load_all_from_path.argtypes = [ctypes.c_char_p]
        lib.ggml_backend_load_all_from_path(os.fsencode(lib_dir))


class _AfterLlamaLoads(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Wraps the import of ``llama_cpp.llama_cpp`` to run ``_load_ggml_backends`` after it."""

    target = "llama_cpp.llama_cpp"

    def __init__(self) -> None:
        self._inner: importlib.abc.Loader | None = None
        self._searching = False

    def find_spec(self, fullname, path, target=None):  # type: ignore[no-untyped-def]
        if fullname != self.target or self._searching or self._inner is not None:
            return None
        self._searching = True
        try:  # the finder that would have found it without this hook
            spec = None
            for finder in sys.meta_path:
                if finder is not self and hasattr(finder, "find_spec"):
                    spec = finder.find_spec(fullname, path, target)
                    if spec is not None:
                        break
        finally:
            self._searching = False
        if spec is None or spec.loader is None:
            return spec
        self._inner = spec.loader
        spec.loader = self
        return spec

    def create_module(self, spec):  # type: ignore[no-untyped-def]
        return self._inner.create_module(spec)

    def exec_module(self, module):  # type: ignore[no-untyped-def]
        self._inner.exec_module(module)
        base = getattr(module, "_base_path", None)
        if base is not None:
            _load_ggml_backends(Path(base))


def _certificates() -> None:
    if sys.platform == "win32" or os.environ.get("SSL_CERT_FILE"):
        return  # Windows: Python reads the system's certificate store itself
    import ssl

    paths = ssl.get_default_verify_paths()
    has_file = bool(paths.cafile) and os.path.isfile(paths.cafile)
    has_dir = bool(paths.capath) and os.path.isdir(paths.capath) and any(os.scandir(paths.capath))
    if has_file or has_dir:
        return
    try:
        import certifi
    except ImportError:
        return
    os.environ["SSL_CERT_FILE"] = certifi.where()


sys.meta_path.insert(0, _AfterLlamaLoads())
_certificates()
