"""Scenarios for the differential test: one uaccess call in one small address space.

A scenario is a window of pages laid out from `base` (one layout character a
page, see `LAYOUT_CODES`), one call with its arguments, and the seed of the
bytes the filled pages hold. `module-src/user/uaccess_record.c` lays it out in
a real process and asks the real kernel; `replay.py` lays out the same window
in `sim` and asks the simulator. The generator is random but biased to the
edges where implementations differ: page boundaries, holes, protection
changes, the top of user space, zero and huge lengths, NULs near the limit.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field

# What each layout character means is shared with the labs' helpers (and uaccess_record.c).
from uaccess_lab.labkit import FILLED, LAYOUT_CODES  # noqa: F401 (re-exported)

PAGE = 4096
TASK_SIZE_MAX = (1 << 47) - PAGE
TASK_SIZE_MAX_LA57 = (1 << 56) - PAGE  # 5-level paging (QEMU's TCG CPU has LA57)
U64 = (1 << 64) - 1

#: the flags of the probe's ABI (module-src/uaccess_demo.h), 6.1's FOLL_* values
FOLL_WRITE = 0x01
FOLL_LONGTERM = 0x10000

APIS = (
    "access_ok",
    "access_ok_const8",
    "get_user",
    "put_user",
    "copy_from_user",
    "copy_to_user",
    "clear_user",
    "strnlen_user",
    "strncpy_from_user",
    "gup_unlocked",
    "pin_fast",
)

#: how many scenarios of each API a full corpus has (sums to 2,720)
MIX = {
    "access_ok": 260,
    "access_ok_const8": 120,
    "get_user": 300,
    "put_user": 260,
    "copy_from_user": 300,
    "copy_to_user": 260,
    "clear_user": 240,
    "strnlen_user": 300,
    "strncpy_from_user": 300,
    "gup_unlocked": 190,
    "pin_fast": 190,
}

LOW_BASE = 0x100000000  # 4 GiB: free in a small process on x86_64


def fill_byte(seed: int, page: int, off: int) -> int:
    """The byte a filled page holds at `off`; never 0 (uaccess_record.c: fill_byte)."""
    return (seed * 7 + page * 7919 + off * 31) % 255 + 1


_OFFSET_PART = bytes((off * 31) % 255 for off in range(PAGE))


def fill_page(seed: int, page: int) -> bytes:
    """All 4096 bytes of filled page number `page` of a window (fill_byte for each offset, fast)."""
    c = (seed * 7 + page * 7919) % 255
    table = bytes(((x + c) % 255) + 1 for x in range(255)) + bytes(1)
    return _OFFSET_PART.translate(table)


def kbuf_image(api: str, seed: int, length: int) -> bytes:
    """The kernel buffer before the call: a pattern to copy out, else a marker."""
    if api == "copy_to_user":
        return bytes((i * 13 + seed) & 0xFF for i in range(length))
    return b"\xa5" * length


@dataclass
class Scenario:
    id: int
    api: str
    base: int
    layout: str
    uaddr: int
    size: int  # u64 as the ABI carries it (strnlen/strncpy read it as a signed long)
    value: int = 0
    gup_flags: int = 0
    kbuf_len: int = 0
    seed: int = 0
    nuls: list[int] = field(default_factory=list)
    poke: str = ""  # hex

    def line(self) -> str:
        """The scenario as one input line of uaccess_record."""
        nuls = ",".join(hex(a) for a in self.nuls) or "-"
        return (
            f"{self.id} {self.api} {self.base:#x} {self.layout} {self.uaddr:#x} "
            f"{self.size:#x} {self.value:#x} {self.gup_flags:#x} {self.kbuf_len:#x} "
            f"{self.seed:#x} {nuls} {self.poke or '-'}"
        )

    def to_json(self) -> dict:
        return asdict(self)


def signed(v: int) -> int:
    """A u64 read as C's long."""
    return v - (1 << 64) if v >= 1 << 63 else v


