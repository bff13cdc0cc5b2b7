"""module-src/uaccess_demo.h is usable from Python: a ctypes mirror has the C layout exactly.

The labs and the differential tools talk to /dev/uaccess_demo from user space;
this compiles a C program against the header and compares every field's
offset and every struct's size with the ctypes definitions below, and the
ioctl numbers with the _IOWR() arithmetic.
"""

import ctypes
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


class Page(ctypes.Structure):
    _fields_ = [("refcount_held", ctypes.c_uint64), ("refcount_after", ctypes.c_uint64),
                ("pinned", ctypes.c_uint32), ("zero_page", ctypes.c_uint32)]


class Req(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in ("uaddr", "size", "value")] + [("ret", ctypes.c_int64)] + [
        (n, ctypes.c_uint64) for n in ("kbuf", "kbuf_len", "pages", "poke", "poke_len")
    ] + [("gup_flags", ctypes.c_uint32), ("reserved", ctypes.c_uint32)]


class Info(ctypes.Structure):
    _fields_ = [("task_size_max", ctypes.c_uint64), ("user_ptr_max", ctypes.c_uint64),
                ("page_size", ctypes.c_uint64)] + [
        (n, ctypes.c_uint32) for n in ("cpu_rep_good", "cpu_erms", "cpu_fsrm", "cpu_fsrs", "pin_bias", "reserved")
    ] + [("release", ctypes.c_char * 64)]


def _iowr(nr: int, size: int, read_only: bool = False) -> int:
    direction = 2 if read_only else 3  # _IOC_READ, _IOC_READ | _IOC_WRITE
    return (direction << 30) | (size << 16) | (ord("U") << 8) | nr


def test_ctypes_mirror_matches_the_c_header(tmp_path):
    """Offsets, sizes and ioctl numbers computed by the C compiler equal the Python mirror's."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    checks = []
    for struct, cname in ((Page, "uaccess_demo_page"), (Req, "uaccess_demo_req"), (Info, "uaccess_demo_info")):
        checks.append(f'printf("{cname} size %zu\\n", sizeof(struct {cname}));')
        for field, _ in struct._fields_:
            checks.append(f'printf("{cname}.{field} %zu\\n", offsetof(struct {cname}, {field}));')
    for cmd in ("INFO", "ACCESS_OK", "COPY_FROM_USER", "PIN_FAST"):
        checks.append(f'printf("UACCESS_DEMO_{cmd} %lu\\n", (unsigned long)UACCESS_DEMO_{cmd});')
    src = tmp_path / "abi.c"
    src.write_text('#include <stdio.h>\n#include <stddef.h>\n#include "uaccess_demo.h"\nint main(void)\n{\n'
                   + "\n".join(checks) + "\nreturn 0;\n}\n")
    exe = tmp_path / "abi"
    subprocess.run(["gcc", "-Wall", "-Werror", f"-I{REPO / 'module-src'}", "-o", str(exe), str(src)], check=True,
                   timeout=60)
    got = dict(line.rsplit(" ", 1) for line in subprocess.run([str(exe)], capture_output=True, text=True,
                                                               check=True).stdout.splitlines())
    for struct, cname in ((Page, "uaccess_demo_page"), (Req, "uaccess_demo_req"), (Info, "uaccess_demo_info")):
        assert int(got[f"{cname} size"]) == ctypes.sizeof(struct), cname
        for field, _ in struct._fields_:
            assert int(got[f"{cname}.{field}"]) == getattr(struct, field).offset, f"{cname}.{field}"
    assert int(got["UACCESS_DEMO_INFO"]) == _iowr(0, ctypes.sizeof(Info), read_only=True)
    assert int(got["UACCESS_DEMO_ACCESS_OK"]) == _iowr(1, ctypes.sizeof(Req))
    assert int(got["UACCESS_DEMO_COPY_FROM_USER"]) == _iowr(4, ctypes.sizeof(Req))
    assert int(got["UACCESS_DEMO_PIN_FAST"]) == _iowr(10, ctypes.sizeof(Req))
