"""Which reader a file goes to, decided by its name alone (cheap: no I/O while walking)."""

from __future__ import annotations

from pathlib import Path

_BY_EXTENSION: dict[str, str] = {
    "pdf": "pdf",
    "docx": "docx",
    "pptx": "pptx",
    "xlsx": "xlsx",
    "xlsm": "xlsx",  # macro-enabled workbooks store cells exactly like .xlsx
    "epub": "epub",
    "html": "html",
    "htm": "html",
    "xhtml": "html",
    "md": "markdown",
    "markdown": "markdown",
    "mdown": "markdown",
    "mkd": "markdown",
    "rst": "rst",
    "rest": "rst",
    "txt": "text",
    "text": "text",
    "log": "text",
    "org": "text",
    "adoc": "text",
    "csv": "csv",
    "tsv": "csv",
}

# Source code and configuration: read as one verbatim section.
_CODE_EXTENSIONS = (
    "py", "pyi", "pyw", "js", "mjs", "cjs", "jsx", "ts", "mts", "cts", "tsx", "java", "c", "h",
    "cpp", "hpp", "cc", "hh", "cxx", "hxx", "cs", "go", "rs", "rb", "php", "swift", "kt", "kts",
    "scala", "sc", "sh", "bash", "zsh", "fish", "ps1", "psm1", "bat", "cmd", "sql", "r", "lua",
    "pl", "pm", "m", "mm", "yaml", "yml", "toml", "json", "jsonc", "json5", "xml", "ini", "cfg",
    "conf", "properties", "env", "css", "scss", "sass", "less", "vue", "svelte", "dart", "ex",
    "exs", "erl", "hrl", "hs", "clj", "cljs", "edn", "fs", "fsx", "ml", "mli", "jl", "nim", "zig",
    "v", "groovy", "gradle", "tf", "hcl", "proto", "graphql", "gql", "ipynb", "tex", "bib",
    "cmake", "mk", "asm", "s", "f", "f90", "vb", "vbs", "pas",
)
_BY_EXTENSION.update({ext: "code" for ext in _CODE_EXTENSIONS})

# Files known by their whole name rather than an extension.
_BY_NAME: dict[str, str] = {
    "readme": "text",
    "license": "text",
    "licence": "text",
    "changelog": "text",
    "authors": "text",
    "contributors": "text",
    "notice": "text",
    "todo": "text",
    "makefile": "code",
    "dockerfile": "code",
    "containerfile": "code",
    "vagrantfile": "code",
    "gemfile": "code",
    "rakefile": "code",
    "justfile": "code",
}

KINDS = frozenset(_BY_EXTENSION.values())


def kind_of(path: Path | str) -> str | None:
    """The reader kind for ``path`` ("pdf", "markdown", "code", ...), or None if unsupported."""
    name = Path(path).name
    suffix = Path(name).suffix
    if suffix:
        return _BY_EXTENSION.get(suffix[1:].lower())
    return _BY_NAME.get(name.lower())
