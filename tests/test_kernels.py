"""The kernel resolver: the one place every part asks for "the 6.1 kernel"."""

from pathlib import Path

import pytest

from uaccess_lab import kernels


def make_fake_root(root: Path, release: str) -> None:
    """Lay out a kernel tree the way the per-user install leaves it."""
    (root / "boot").mkdir(parents=True)
    (root / "boot" / f"vmlinuz-{release}").write_bytes(b"not really a kernel")
    (root / "lib/modules" / release).mkdir(parents=True)
    build = root / "usr/src" / f"linux-headers-{release}"
    build.mkdir(parents=True)
    (build / "Makefile").write_text(f"include /usr/src/linux-headers-{release}-common/Makefile\n")


@pytest.mark.parametrize("series", list(kernels.SERIES))
def test_resolve_finds_each_installed_kernel(series):
    """Both supported kernels resolve to an image, modules and headers of their own series."""
    k = kernels.resolve(series)
    assert k.series == series
    assert k.release.startswith(series + ".")
    assert k.image.is_file() and k.image.name == f"vmlinuz-{k.release}"
    assert (k.modules_dir / "modules.builtin").is_file()
    assert (k.build_dir / "Makefile").is_file()


def test_default_is_6_1(monkeypatch):
    """No argument and no UACCESS_LAB_KERNEL means the 6.1 kernel."""
    monkeypatch.delenv("UACCESS_LAB_KERNEL", raising=False)
    assert kernels.resolve().series == "6.1"


def test_unknown_series_lists_the_supported_ones():
    """An unknown series is refused with the list of supported kernels."""
    with pytest.raises(kernels.UnknownKernel, match=r"supported kernels are 6\.1 \(default\), 6\.12"):
        kernels.resolve("5.10")


def test_user_cache_is_searched_before_the_system(tmp_path, monkeypatch):
    """A kernel unpacked into the per-user cache wins over the system one."""
    release = "6.1.0-999-amd64"
    make_fake_root(tmp_path / "kernels" / release, release)
    monkeypatch.setenv("UACCESS_LAB_CACHE", str(tmp_path))
    k = kernels.resolve("6.1")
    assert (k.release, k.source) == (release, "cache")
    assert k.build_dir == tmp_path / "kernels" / release / "usr/src" / f"linux-headers-{release}"


def test_shared_store_from_environment(tmp_path, monkeypatch):
    """An administrator's shared store in UACCESS_LAB_KERNEL_DIRS is searched too."""
    release = "6.12.999+deb12-amd64"
    make_fake_root(tmp_path / "shared" / release, release)
    monkeypatch.setenv("UACCESS_LAB_CACHE", str(tmp_path / "empty"))
    monkeypatch.setenv("UACCESS_LAB_KERNEL_DIRS", str(tmp_path / "shared"))
    assert kernels.resolve("6.12").release == release


def test_a_kernel_without_headers_is_not_usable(tmp_path, monkeypatch):
    """An image whose headers are missing is skipped, not returned half-usable."""
    release = "6.1.0-999-amd64"
    root = tmp_path / "kernels" / release
    make_fake_root(root, release)
    (root / "usr/src" / f"linux-headers-{release}" / "Makefile").unlink()
    monkeypatch.setenv("UACCESS_LAB_CACHE", str(tmp_path))
    assert kernels.resolve("6.1").release != release


def test_missing_kernel_message_names_both_install_commands(monkeypatch):
    """When nothing is installed the error says how to install, as a user and as root."""
    monkeypatch.setattr(kernels, "_installed", lambda series: None)
    with pytest.raises(kernels.KernelNotFound) as err:
        kernels.resolve("6.12")
    text = str(err.value)
    assert "uaccess-lab kernels install 6.12" in text
    assert "sudo apt-get install linux-image-6.12-amd64 linux-headers-6.12-amd64" in text


def test_repair_paths_points_headers_into_the_final_root(tmp_path):
    """Absolute includes and symlinks in unpacked headers are redirected into the cache."""
    release = "6.1.0-999-amd64"
    make_fake_root(tmp_path, release)
    common = tmp_path / "usr/src" / f"linux-headers-{release}-common"
    common.mkdir()
    build_link = tmp_path / "lib/modules" / release / "build"
    build_link.symlink_to(f"/usr/src/linux-headers-{release}")
    final = Path("/final/place")

    kernels._repair_paths(tmp_path, final)

    makefile = (tmp_path / "usr/src" / f"linux-headers-{release}" / "Makefile").read_text()
    assert makefile == f"include {final}/usr/src/linux-headers-{release}-common/Makefile\n"
    assert build_link.resolve() == (tmp_path / "usr/src" / f"linux-headers-{release}").resolve()
    assert not Path(build_link.readlink()).is_absolute()


def test_concrete_packages_follow_apt_dependencies():
    """The user route downloads the versioned image, headers, -common and kbuild packages."""
    names = kernels._concrete_packages(kernels.SERIES["6.1"])
    release = kernels.resolve("6.1").release
    assert f"linux-image-{release}" in names
    assert f"linux-headers-{release}" in names
    assert any(n.startswith("linux-headers-") and n.endswith("-common") for n in names)
    assert any(n.startswith("linux-kbuild-") for n in names)
