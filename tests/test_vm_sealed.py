"""A sealed guest (the grading guest) sees only what grading needs, not the host's files."""

from pathlib import Path

import pytest

from uaccess_lab.vm import Guest
from uaccess_lab.vm._plan import with_root

ARGV = ["qemu", "-fsdev", "local,id=virtfs3,path=/,security_model=none,readonly=on",
        "-device", "virtio-9p-pci,fsdev=virtfs3,mount_tag=/dev/root",
        "-fsdev", "local,id=virtfs7,path=/tmp/x/work,security_model=none",
        "-device", "virtio-9p-pci,fsdev=virtfs7,mount_tag=virtme.initmount0",
        "-append", "console=ttyS0 init=/agent"]


def test_with_root_replaces_only_the_root_export():
    argv = with_root(ARGV, "/cache/root", usr=True)
    assert argv[2] == "local,id=virtfs3,path=/cache/root,security_model=none,readonly=on"
    assert argv[6] == ARGV[6]  # the work dir export is untouched
    assert argv[argv.index("-append") + 1] == "console=ttyS0 init=/agent uaccess.usr=1"
    assert "local,id=uaccessusr,path=/usr,security_model=none,readonly=on,multidevs=remap" in argv
    assert with_root(ARGV, "/r")[-2:] == ARGV[-2:]  # without usr: nothing added


def test_with_root_refuses_a_command_without_a_root_export():
    from uaccess_lab.vm._plan import PlanError

    with pytest.raises(PlanError, match="no export of /"):
        with_root(["qemu", "-append", "x"], "/r")


@pytest.fixture
def shared(tmp_path):
    """A directory to share, outside /tmp (a sealed guest's /tmp shows nothing of the host's)."""
    import shutil
    import tempfile

    from uaccess_lab.kernels import cache_dir

    cache_dir().mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="test-sealed-", dir=cache_dir()))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.vm
def test_a_sealed_guest_sees_the_shared_paths_and_usr_but_no_other_host_file(tmp_path, shared):
    (shared / "visible.txt").write_text("shared with the guest\n")
    secret = tmp_path / "secret.txt"
    secret.write_text("another student's work\n")
    with Guest("6.1", sealed=[shared]) as guest:
        assert guest.run(["cat", str(shared / "visible.txt")]).stdout == "shared with the guest\n"
        denied = guest.run(["cat", str(secret)])
        assert denied.exit_code != 0 and "No such file" in denied.stderr
        for hidden in ("/etc/passwd", "/home", "/srv"):
            assert guest.run(["ls", hidden]).exit_code != 0, f"{hidden} is visible"
        # the host's programs still run: the labs' C tests use python3 in the guest
        assert guest.run(["python3", "-c", "print(6 * 7)"]).stdout == "42\n"
        # and no 9p export reaches the host's root: only the sealed root, the work dir and /usr
        tags = guest.run("cat /sys/bus/virtio/drivers/9pnet_virtio/*/mount_tag").stdout
        assert sorted(tags.replace("\0", "\n").split()) == ["/dev/root", "uaccess.usr", "virtme.initmount0"]
    with Guest("6.1") as open_guest:  # the labs' guest, for contrast, sees the host's files
        assert open_guest.run(["cat", str(secret)]).stdout == "another student's work\n"


@pytest.mark.vm
def test_grading_guests_are_sealed(monkeypatch):
    """grade-driver's guest and a notebook's guest while nbgrader grades it are sealed; a lab's is not."""
    from uaccess_lab.grading.driver import DriverUnderTest, user_programs
    from uaccess_lab.vm import shared

    assert DriverUnderTest("", kernel="6.1").guest.sealed == (user_programs(),)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert shared.shared_guest("6.1").sealed is None
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    try:
        assert shared.shared_guest("6.1").sealed == (user_programs(),)
    finally:
        shared.shared_guest("6.1").close()
