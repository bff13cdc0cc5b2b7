"""build_module: host-side module builds against the real Debian headers, with diagnostics by the user's lines."""

import subprocess

import pytest

from tests.vm_fixtures import VM_MODULES, marked_line
from uaccess_lab import kernels
from uaccess_lab.kernels import KernelNotFound, UnknownKernel
from uaccess_lab.vm import BuildError, Guest, build_module


@pytest.fixture(params=["6.1", "6.12"])
def series(request):
    try:
        kernels.resolve(request.param)
    except KernelNotFound as exc:
        pytest.skip(str(exc))
    return request.param


CELL_WITH_ERROR = """\
#include <linux/module.h>

static int __init cell_init(void)
{
\tint unused_but_fine = 0;
\treturn missing_symbol + unused_but_fine;
}
module_init(cell_init);
MODULE_LICENSE("GPL");
"""


def test_compile_error_in_cell_text_is_reported_at_the_cells_line(series):
    """An error on the cell's line 6 is reported as cell:6 with its column and message."""
    r = build_module(CELL_WITH_ERROR, kernel=series, name="celltest")
    assert not r.ok and r.ko is None
    first = r.errors[0]
    assert (first.file, first.line, first.column) == ("cell", 6, 9)
    assert "missing_symbol" in first.message and "undeclared" in first.message
    assert "missing_symbol" in r.log
    assert "cell:6:9: error:" in str(r)


def test_compile_error_in_a_file_names_that_file(series):
    """Diagnostics for file sources carry the user's own path and line."""
    r = build_module(VM_MODULES / "broken.c", kernel=series)
    assert not r.ok
    line = marked_line(VM_MODULES / "broken.c", "BROKEN_LINE")
    assert (r.errors[0].file, r.errors[0].line) == (str(VM_MODULES / "broken.c"), line)


def test_module_from_several_files_builds_with_debug_info(series, tmp_path):
    """A list of .c/.h files becomes one module; the .ko carries DWARF line info; rebuilding is cached."""
    (tmp_path / "helper.h").write_text("int helper(void);\n")
    (tmp_path / "helper.c").write_text('#include "helper.h"\nint helper(void) { return 0; }\n')
    (tmp_path / "main.c").write_text(
        '#include <linux/module.h>\n#include "helper.h"\n'
        "static int __init m_init(void) { return helper(); }\n"
        'module_init(m_init);\nMODULE_LICENSE("GPL");\n'
    )
    files = [tmp_path / "main.c", tmp_path / "helper.c", tmp_path / "helper.h"]
    r = build_module(files, kernel=series, name="twofiles")
    assert r.ok, str(r)
    assert r.ko.name == "twofiles.ko"
    sections = subprocess.run(["readelf", "-S", str(r.ko)], capture_output=True, text=True).stdout
    assert ".debug_line" in sections
    vermagic = subprocess.run(["modinfo", "-F", "vermagic", str(r.ko)],
                              capture_output=True, text=True).stdout
    assert vermagic.startswith(kernels.resolve(series).release + " ")
    again = build_module(files, kernel=series, name="twofiles")
    assert again.cached and again.ko == r.ko
    assert build_module(tmp_path, kernel=series, name="twofiles").ok, "a directory works too"


def test_sources_that_cannot_be_built_raise_with_a_reason(tmp_path):
    """No .c file, or a module name that is not an identifier: BuildError saying what to change."""
    (tmp_path / "only.h").write_text("")
    with pytest.raises(BuildError, match="no .c file"):
        build_module([tmp_path / "only.h"])
    with pytest.raises(BuildError, match="not a C identifier"):
        build_module("int x;\n", name="bad-name")


def test_unknown_kernel_lists_the_supported_ones():
    """A kernel the course does not support is refused with the list of supported ones."""
    with pytest.raises(UnknownKernel, match=r"6\.1 \(default\), 6\.12"):
        build_module("int x;\n", kernel="5.10")
    with pytest.raises(UnknownKernel):
        Guest("5.10")


def test_missing_kernel_says_how_to_install_it(monkeypatch):
    """A supported kernel that is not installed: the message gives both install commands, before any boot."""
    monkeypatch.setattr(kernels, "_installed", lambda series: None)
    for attempt in (lambda: build_module("int x;\n", kernel="6.12"), lambda: Guest("6.12")):
        with pytest.raises(KernelNotFound) as info:
            attempt()
        assert "uaccess-lab kernels install 6.12" in str(info.value)
        assert "sudo apt-get install linux-image-6.12-amd64" in str(info.value)