class _Gen:
    def __init__(self, seed: int, top: int = TASK_SIZE_MAX):
        self.r = random.Random(seed)
        self.top = top

    # -- windows -------------------------------------------------------------
    def layout(self, npages: int, top: bool) -> tuple[int, str]:
        r = self.r
        codes = "wwwwrrr--nnWWRRzzo"
        chars = [r.choice(codes) for _ in range(npages)]
        if top:
            # pages at and above TASK_SIZE_MAX can never be mapped: holes
            inside = r.randint(1, npages)
            base = self.top - inside * PAGE
            for i in range(inside, npages):
                chars[i] = "-"
        else:
            base = LOW_BASE - r.randint(0, 3) * PAGE
            # the window ends in something not writable, so that no call can
            # run past it into the recorder's own memory
            chars[-1] = r.choice("-n-r")
        return base, "".join(chars)

    def window(self, lo: int = 2, hi: int = 7) -> tuple[int, str]:
        n = self.r.randint(lo, hi)
        return self.layout(n, top=self.r.random() < 0.25)

    def addr_in(self, base: int, layout: str, width: int = 1) -> int:
        """An address in the window, mostly near a page boundary."""
        r = self.r
        p = r.randrange(len(layout))
        page = base + p * PAGE
        pick = r.random()
        if pick < 0.35:
            off = PAGE - r.randint(1, max(1, width + 8))
        elif pick < 0.6:
            off = r.randint(0, 9)
        elif pick < 0.7:
            off = PAGE // 2 + r.randint(-4, 4)
        else:
            off = r.randrange(PAGE)
        return page + max(0, min(PAGE - 1, off))

    def wild_addr(self) -> int:
        r = self.r
        return r.choice(
            [
                0,
                1,
                PAGE - 1,
                TASK_SIZE_MAX - 1,
                TASK_SIZE_MAX - 8,
                TASK_SIZE_MAX,
                TASK_SIZE_MAX + 1,
                self.top - 1,
                self.top,
                self.top + PAGE,
                (1 << 56) - PAGE - 8,
                (1 << 56) - 1,
                (1 << 47) - 1,
                1 << 47,
                0x0000800000000000 + PAGE,
                0xFFFF800000000000,
                0xFFFF888000000000,
                0xFFFFFFFFFF600000,
                U64 - 7,
                U64,
                1 << 63,
                (1 << 63) - 1,
            ]
        )

    def length(self, uaddr: int, base: int, layout: str, cap: int) -> int:
        """A length biased to the distances that matter from uaddr."""
        r = self.r
        to_page_end = PAGE - (uaddr % PAGE)
        to_window_end = base + len(layout) * PAGE - uaddr
        to_top = self.top - uaddr
        choices = [
            0,
            1,
            2,
            3,
            7,
            8,
            9,
            15,
            16,
            17,
            63,
            64,
            65,
            127,
            PAGE - 1,
            PAGE,
            PAGE + 1,
            to_page_end - 1,
            to_page_end,
            to_page_end + 1,
            to_page_end + r.randint(2, 70),
            to_page_end + PAGE,
            to_window_end,
            to_window_end - r.randint(1, 9),
            to_top,
            to_top + 1,
            r.randint(1, 3 * PAGE),
            r.randint(1, 200),
        ]
        n = r.choice(choices)
        return max(0, min(cap, n))

    # -- the scenarios, one kind at a time -----------------------------------
    def access_ok(self, s: Scenario) -> None:
        r = self.r
        s.base, s.layout = LOW_BASE, "-"
        if r.random() < 0.5:
            s.uaddr = self.wild_addr()
        else:
            top = r.choice([TASK_SIZE_MAX, self.top])
            s.uaddr = top - r.choice([0, 1, 8, PAGE, 2 * PAGE, r.randrange(1 << 20)])
        top = r.choice([TASK_SIZE_MAX, self.top])
        s.size = r.choice(
            [
                0,
                1,
                8,
                PAGE,
                (top - s.uaddr) & U64,
                (top - s.uaddr - 1) & U64,
                (top - s.uaddr + 1) & U64,
                (-s.uaddr) & U64,
                (-s.uaddr - 1) & U64,
                top,
                top + 1,
                1 << 63,
                U64,
                r.randrange(1 << 48),
            ]
        )

    def get_put(self, s: Scenario) -> None:
        r = self.r
        s.size = r.choice([1, 2, 4, 8])
        s.base, s.layout = self.window()
        s.uaddr = self.addr_in(s.base, s.layout, s.size) if r.random() < 0.9 else self.wild_addr()
        s.value = r.getrandbits(64)

    def copy(self, s: Scenario) -> None:
        r = self.r
        s.base, s.layout = self.window()
        s.uaddr = self.addr_in(s.base, s.layout, 64) if r.random() < 0.93 else self.wild_addr()
        s.size = self.length(s.uaddr, s.base, s.layout, cap=3 * PAGE)
        s.kbuf_len = s.size + r.choice([0, 0, 0, 8, 16])

    def clear(self, s: Scenario) -> None:
        r = self.r
        self.copy(s)
        s.kbuf_len = 0
        if r.random() < 0.35:
            # short clears that end in something not writable: 6.1's 8-byte stores show
            stops = [i for i in range(1, len(s.layout)) if s.layout[i] not in "wWzo" and s.layout[i - 1] in "wWzo"]
            if stops:
                edge = s.base + r.choice(stops) * PAGE
                s.uaddr = edge - r.randint(1, 40)
                s.size = r.randint(1, 63)
        if r.random() < 0.1:
            s.size = r.choice([(1 << 32) + 5, 1 << 40, 1 << 63, U64])

    def strings(self, s: Scenario) -> None:
        r = self.r
        s.base, s.layout = self.window()
        s.uaddr = self.addr_in(s.base, s.layout, 16) if r.random() < 0.93 else self.wild_addr()
        # where the NUL (if any) is, relative to uaddr
        nul_at = None
        pick = r.random()
        if pick < 0.55:
            nul_at = r.choice(
                [0, 1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 63, r.randint(0, 300)]
                + [PAGE - (s.uaddr % PAGE) + d for d in (-2, -1, 0, 1, 7)]
            )
        elif pick < 0.75:
            nul_at = r.randint(0, 2 * PAGE)
        if nul_at is not None:
            a = s.uaddr + nul_at
            p = (a - s.base) // PAGE
            if 0 <= p < len(s.layout) and s.layout[p] in FILLED:
                s.nuls.append(a)
            # a second NUL a little further on, sometimes
            b = a + r.randint(1, 12)
            p = (b - s.base) // PAGE
            if r.random() < 0.3 and 0 <= p < len(s.layout) and s.layout[p] in FILLED:
                s.nuls.append(b)
        d = nul_at if nul_at is not None else r.randint(0, 64)
        count = r.choice(
            [0, 1, 2, 7, 8, 9, 16, 17, d - 1, d, d + 1, d + 2, d + 8, d - 8, r.randint(1, 300), 3 * PAGE]
        )
        if s.api == "strnlen_user" and r.random() < 0.15:
            count = r.choice([-1, -PAGE, (1 << 62), (1 << 63) - 1])
        if s.api == "strncpy_from_user":
            count = min(count, 3 * PAGE)
            if r.random() < 0.05:
                count = -r.randint(1, 10)
            s.kbuf_len = max(count, 0) + r.choice([0, 0, 8, 16])
        s.size = count & U64

    def gup(self, s: Scenario) -> None:
        r = self.r
        s.base, s.layout = self.window(2, 8)
        if r.random() < 0.88:
            s.uaddr = s.base + r.randrange(len(s.layout)) * PAGE + r.choice([0, 0, 1, PAGE - 1, r.randrange(PAGE)])
        else:
            s.uaddr = self.wild_addr() if r.random() < 0.7 else U64 - PAGE + 1
        s.size = r.choice([0, 1, 1, 2, 2, 3, 4, 5, 8])
        if s.api == "pin_fast" and r.random() < 0.12:
            # nr_pages == 0 starting on a page the lockless walk can take
            filled = [i for i, c in enumerate(s.layout) if c in "rwo"]
            if filled:
                s.size = 0
                s.uaddr = s.base + r.choice(filled) * PAGE + r.randrange(PAGE)
        s.gup_flags = r.choice([0, 0, FOLL_WRITE, FOLL_WRITE, FOLL_LONGTERM, FOLL_WRITE | FOLL_LONGTERM])
        if s.api == "gup_unlocked" and s.gup_flags & FOLL_LONGTERM and r.random() < 0.7:
            s.gup_flags &= ~FOLL_LONGTERM
        in_window = s.base <= s.uaddr < s.base + len(s.layout) * PAGE
        if in_window and s.gup_flags & FOLL_WRITE and r.random() < 0.4:
            s.poke = bytes(r.randrange(256) for _ in range(r.randint(1, 16))).hex()
        s.kbuf_len = s.size * PAGE


