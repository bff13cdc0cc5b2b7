"""What the lab notebooks use: ask one question three ways and show the answers side by side.

    from uaccess_lab.labkit import Question, simulate, ask_kernel, compare

    q = Question("copy_from_user", layout="w-", uaddr=BASE + 4096 - 10, size=64)
    compare(prediction, simulate(q), ask_kernel(q))

A `Question` is one uaccess call in a small window of pages laid out from
`base`, one layout character a page (`LAYOUT_CODES`). `simulate()` lays the
window out in `sim` and makes the call on `sim.Kernel`; `ask_kernel()` lays
the same window out in a real process in the guest and makes the same call in
the real kernel, through `module-src/uaccess_demo.ko` (one uaccess call per
ioctl) and `module-src/user/uaccess_record` (the scenario format is at the top
of uaccess_record.c). Both return an `Answer` with the same fields, so the
notebook can put the student's prediction, the simulator and the kernel in
one table with `compare()`; a simulator/kernel disagreement is shown in red,
as the simulator bug it is.

One guest per notebook process: `shared_guest()` is uaccess_lab.vm.shared's,
which the `%%guest`/`%%module` magics and `uaccess_lab.grading.notebook.check()`
use too.
"""

from __future__ import annotations

import dataclasses
import html
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import sim
from sim.constants import PAGE_SIZE

__all__ = [
    "Answer",
    "LAYOUT_CODES",
    "LOW_BASE",
    "Question",
    "ask_both",
    "ask_kernel",
    "compare",
    "check_module",
    "guest_info",
    "in_guest",
    "run_module",
    "three_way",
    "shared_guest",
    "simulate",
]

REPO = Path(__file__).resolve().parents[1]
MODULE_SRC = REPO / "module-src"

#: where windows go by default: 4 GiB, free in a small process on x86_64
LOW_BASE = 0x100000000

#: layout character -> what the page is (module-src/user/uaccess_record.c does the same)
LAYOUT_CODES = {
    "-": "hole (nothing mapped)",
    "n": "PROT_NONE",
    "r": "read-only, filled",
    "R": "read-only, never touched",
    "w": "read-write, filled",
    "W": "read-write, never touched",
    "z": "read-write, read once (maps the zero page)",
    "o": "PROT_WRITE only, filled",
}
FILLED = "rwo"
_APIS = ("access_ok", "get_user", "put_user", "copy_from_user", "copy_to_user", "clear_user",
         "strnlen_user", "strncpy_from_user", "gup_unlocked", "pin_fast")
#: GUP flags as uaccess_demo.h carries them (6.1's FOLL_* values)
_ABI_FOLL = {0x01: sim.FOLL_WRITE, 0x10000: sim.FOLL_LONGTERM}
ABI_FOLL_WRITE, ABI_FOLL_LONGTERM = 0x01, 0x10000


def fill_byte(seed: int, page: int, off: int) -> int:
    """The byte a filled page holds (uaccess_record.c: fill_byte); never 0."""
    return (seed * 7 + page * 7919 + off * 31) % 255 + 1


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


