"""The real kernel as a Python object: build modules, boot a guest, run commands.

    from uaccess_lab.vm import Guest, build_module

    build = build_module(open("hello.c").read(), kernel="6.1", name="hello")
    with Guest("6.1") as guest:
        print(guest.load(build.ko))
        print(guest.run("dmesg | tail -3").stdout)
"""

from .build import BuildError, BuildResult, Diagnostic, build_module
from .crash import Crash, find_crash
from .guest import Guest, GuestBootError, GuestError, GuestStatus, Result
from .kvm import use_kvm

__all__ = [
    "BuildError",
    "BuildResult",
    "Crash",
    "Diagnostic",
    "Guest",
    "GuestBootError",
    "GuestError",
    "GuestStatus",
    "Result",
    "build_module",
    "find_crash",
    "use_kvm",
]
