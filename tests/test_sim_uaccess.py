"""sim.Kernel's uaccess functions: return conventions and the mechanism at fault boundaries."""

import pytest

import sim
from sim import EFAULT, PAGE_SIZE, PROT_NONE, PROT_READ, PROT_WRITE, TASK_SIZE_MAX

RW = PROT_READ | PROT_WRITE


@pytest.fixture(params=sim.VERSIONS)
def version(request):
    return request.param


def rw_then(mm, second_prot=None):
    """Two pages: rw, then `second_prot` (None: a hole). Returns the address of the first."""
    a = mm.mmap(2 * PAGE_SIZE, RW)
    if second_prot is None:
        mm.munmap(a + PAGE_SIZE, PAGE_SIZE)
    else:
        mm.mprotect(a + PAGE_SIZE, PAGE_SIZE, second_prot)
    return a


def test_access_ok_is_a_range_check_not_a_mapping_check(version):
    """access_ok accepts unmapped user addresses and rejects ranges past the top or wrapping."""
    k = sim.Kernel(sim.AddressSpace(), version)
    assert k.access_ok(0x1000, 16)  # nothing mapped there, still "ok"
    assert k.access_ok(TASK_SIZE_MAX - 16, 16)
    assert not k.access_ok(TASK_SIZE_MAX - 16, 17)
    assert not k.access_ok(2**64 - 8, 16)  # wraps
    assert not k.access_ok(0, 2**63)


def test_access_ok_zero_size_at_the_top_differs_between_kernels():
    """6.1 accepts size 0 at TASK_SIZE_MAX; so does 6.12 (end <= USER_PTR_MAX), but not one byte past."""
    for version in sim.VERSIONS:
        k = sim.Kernel(sim.AddressSpace(), version)
        assert k.access_ok(TASK_SIZE_MAX, 0)
        assert not k.access_ok(TASK_SIZE_MAX + 1, 0)


@pytest.mark.parametrize("size", [1, 2, 4, 8])
def test_get_put_user_round_trip_every_size(version, size):
    """put_user then get_user returns the value truncated to size, little-endian."""
    mm = sim.AddressSpace()
    a = mm.mmap(PAGE_SIZE, RW)
    k = sim.Kernel(mm, version)
    value = 0x1122334455667788
    assert k.put_user(value, a + 3, size) == 0
    assert k.get_user(a + 3, size) == (0, value & ((1 << (8 * size)) - 1))
    assert mm.peek(a + 3, size) == value.to_bytes(8, "little")[:size]


@pytest.mark.parametrize("size", [2, 4, 8])
def test_straddling_get_put_user_are_all_or_nothing(version, size):
    """An access that straddles into a hole fails whole: -EFAULT, value 0, nothing stored."""
    mm = sim.AddressSpace()
    a = rw_then(mm, None)
    k = sim.Kernel(mm, version)
    mm.poke(a + PAGE_SIZE - 1, b"\x7f")
    addr = a + PAGE_SIZE - 1
    assert k.get_user(addr, size) == (-EFAULT, 0)
    assert k.put_user(0, addr, size) == -EFAULT
    assert mm.peek(addr, 1) == b"\x7f"


def test_put_user_to_read_only_faults_but_get_user_works(version):
    """A read-only page can be read by get_user but not written by put_user."""
    mm = sim.AddressSpace()
    a = mm.mmap(PAGE_SIZE, RW)
    mm.poke(a, b"\x2a")
    mm.mprotect(a, PAGE_SIZE, PROT_READ)
    k = sim.Kernel(mm, version)
    assert k.get_user(a, 1) == (0, 42)
    assert k.put_user(1, a, 1) == -EFAULT


@pytest.mark.parametrize("second", [None, PROT_NONE], ids=["hole", "prot_none"])
@pytest.mark.parametrize("before", [1, 7, 8, 63, 100])
def test_copy_from_user_stops_at_the_exact_faulting_byte(version, second, before):
    """copy_from_user copies every byte before the fault, returns the rest, and zeroes it in kbuf."""
    mm = sim.AddressSpace()
    a = rw_then(mm, second)
    data = bytes(range(1, 201))
    start = a + PAGE_SIZE - before
    mm.poke(start, data[:before])
    k = sim.Kernel(mm, version)
    n = 150
    kbuf = bytearray(b"\xee" * (n + 4))
    ret = k.copy_from_user(kbuf, start, n)
    assert ret == n - before
    assert kbuf[:before] == data[:before]
    assert kbuf[before:n] == bytes(n - before)  # zero-filled, no stale kernel bytes
    assert kbuf[n:] == b"\xee" * 4  # nothing past n touched


def test_copy_to_user_into_read_only_page_is_partial(version):
    """copy_to_user writes up to the read-only page and reports the rest as not copied."""
    mm = sim.AddressSpace()
    a = rw_then(mm, PROT_READ)
    k = sim.Kernel(mm, version)
    ret = k.copy_to_user(a + PAGE_SIZE - 10, b"0123456789abcdef", 16)
    assert ret == 6
    assert mm.peek(a + PAGE_SIZE - 10, 10) == b"0123456789"
    assert mm.peek(a + PAGE_SIZE, 6) == bytes(6)


def test_zero_length_copies_succeed_anywhere_in_range(version):
    """n == 0 copies nothing and reports 0 not copied, even at an unmapped address."""
    k = sim.Kernel(sim.AddressSpace(), version)
    assert k.copy_from_user(bytearray(0), 0x1000, 0) == 0
    assert k.copy_to_user(0x1000, b"", 0) == 0
    assert k.clear_user(0x1000, 0) == 0


def test_copy_from_user_past_the_top_differs_between_kernels():
    """6.1 refuses a range crossing TASK_SIZE_MAX (access_ok); 6.12 masks the address and copies up to the top."""
    got = {}
    for version in sim.VERSIONS:
        mm = sim.AddressSpace()
        top = mm.mmap(PAGE_SIZE, RW, addr=TASK_SIZE_MAX - PAGE_SIZE)
        mm.poke(TASK_SIZE_MAX - 4, b"TOP!")
        kbuf = bytearray(8)
        got[version] = (sim.Kernel(mm, version).copy_from_user(kbuf, TASK_SIZE_MAX - 4, 8), bytes(kbuf))
        assert top == TASK_SIZE_MAX - PAGE_SIZE
    assert got["6.1"] == (8, bytes(8))
    assert got["6.12"] == (4, b"TOP!" + bytes(4))


def test_clear_user_short_ranges_on_61_stop_at_the_faulting_qword():
    """6.1 on a CPU without FSRM clears < 64 bytes with 8-byte stores: a store straddling the fault clears nothing."""
    for version, expect_cleared in (("6.1", 8), ("6.12", 13)):
        mm = sim.AddressSpace()
        a = rw_then(mm, PROT_READ)
        start = a + PAGE_SIZE - 13
        mm.poke(start, b"\xff" * 13)
        ret = sim.Kernel(mm, version).clear_user(start, 20)
        assert ret == 20 - expect_cleared, version
        assert mm.peek(start, 13) == bytes(expect_cleared) + b"\xff" * (13 - expect_cleared)


def test_clear_user_is_byte_exact_with_fsrm():
    """With FSRM (rep stosb) 6.1's clear_user is byte exact too: the routine depends on the CPU."""
    mm = sim.AddressSpace()
    a = rw_then(mm, PROT_READ)
    k = sim.Kernel(mm, "6.1", cpu=sim.CPU(fsrm=True))
    assert k.clear_user(a + PAGE_SIZE - 13, 20) == 7


def test_strnlen_user_counts_the_nul(version):
    """strnlen_user returns the length including the NUL when it is within the limit."""
    mm = sim.AddressSpace()
    a = mm.mmap(PAGE_SIZE, RW)
    mm.poke(a + 8, b"hello\0")
    k = sim.Kernel(mm, version)
    assert k.strnlen_user(a + 8, 100) == 6
    assert k.strnlen_user(a + 8, 6) == 6


def test_strnlen_user_too_long_and_word_at_a_time(version):
    """Past the limit: count+1 - unless the NUL shares an aligned word with the scanned bytes, then its real length."""
    mm = sim.AddressSpace()
    a = mm.mmap(PAGE_SIZE, RW)
    mm.poke(a, b"abcdefghijklmnopqrstuvwxyz\0")  # NUL at offset 26, in the word [24, 32)
    k = sim.Kernel(mm, version)
    assert k.strnlen_user(a, 10) == 11  # words [0,8), [8,16) hold no NUL: "too long" = count + 1
    assert k.strnlen_user(a, 25) == 27  # the word [24,32) was read for byte 24: NUL at 26 found


def test_strnlen_user_into_a_hole_is_zero(version):
    """A string that runs into unmapped memory gives 0 (the fault), not a length."""
    mm = sim.AddressSpace()
    a = rw_then(mm, None)
    mm.poke(a + PAGE_SIZE - 4, b"abcd")
    assert sim.Kernel(mm, version).strnlen_user(a + PAGE_SIZE - 4, 100) == 0


def test_strncpy_from_user_returns_length_and_zeroes_the_rest_of_the_word(version):
    """strncpy_from_user returns the length without NUL; bytes after the NUL in the same word become 0."""
    mm = sim.AddressSpace()
    a = mm.mmap(PAGE_SIZE, RW)
    mm.poke(a, b"hi\0XYZWV")
    kbuf = bytearray(b"\xaa" * 16)
    assert sim.Kernel(mm, version).strncpy_from_user(kbuf, a, 16) == 2
    assert kbuf[:8] == b"hi" + bytes(6)
    assert kbuf[8:] == b"\xaa" * 8


def test_strncpy_from_user_without_nul_fills_count_bytes(version):
    """With no NUL in count bytes it returns count and kbuf holds no terminator."""
    mm = sim.AddressSpace()
    a = mm.mmap(PAGE_SIZE, RW)
    mm.poke(a, b"abcdefghijkl")
    kbuf = bytearray(5)
    assert sim.Kernel(mm, version).strncpy_from_user(kbuf, a, 5) == 5
    assert kbuf == b"abcde"


def test_strncpy_from_user_fault_keeps_copied_bytes(version):
    """Running into a hole gives -EFAULT, with the bytes before the hole already in kbuf."""
    mm = sim.AddressSpace()
    a = rw_then(mm, None)
    mm.poke(a + PAGE_SIZE - 5, b"abcde")
    kbuf = bytearray(b"\xaa" * 10)
    assert sim.Kernel(mm, version).strncpy_from_user(kbuf, a + PAGE_SIZE - 5, 10) == -EFAULT
    assert kbuf[:5] == b"abcde" and kbuf[5:] == b"\xaa" * 5


def test_last_access_records_how_far_a_call_got(version):
    """Kernel.last says which range a call was asked for and how much of it was done."""
    mm = sim.AddressSpace()
    a = rw_then(mm, None)
    k = sim.Kernel(mm, version)
    k.copy_to_user(a + PAGE_SIZE - 3, b"abcdef", 6)
    acc = k.last
    assert (acc.api, acc.start, acc.length, acc.done, acc.result) == ("copy_to_user", a + PAGE_SIZE - 3, 6, 3, 3)


def test_string_counts_are_c_longs(version):
    """A count of 2**64-1 is -1 to the kernel: strnlen_user returns 0, strncpy_from_user copies nothing."""
    mm = sim.AddressSpace()
    a = mm.mmap(PAGE_SIZE, RW)
    mm.poke(a, b"abc\0")
    k = sim.Kernel(mm, version)
    assert k.strnlen_user(a, 2**64 - 1) == 0
    kbuf = bytearray(b"\xaa" * 4)
    assert k.strncpy_from_user(kbuf, a, 2**64 - 1) == 0 and kbuf == b"\xaa" * 4


def test_la57_moves_the_top_of_user_space(version):
    """With 5-level paging the range check ends at 2**56 - PAGE_SIZE, and mappings may live above 2**47."""
    mm = sim.AddressSpace(la57=True)
    k = sim.Kernel(mm, version)
    assert k.access_ok(TASK_SIZE_MAX, PAGE_SIZE)
    assert not k.access_ok(sim.TASK_SIZE_MAX_LA57, 1)
    a = mm.mmap(PAGE_SIZE, RW, addr=sim.TASK_SIZE_MAX_LA57 - PAGE_SIZE)
    assert k.put_user(0xAB, a + PAGE_SIZE - 1, 1) == 0
    assert k.get_user(a + PAGE_SIZE - 1, 2) == (-EFAULT, 0)
    assert mm.mmap(PAGE_SIZE, RW) < 1 << 47  # without a hint mmap stays below 2**47
    with pytest.raises(sim.SimUsageError, match="outside user space"):
        sim.AddressSpace().mmap(PAGE_SIZE, RW, addr=1 << 48)


def test_access_ok_with_a_constant_size_on_612_checks_only_the_start():
    """6.12's __access_ok() skips the end check for a compile-time size <= PAGE_SIZE; 6.1 always checks it."""
    k61 = sim.Kernel(sim.AddressSpace(), "6.1")
    k612 = sim.Kernel(sim.AddressSpace(), "6.12")
    addr = TASK_SIZE_MAX - 4
    assert not k61.access_ok(addr, 8, constant_size=True)
    assert k612.access_ok(addr, 8, constant_size=True)
    assert not k612.access_ok(addr, 8)  # the same size known only at run time