@dataclass
class Question:
    """One uaccess call in a window of pages; see the module docstring.

    :param api: access_ok, get_user, put_user, copy_from_user, copy_to_user,
        clear_user, strnlen_user, strncpy_from_user, gup_unlocked, pin_fast
    :param uaddr: the user address passed to the call
    :param size: the size (access_ok, get/put_user), n, count, or nr_pages
    :param layout: one character a page from `base` (LAYOUT_CODES)
    :param value: what put_user stores
    :param gup_flags: ABI_FOLL_WRITE | ABI_FOLL_LONGTERM for the GUP calls
    :param kbuf_len: the kernel buffer's length (default: size, for the copies)
    :param nuls: addresses in filled pages set to 0 (where strings end)
    """

    api: str
    uaddr: int
    size: int = 0
    layout: str = "w"
    base: int = LOW_BASE
    value: int = 0
    gup_flags: int = 0
    kbuf_len: int | None = None
    seed: int = 1
    nuls: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.api not in _APIS:
            raise ValueError(f"api {self.api!r} is not one of {', '.join(_APIS)}")
        bad = set(self.layout) - set(LAYOUT_CODES)
        if bad or not 1 <= len(self.layout) <= 16:
            raise ValueError(f"layout {self.layout!r}: 1 to 16 characters from {''.join(LAYOUT_CODES)}")
        if self.base % PAGE_SIZE:
            raise ValueError(f"base {self.base:#x} is not page aligned")
        if self.kbuf_len is None:
            copies = ("copy_from_user", "copy_to_user", "strncpy_from_user")
            self.kbuf_len = min(max(_signed(self.size), 0), 128 * 1024) if self.api in copies else 0
        for addr in self.nuls:
            if not self._filled(addr):
                raise ValueError(f"NUL at {addr:#x} is not in a filled page (r, w, o) of the window")

    def line(self, qid: int) -> str:
        """The question as one scenario line of uaccess_record."""
        nuls = sorted(set(self.nuls))
        return (f"{qid} {self.api} {self.base:#x} {self.layout} {self.uaddr:#x} {self.size & (2**64 - 1):#x} "
                f"{self.value:#x} {self.gup_flags:#x} {self.kbuf_len:#x} {self.seed:#x} "
                f"{','.join(hex(a) for a in nuls) or '-'} -")

    def user_bytes(self, addr: int, n: int) -> bytes:
        """What the filled pages of the window hold at addr..addr+n before the call."""
        out = bytearray()
        for a in range(addr, addr + n):
            p, off = divmod(a - self.base, PAGE_SIZE)
            out.append(0 if a in self.nuls else fill_byte(self.seed, p, off))
        return bytes(out)

    def window(self, la57: bool = False) -> sim.AddressSpace:
        """The window laid out in a fresh sim.AddressSpace, as uaccess_record lays it out."""
        mm = sim.AddressSpace(la57=la57)
        prot = {"n": sim.PROT_NONE, "r": sim.PROT_READ, "R": sim.PROT_READ, "o": sim.PROT_WRITE}
        for p, c in enumerate(self.layout):
            addr = self.base + p * PAGE_SIZE
            if c == "-" or addr >= mm.task_size_max:
                continue
            mm.mmap(PAGE_SIZE, sim.PROT_READ | sim.PROT_WRITE, addr=addr)
            if c in FILLED:
                mm.poke(addr, bytes(fill_byte(self.seed, p, off) for off in range(PAGE_SIZE)))
            elif c == "z":
                mm.peek(addr, 1)
        for a in self.nuls:
            if self._filled(a):
                mm.poke(a, b"\0")
        for p, c in enumerate(self.layout):
            if c in prot:
                mm.mprotect(self.base + p * PAGE_SIZE, PAGE_SIZE, prot[c])
        return mm

    def _filled(self, addr: int) -> bool:
        p = (addr - self.base) // PAGE_SIZE
        return 0 <= p < len(self.layout) and self.layout[p] in FILLED


@dataclass
class Answer:
    """What one call returned, and what became of the window.

    ret: the call's return value as a C long (access_ok: 1 or 0).
    value: get_user's value (None for the other calls).
    kbuf: the kernel buffer after the call (bytes up to 512, else a CRC-32).
    resident: one character a page: 1 a page is there, 0 none yet, - a hole.
    user: CRC-32 of each page of the window after the call (None: unreadable).
    pages: GUP, one dict per page: refs (references the call took), pinned, zero (the zero page).
    where: "sim 6.1", "kernel 6.1.0-56-amd64", ...
    """

    ret: int
    value: int | None = None
    kbuf: bytes | int | None = None
    resident: str = ""
    user: list = field(default_factory=list)
    pages: list = field(default_factory=list)
    where: str = ""

    @property
    def page0_refs(self) -> int | None:
        """GUP: how much the call raised page 0's refcount (None: no page returned)."""
        return self.pages[0]["refs"] if self.pages else None

    @property
    def page0_zero(self) -> int | None:
        """GUP: 1 if page 0 is the shared zero page (None: no page returned)."""
        return self.pages[0]["zero"] if self.pages else None

    def differences(self, other: Answer) -> list[str]:
        """Every field in which the two answers differ, as readable lines."""
        out = []
        for name in ("ret", "value", "kbuf", "resident", "user", "pages"):
            a, b = getattr(self, name), getattr(other, name)
            if a != b:
                out.append(f"{name}: {self.where} {_short(a)}, {other.where} {_short(b)}")
        return out


def _short(v) -> str:
    if isinstance(v, bytes):
        return v.hex() if len(v) <= 24 else f"{v[:24].hex()}... ({len(v)} bytes)"
    return repr(v)


def _kbuf_field(b: bytes):
    return bytes(b) if len(b) <= 512 else zlib.crc32(b)


# ---------------------------------------------------------------- the simulator


def simulate(q: Question, version: str = "6.1", la57: bool = False) -> Answer:
    """Ask the simulator: lay out q's window in sim and make the call on sim.Kernel."""
    mm = q.window(la57)
    k = sim.Kernel(mm, version=version)
    api, uaddr, size = q.api, q.uaddr, q.size
    kbuf = bytearray(_kbuf_image(api, q.seed, q.kbuf_len))
    ans = Answer(ret=0, where=f"sim {version}")
    if api == "access_ok":
        ans.ret = int(k.access_ok(uaddr, size))
    elif api == "get_user":
        ans.ret, ans.value = k.get_user(uaddr, size)
    elif api == "put_user":
        ans.ret = k.put_user(q.value, uaddr, size)
    elif api == "copy_from_user":
        ans.ret = k.copy_from_user(kbuf, uaddr, size)
    elif api == "copy_to_user":
        ans.ret = k.copy_to_user(uaddr, kbuf, size)
    elif api == "clear_user":
        ans.ret = k.clear_user(uaddr, size)
    elif api == "strnlen_user":
        ans.ret = k.strnlen_user(uaddr, _signed(size))
    elif api == "strncpy_from_user":
        ans.ret = k.strncpy_from_user(kbuf, uaddr, _signed(size))
    else:
        flags = sum(f for abi, f in _ABI_FOLL.items() if q.gup_flags & abi)
        pages: list = []
        if api == "gup_unlocked":
            ans.ret = k.get_user_pages_unlocked(uaddr, size, pages, flags)
        else:
            ans.ret = k.pin_user_pages_fast(uaddr, size, flags, pages)
        for page in pages[: max(ans.ret, 0)]:
            ans.pages.append({"refs": page.refcount, "pinned": int(page.maybe_dma_pinned),
                              "zero": int(page.is_zero_page)})
        for i, page in enumerate(pages[: max(ans.ret, 0)]):
            if api == "gup_unlocked":
                k.put_page(page)
            else:
                k.unpin_user_page(page)
            ans.pages[i]["refs"] -= page.refcount
    ans.ret = _signed(ans.ret)
    if api in ("copy_from_user", "copy_to_user", "strncpy_from_user") and q.kbuf_len:
        ans.kbuf = _kbuf_field(kbuf)
    ans.resident, ans.user = _window_state(q, mm)
    ans.call = k.last  # the Access record, for sim.plot
    ans.mm = mm
    return ans


def _kbuf_image(api: str, seed: int, length: int) -> bytes:
    if api == "copy_to_user":
        return bytes((i * 13 + seed) & 0xFF for i in range(length))
    return b"\xa5" * length


def _window_state(q: Question, mm: sim.AddressSpace) -> tuple[str, list]:
    res, crcs = [], []
    for p, c in enumerate(q.layout):
        addr = q.base + p * PAGE_SIZE
        outside = c == "-" or addr >= mm.task_size_max
        res.append("-" if outside else ("1" if mm.page_at(addr) is not None else "0"))
        if outside or c == "n":
            crcs.append(None)
        else:
            page = mm.page_at(addr)
            crcs.append(zlib.crc32(bytes(PAGE_SIZE)) if page is None else zlib.crc32(page.data))
    return "".join(res), crcs


# ---------------------------------------------------------------- the real kernel

_loaded: dict[int, object] = {}  # id(guest) -> the guest's boot count when uaccess_demo was loaded
_info: dict[str, dict] = {}


def shared_guest(kernel: str | None = None):
    """The notebook's one guest for `kernel` (default: the notebook's kernel, set with %kernel).

    The same guest serves the %%guest/%%module magics and the driver tests
    (uaccess_lab.vm.shared): a session never holds two (a Binder session has 2 GiB).
    """
    from uaccess_lab.vm.shared import shared_guest as shared

    guest = shared(kernel)
    if guest.progress is None:
        guest.progress = _progress()
    return guest


def _progress():
    try:
        from uaccess_lab.magics import _BootProgress

        return _BootProgress()
    except ImportError:
        return None


def _ensure_demo(guest) -> str:
    """Build uaccess_demo.ko for the guest's kernel and load it (once per boot); the recorder's path."""
    from uaccess_lab.grading.driver import user_programs
    from uaccess_lab.vm.build import build_module

    build = build_module([MODULE_SRC / "uaccess_demo.c", MODULE_SRC / "uaccess_demo.h", MODULE_SRC / "compat.h"],
                         guest.kernel, name="uaccess_demo")
    if not build.ok:
        raise RuntimeError(f"module-src/uaccess_demo.c does not build for {guest.kernel.series}:\n"
                           + build.log[-3000:] + "\nThis is a bug in the course kit: report it.")
    recorder = user_programs() / "uaccess_record"
    if "uaccess_demo" not in guest.modules or _loaded.get(id(guest)) != guest.boots:
        guest.start()
        guest.run(["rmmod", "uaccess_demo"], timeout=10)  # a stale copy from before a %%module cell
        result = guest.load(build.ko)
        if result.exit_code != 0 or result.crash:
            raise RuntimeError(f"insmod uaccess_demo.ko failed in the guest:\n{result}")
        _loaded[id(guest)] = guest.boots
    return str(recorder)


def ask_kernel(*questions: Question, kernel: str | None = None, timeout: float = 60) -> Answer | list[Answer]:
    """Ask the real kernel: make each question's call in the guest; one Answer per question.

    All questions go to one run of uaccess_record (one guest command). Returns
    one Answer for one question, else a list.

    :raises RuntimeError: the guest could not answer (the message says why).
    """
    if not questions:
        raise ValueError("ask_kernel() needs at least one Question")
    guest = shared_guest(kernel)
    recorder = _ensure_demo(guest)
    guest.start()
    script = guest.workdir / "labkit-questions.txt"
    script.write_text("".join(q.line(i) + "\n" for i, q in enumerate(questions)))
    result = guest.run(["/bin/sh", "-c", f"{recorder} < {script}"], timeout=timeout)
    if result.crash or result.exit_code != 0:
        raise RuntimeError(f"uaccess_record failed in the guest (exit {result.exit_code}):\n"
                           f"{result.stderr}{result.crash.text if result.crash else ''}")
    info, answers = {}, {}
    for line in result.stdout.splitlines():
        obj = json.loads(line)
        if "info" in obj:
            info = obj["info"]
        else:
            answers[obj.pop("id")] = obj
    _info[guest.kernel.series] = info
    out = []
    for i, q in enumerate(questions):
        raw = answers.get(i)
        if raw is None or "skip" in raw or "ioctl_errno" in raw:
            raise RuntimeError(f"the kernel did not answer question {i} ({q.api}): {raw}")
        ans = Answer(ret=raw["ret"], value=raw.get("value"), resident=raw["resident"], user=raw["user"],
                     where=f"kernel {info.get('release', guest.kernel.release)}")
        if "kbuf" in raw:
            ans.kbuf = bytes.fromhex(raw["kbuf"]) if isinstance(raw["kbuf"], str) else raw["kbuf"]["crc"]
        ans.pages = [{"refs": p["held"] - p["after"], "pinned": p["pinned"], "zero": p["zero"]}
                     for p in raw.get("pages", [])]
        out.append(ans)
    return out[0] if len(out) == 1 else out


def ask_both(*questions: Question, kernel: str | None = None) -> list[tuple[Answer, Answer]]:
    """Ask the real kernel, then the simulator set up like it (same version, same paging).

    The course's guest runs on QEMU's emulated CPU, which has 5-level paging,
    so its top of user space is TASK_SIZE_MAX_LA57; the simulator is given the
    same (AddressSpace(la57=True)). Returns one (simulated, kernel) pair per question.
    """
    kernel_answers = ask_kernel(*questions, kernel=kernel)
    if isinstance(kernel_answers, Answer):
        kernel_answers = [kernel_answers]
    series = shared_guest(kernel).kernel.series
    la57 = _info[series]["task_size_max"] == sim.TASK_SIZE_MAX_LA57
    return [(simulate(q, series, la57), k) for q, k in zip(questions, kernel_answers)]


def guest_info(kernel: str | None = None) -> dict:
    """What the guest's kernel is (release, TASK_SIZE_MAX, ...), from uaccess_demo's INFO ioctl."""
    from uaccess_lab.kernels import resolve

    series = resolve(kernel).series
    if series not in _info:
        ask_kernel(Question("access_ok", uaddr=LOW_BASE, size=1), kernel=kernel)
    return _info[series]


# ---------------------------------------------------------------- the table

_FIELDS = {"ret": "return value", "value": "value read", "kbuf": "kernel buffer",
           "resident": "pages present", "user": "CRC-32 of each page", "pages": "GUP pages",
           "page0_refs": "page 0: refcount +", "page0_zero": "page 0 is the zero page"}


class Comparison:
    """The table compare() shows; `agree` is False when sim and the kernel differ."""

    def __init__(self, rows: list[tuple[str, str, str, str, str]], disagreements: list[str], title: str):
        self.rows, self.disagreements, self.title = rows, disagreements, title

    @property
    def agree(self) -> bool:
        return not self.disagreements

    def _repr_html_(self) -> str:
        cell = "text-align:left;padding:2px 10px;border:1px solid #ccc;vertical-align:top"
        head = "".join(f"<th style='{cell}'>{h}</th>"
                       for h in ("", "your prediction", "simulator", "real kernel", ""))
        body = []
        for label, pred, simv, kern, verdict in self.rows:
            bad = verdict.startswith("SIM")
            color = "background:#ffd6d6;color:#900;font-weight:bold" if bad else (
                "color:#1a7f37" if verdict == "you were right" else "color:#b35900" if verdict else "")
            cells = [f"<td style='{cell}'><b>{html.escape(label)}</b></td>"]
            cells += [f"<td style='{cell}'><code>{html.escape(x)}</code></td>" for x in (pred, simv, kern)]
            cells.append(f"<td style='{cell};{color}'>{html.escape(verdict)}</td>")
            body.append(f"<tr{' style=background:#ffd6d6' if bad else ''}>{''.join(cells)}</tr>")
        out = f"<p style='margin:4px 0'><code><b>{html.escape(self.title)}</b></code></p>" if self.title else ""
        out += f"<table style='border-collapse:collapse;margin:0'><tr>{head}</tr>{''.join(body)}</table>"
        if self.disagreements:
            out += ("<div style='border:3px solid #d00;background:#ffe0e0;color:#900;padding:6px;margin-top:4px;"
                    "font-weight:bold'>THE SIMULATOR AND THE REAL KERNEL DISAGREE: this is a bug in "
                    "the simulator (sim/), not in your prediction. Please report it with this table.<br>"
                    + "<br>".join(html.escape(d) for d in self.disagreements) + "</div>")
        return out

    def __str__(self) -> str:
        width = [max(len(r[i]) for r in self.rows + [("", "prediction", "simulator", "real kernel", "")])
                 for i in range(5)]
        lines = [self.title] if self.title else []
        for r in [("", "prediction", "simulator", "real kernel", "")] + self.rows:
            lines.append("  ".join(c.ljust(w) for c, w in zip(r, width)).rstrip())
        if self.disagreements:
            lines.append("!!! THE SIMULATOR AND THE REAL KERNEL DISAGREE: this is a bug in the simulator !!!")
            lines += ["!!! " + d for d in self.disagreements]
        return "\n".join(lines)

    __repr__ = __str__


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, bytes):
        if len(v) <= 16:
            return v.hex(" ")
        return f"{v[:8].hex(' ')} ... {v[-8:].hex(' ')}  ({len(v)} bytes, {v.count(0)} of them 0)"
    if isinstance(v, list) and v and isinstance(v[0], dict):
        return "; ".join(", ".join(f"{k} {x}" for k, x in page.items()) for page in v)
    if isinstance(v, list):
        return " ".join("-" if x is None else str(x) for x in v)
    return str(v)


def _hex(v) -> str:
    return f"{v:#x}" if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 9 else _fmt(v)


def compare(prediction, simulated: Answer, kernel: Answer, *, fields: tuple[str, ...] = ("ret",),
            title: str = "") -> Comparison:
    """Your prediction, the simulator's answer and the real kernel's, side by side.

    :param prediction: your value for the first of `fields` (or a dict field -> value; None: no prediction)
    :param fields: which Answer fields to show (ret, value, kbuf, resident, user, pages,
        page0_refs, page0_zero)
    :returns: a Comparison, shown as an HTML table; every field in which the
        simulator and the kernel differ (all fields are checked, not only the
        ones shown) is listed in red as a simulator bug.
    """
    if not isinstance(prediction, dict):
        prediction = {fields[0]: prediction}
    rows = []
    for name in fields:
        s, k = getattr(simulated, name), getattr(kernel, name)
        p = prediction.get(name)
        if s != k:
            verdict = "SIM BUG: differs from the kernel"
        elif name not in prediction or p is None:
            verdict = ""
        elif p == k:
            verdict = "you were right"
        else:
            verdict = "your prediction differs"
        fmt = _hex if name == "value" else _fmt
        rows.append((_FIELDS.get(name, name), "-" if p is None else fmt(p), fmt(s), fmt(k), verdict))
    return Comparison(rows, simulated.differences(kernel), title)


def three_way(prediction, question: Question, *, fields: tuple[str, ...] = ("ret",), title: str = "",
              kernel: str | None = None, plot: bool = False) -> Comparison:
    """Ask the simulator and the real kernel `question`; show them beside `prediction`.

    While nbgrader autogrades, the kernel is not asked (grading stays fast)
    and only the simulator's answer is shown. With plot=True a picture of
    the simulated call (sim.plot) follows the table.
    """
    from IPython.display import display

    from uaccess_lab.grading.notebook import grading_now

    if grading_now():
        simulated = simulate(question)
        kernel_answer = dataclasses.replace(simulated, where="kernel (not asked while grading)")
    else:
        simulated, kernel_answer = ask_both(question, kernel=kernel)[0]
    table = compare(prediction, simulated, kernel_answer, fields=fields, title=title or _title(question))
    display(table)
    if plot:
        import matplotlib.pyplot as plt

        from sim.plot import plot_mm

        fig = plot_mm(simulated.mm, simulated.call)
        display(fig)
        plt.close(fig)
    return table


