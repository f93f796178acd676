"""The base URL downloads come from: the hub, or a mirror.

Order: an explicit ``--mirror`` URL, then ``HF_ENDPOINT`` (the convention huggingface_hub
and most mirrors document, e.g. ``HF_ENDPOINT=https://hf-mirror.com``), then the
catalog's default. A mirror must serve the hub's ``{repo}/resolve/{revision}/{path}``
layout; checksums are still checked against the catalog (or what was first recorded).
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from desktop_app.core.errors import KuraError

DEFAULT_BASE_URL = "https://huggingface.co"
ENDPOINT_ENV = "HF_ENDPOINT"


def base_url(mirror: str | None = None, default: str = DEFAULT_BASE_URL) -> str:
    chosen = mirror or os.environ.get(ENDPOINT_ENV) or default
    return check_base_url(chosen)


def check_base_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise KuraError(f"the mirror must be an http(s) URL such as https://hf-mirror.com, "
                        f"not {url!r}")
    return url.strip().rstrip("/")


def source_url(base: str, source: str) -> str:
    """``source`` under ``base``; an absolute URL in the catalog is used as it is."""
    if urlsplit(source).scheme in ("http", "https"):
        return source
    return f"{base.rstrip('/')}/{source.lstrip('/')}"
