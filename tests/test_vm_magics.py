"""The IPython magics in a real notebook, executed headless with nbclient on the 6.1 kernel."""

import nbformat
import pytest
from nbclient import NotebookClient

from tests.vm_fixtures import VM_MODULES

pytestmark = pytest.mark.vm

HELLO = """\
#include <linux/module.h>

static int __init hello_init(void)
{
	pr_info("hello: loaded from a notebook cell\\n");
	return 0;
}

static void __exit hello_exit(void)
{
}

module_init(hello_init);
module_exit(hello_exit);
MODULE_LICENSE("GPL");
"""

BROKEN = """\
#include <linux/module.h>
static int __init broken_init(void)
{
	return not_declared_here;
}
module_init(broken_init);
MODULE_LICENSE("GPL");
"""


def _outputs(cell) -> tuple[str, str]:
    """(stdout + displayed text, stderr) of one executed cell."""
    out, err = [], []
    for o in cell.outputs:
        if o.output_type == "stream":
            (err if o.name == "stderr" else out).append(o.text)
        elif o.output_type in ("display_data", "execute_result"):
            out.append(o.data.get("text/plain", ""))
        elif o.output_type == "error":
            err.append("\n".join(o.traceback))
    return "".join(out), "".join(err)


def test_magics_build_load_run_and_survive_an_oops(tmp_path):
    """%%module, %%guest, %kernel and %guest_status in a notebook: errors by cell line, an oops shown, then a reboot."""
    nullread = (VM_MODULES / "nullread.c").read_text()
    cells = [
        "%load_ext uaccess_lab",
        "%kernel 6.1",
        "%guest_status",
        "%%module hello --load\n" + HELLO,
        "%%module broken\n" + BROKEN,
        "%%guest\necho from-the-guest; uname -r",
        "%%module nullread --load\n" + nullread,
        "%%guest --timeout 30\ncat /proc/nullread",
        "%%guest\necho still-here",
        "%guest_status",
        "_guest_result.exit_code",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    out = [_outputs(c) for c in nb.cells]

    assert "kernel 6.1: 6.1." in out[1][0]
    assert "no guest yet" in out[2][0]
    built, _ = out[3]
    assert "built hello.ko for 6.1" in built
    assert "booting the guest" in built or "guest ready" in built
    assert "hello: loaded from a notebook cell" in built
    _, errors = out[4]
    assert "cell:4:" in errors and "not_declared_here" in errors, errors
    assert "   4 | \treturn not_declared_here;" in errors
    assert "from-the-guest" in out[5][0] and "exit 0" in out[5][0]
    _, oops = out[7]
    assert "KERNEL OOPS in nullread_read [nullread] at nullread.c:" in oops, oops
    assert "NULL pointer dereference" in oops
    again, _ = out[8]
    assert "still-here" in again and "rebooted after the previous command's kernel oops" in again
    status, _ = out[9]
    assert "boots       2" in status and "last crash  kernel oops in nullread_read" in status
    assert out[10][0].strip() == "0"