def _title(q: Question) -> str:
    args = {"access_ok": f"access_ok({q.uaddr:#x}, {q.size:#x})",
            "get_user": f"get_user(x, (u{8 * q.size} __user *){q.uaddr:#x})",
            "put_user": f"put_user({q.value:#x}, (u{8 * q.size} __user *){q.uaddr:#x})",
            "copy_from_user": f"copy_from_user(kbuf, {q.uaddr:#x}, {q.size})",
            "copy_to_user": f"copy_to_user({q.uaddr:#x}, kbuf, {q.size})",
            "clear_user": f"clear_user({q.uaddr:#x}, {q.size})",
            "strnlen_user": f"strnlen_user({q.uaddr:#x}, {_signed(q.size)})",
            "strncpy_from_user": f"strncpy_from_user(kbuf, {q.uaddr:#x}, {_signed(q.size)})",
            "gup_unlocked": f"get_user_pages_unlocked({q.uaddr:#x}, {q.size}, pages, {_flags(q.gup_flags)})",
            "pin_fast": f"pin_user_pages_fast({q.uaddr:#x}, {q.size}, {_flags(q.gup_flags)}, pages)"}[q.api]
    return f"{args}   window at {q.base:#x}: {q.layout}"


def _flags(f: int) -> str:
    names = [n for bit, n in ((ABI_FOLL_WRITE, "FOLL_WRITE"), (ABI_FOLL_LONGTERM, "FOLL_LONGTERM")) if f & bit]
    return " | ".join(names) or "0"


def in_guest(script: str, timeout: float = 60) -> None:
    """Run a shell script in the shared guest, shown like a %%guest cell; skipped while grading."""
    from IPython import get_ipython

    from uaccess_lab.grading.notebook import grading_now

    if grading_now():
        print("(skipped while grading)")
        return
    shared_guest()
    get_ipython().run_cell_magic("guest", f"--timeout {timeout}", script)


def _run_module(source: str, module: str, script: str, source_name: str, timeout: float):
    """Build `source` as `module`.ko, load it in the shared guest, run `script`, unload; the Result."""
    import contextlib
    import sys

    from uaccess_lab.grading.driver import DriverUnderTest

    with contextlib.redirect_stderr(sys.stdout):
        driver = DriverUnderTest(source, module=module, guest=shared_guest(), source_name=source_name)
        driver.require_build()
        driver.load()
        try:
            return driver.run(script, timeout=timeout)
        finally:
            if driver.guest.alive and not driver.guest.dirty:
                driver.guest.unload(module)


def run_module(source: str, module: str, script: str, *, timeout: float = 60) -> None:
    """Demonstrations: build and load C `source` as `module`, run `script` in the guest, print
    what it printed (and any kernel crash), unload. Skipped while grading."""
    from uaccess_lab.grading.driver import describe
    from uaccess_lab.grading.notebook import grading_now

    if grading_now():
        print("(skipped while grading)")
        return
    result = _run_module(source, module, script, f"{module}.c", timeout)
    print(result.stdout + result.stderr, end="")
    if result.crash or result.timed_out:
        print(describe(result, "running the demonstration"))


def check_module(source_file: str, module: str, script: str, *, expect: str, timeout: float = 60) -> str:
    """Build `source_file` as `module`.ko, load it in the shared guest, run `script`, unload.

    Passes when the script exits 0 and its output contains `expect`;
    otherwise raises AssertionError with the script's output, or the build
    errors, or the kernel's crash report. Used by the labs' C test cells.
    """
    from uaccess_lab.grading.driver import describe

    path = Path(source_file)
    if not path.is_file():
        raise AssertionError(f"{path} does not exist: run the exercise cell (%%writefile {path.name}) first")
    result = _run_module(path.read_text(), module, script, path.name, timeout)
    if result.crash or result.timed_out:
        raise AssertionError(describe(result, "running the test"))
    if result.exit_code != 0 or expect not in result.stdout:
        raise AssertionError(f"expected {expect!r} in the output; the test printed (exit {result.exit_code}):\n"
                             f"{result.stdout}{result.stderr}")
    return result.stdout
