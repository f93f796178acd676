"""Run Python code in a child process that obeys file permissions, even as root.

CI runs as root, and root's CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH let it read a
chmod-000 file, so a "permission denied" test would prove nothing there. The child drops
those two capabilities (capset(2), through ctypes) before it runs the code; from then on
the kernel checks the file's mode bits against it like any other user. As a normal user
nothing is dropped: the mode bits already apply.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

_DROP_OVERRIDES = """
import ctypes, os
if os.geteuid() == 0:
    class _Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]
    class _Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]
    _libc = ctypes.CDLL(None, use_errno=True)
    _header, _data = _Header(0x20080522, 0), (_Data * 2)()  # _LINUX_CAPABILITY_VERSION_3
    if _libc.capget(ctypes.byref(_header), _data) != 0:
        raise OSError(ctypes.get_errno(), "capget")
    _mask = ~((1 << 1) | (1 << 2)) & 0xFFFFFFFF  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
    for _field in ("effective", "permitted", "inheritable"):
        setattr(_data[0], _field, getattr(_data[0], _field) & _mask)
    if _libc.capset(ctypes.byref(_header), _data) != 0:
        raise OSError(ctypes.get_errno(), "capset")
"""


def run_obeying_permissions(code: str) -> str:
    """Run ``code`` in a child that cannot bypass file permissions; return its stdout."""
    result = subprocess.run([sys.executable, "-c", _DROP_OVERRIDES + textwrap.dedent(code)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout
