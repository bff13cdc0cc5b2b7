"""Replay one recorded scenario on the simulator and compare with the kernel's answer.

`observe(scenario, version)` lays out the scenario's window in a fresh
`sim.AddressSpace` exactly as module-src/user/uaccess_record.c does in the
guest, makes the same call on `sim.Kernel`, and returns the same fields the
recorder wrote: return value, value read, kernel buffer, for GUP each page's
refcount change, pin state, zero-page-ness and contents, then which pages are
resident and a CRC of each page of the window. `compare()` lists every field
where the simulator and the kernel disagree.
"""

from __future__ import annotations

import zlib

import scenarios as S

import sim
from sim.constants import PAGE_SIZE

ABI_TO_SIM_FLAGS = {S.FOLL_WRITE: sim.FOLL_WRITE, S.FOLL_LONGTERM: sim.FOLL_LONGTERM}
_FILLED_CACHE: dict[tuple[int, int], bytes] = {}
_ZERO_CRC = zlib.crc32(bytes(PAGE_SIZE))


def _filled(seed: int, page: int) -> bytes:
    key = (seed, page)
    if key not in _FILLED_CACHE:
        if len(_FILLED_CACHE) > 4096:
            _FILLED_CACHE.clear()
        _FILLED_CACHE[key] = S.fill_page(seed, page)
    return _FILLED_CACHE[key]


def build(sc: dict, la57: bool = False) -> sim.AddressSpace:
    """The scenario's window, laid out as the recorder does."""
    mm = sim.AddressSpace(la57=la57)
    base, layout = sc["base"], sc["layout"]
    prot = {"n": sim.PROT_NONE, "r": sim.PROT_READ, "R": sim.PROT_READ, "o": sim.PROT_WRITE}
    for p, c in enumerate(layout):
        addr = base + p * PAGE_SIZE
        if c == "-" or addr >= mm.task_size_max:
            continue
        mm.mmap(PAGE_SIZE, sim.PROT_READ | sim.PROT_WRITE, addr=addr)
        if c in S.FILLED:
            mm.poke(addr, _filled(sc["seed"], p))
        elif c == "z":
            mm.peek(addr, 1)
    for a in sc["nuls"]:
        p = (a - base) // PAGE_SIZE
        if 0 <= p < len(layout) and layout[p] in S.FILLED:
            mm.poke(a, b"\0")
    for p, c in enumerate(layout):
        if c in prot:
            mm.mprotect(base + p * PAGE_SIZE, PAGE_SIZE, prot[c])
    return mm


def _bytes_field(b: bytes | bytearray):
    if len(b) <= 512:
        return bytes(b).hex()
    return {"len": len(b), "crc": zlib.crc32(b)}


def observe(sc: dict, version: str, la57: bool = False) -> dict:
    """What the simulator answers for scenario `sc`, in the recorder's fields."""
    mm = build(sc, la57)
    k = sim.Kernel(mm, version=version)
    api, uaddr, size = sc["api"], sc["uaddr"], sc["size"]
    out: dict = {}
    kbuf = bytearray(S.kbuf_image(api, sc["seed"], sc["kbuf_len"]))
    if api == "access_ok":
        out["ret"] = int(k.access_ok(uaddr, size))
    elif api == "access_ok_const8":
        out["ret"] = int(k.access_ok(uaddr, 8, constant_size=True))
    elif api == "get_user":
        err, value = k.get_user(uaddr, size)
        out["ret"], out["value"] = err, value
    elif api == "put_user":
        out["ret"] = k.put_user(sc["value"], uaddr, size)
    elif api == "copy_from_user":
        out["ret"] = k.copy_from_user(kbuf, uaddr, size)
    elif api == "copy_to_user":
        out["ret"] = k.copy_to_user(uaddr, kbuf, size)
    elif api == "clear_user":
        out["ret"] = k.clear_user(uaddr, size)
    elif api == "strnlen_user":
        out["ret"] = k.strnlen_user(uaddr, S.signed(size))
    elif api == "strncpy_from_user":
        out["ret"] = k.strncpy_from_user(kbuf, uaddr, S.signed(size))
    elif api in ("gup_unlocked", "pin_fast"):
        flags = 0
        for abi, f in ABI_TO_SIM_FLAGS.items():
            if sc["gup_flags"] & abi:
                flags |= f
        pages: list = []
        if api == "gup_unlocked":
            ret = k.get_user_pages_unlocked(uaddr, size, pages, flags)
        else:
            ret = k.pin_user_pages_fast(uaddr, size, flags, pages)
        out["ret"] = ret
        infos = []
        poke = bytes.fromhex(sc["poke"])
        for i in range(max(ret, 0)):
            page = pages[i]
            if i == 0 and poke:
                view = k.kmap_local_page(page)
                off = uaddr % PAGE_SIZE
                n = min(len(poke), PAGE_SIZE - off)
                view[off : off + n] = poke[:n]
            held = page.refcount
            pinned = int(page.maybe_dma_pinned)
            crc = zlib.crc32(page.data) if sc["kbuf_len"] >= (i + 1) * PAGE_SIZE else 0
            infos.append({"delta": held, "pinned": pinned, "zero": int(page.is_zero_page), "crc": crc})
        for i in range(max(ret, 0)):
            page = pages[i]
            if api == "gup_unlocked":
                if poke and i == 0:
                    k.set_page_dirty(page)
                k.put_page(page)
            else:
                k.unpin_user_pages_dirty_lock([page], 1, bool(poke) and i == 0)
            infos[i]["delta"] -= page.refcount
        out["pages"] = infos
    out["ret"] = S.signed(out["ret"])  # the probe reports every return value as a C long
    if api in ("copy_from_user", "copy_to_user", "strncpy_from_user") and sc["kbuf_len"]:
        out["kbuf"] = _bytes_field(kbuf)
    base, layout = sc["base"], sc["layout"]
    res = []
    crcs = []
    for p, c in enumerate(layout):
        addr = base + p * PAGE_SIZE
        if c == "-" or addr >= mm.task_size_max:
            res.append("-")
        else:
            res.append("1" if mm.page_at(addr) is not None else "0")
        if c in "-n" or addr >= mm.task_size_max:
            crcs.append(None)
        else:
            page = mm.page_at(addr)
            crcs.append(_ZERO_CRC if page is None else zlib.crc32(page.data))
    out["resident"] = "".join(res)
    out["user"] = crcs
    return out


def truth_view(truth: dict) -> dict:
    """The kernel's answer in the form observe() returns (refcounts as deltas)."""
    t = dict(truth)
    if "pages" in t:
        t["pages"] = [
            {"delta": p["held"] - p["after"], "pinned": p["pinned"], "zero": p["zero"], "crc": p["crc"]}
            for p in t["pages"]
        ]
    return t


def compare(sc: dict, truth: dict, version: str, la57: bool = False) -> list[str]:
    """Every disagreement between sim and the recorded kernel, as readable lines ([] if none)."""
    if "skip" in truth:
        return []
    if "ioctl_errno" in truth:
        return [f"the probe refused the request (errno {truth['ioctl_errno']}): the generator made a bad scenario"]
    got = observe(sc, version, la57)
    want = truth_view(truth)
    diffs = []
    for key in sorted(set(want) | set(got)):
        if want.get(key) != got.get(key):
            diffs.append(f"{key}: kernel {want.get(key)!r}, sim {got.get(key)!r}")
    return diffs