def generate(seed: int = 1, mix: dict[str, int] | None = None, la57: bool = False) -> list[Scenario]:
    """The corpus: `mix` scenarios of each API (default `MIX`), reproducible from `seed`.

    la57: for a guest with 5-level paging (top windows at TASK_SIZE_MAX_LA57).
    """
    g = _Gen(seed, TASK_SIZE_MAX_LA57 if la57 else TASK_SIZE_MAX)
    out: list[Scenario] = []
    mix = MIX if mix is None else mix
    for api, n in mix.items():
        for _ in range(n):
            s = Scenario(id=len(out), api=api, base=0, layout="", uaddr=0, size=0, seed=g.r.randrange(1 << 16))
            if api == "access_ok":
                g.access_ok(s)
            elif api == "access_ok_const8":
                g.access_ok(s)
                s.size = 8
                if g.r.random() < 0.7:
                    s.uaddr = g.r.choice([TASK_SIZE_MAX, g.top]) - g.r.randint(-16, 16)
            elif api in ("get_user", "put_user"):
                g.get_put(s)
            elif api in ("copy_from_user", "copy_to_user"):
                g.copy(s)
            elif api == "clear_user":
                g.clear(s)
            elif api in ("strnlen_user", "strncpy_from_user"):
                g.strings(s)
            else:
                g.gup(s)
            out.append(s)
    return out
