#!/usr/bin/env bash
# setup.sh - set up uaccess-lab on Debian/Ubuntu, then start the labs or run the tests.
#
#   ./setup.sh lab  [jupyter lab options]   set up, then start JupyterLab on labs/
#   ./setup.sh test [pytest options]        set up, then run the test suite
#
# Run as root, it installs the system packages and the kernels system-wide.
# Run as any other user, it prints the one command an administrator must run
# for what is missing, installs the kernels into ~/.cache/uaccess-lab, and goes
# on as far as it can. Python packages always go into ./.venv.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
mode="${1:-}"
case "$mode" in
    lab | test) shift ;;
    *)
        echo "usage: ./setup.sh lab [jupyter lab options] | ./setup.sh test [pytest options]" >&2
        exit 2
        ;;
esac

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# System packages: the VM (QEMU, busybox, kmod), module builds (make, the
# kernel's gcc-12) and a Python that every user can reach, with venv.
packages=(qemu-system-x86 busybox-static kmod make gcc gcc-12 libc6-dev libelf-dev python3 python3-venv)
if [ "$mode" = test ]; then
    packages+=(chromium chromium-driver)  # the browser test
fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        say "installing system packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
        apt-get install -y -q --no-install-recommends "${missing[@]}"
    else
        say "missing system packages: ${missing[*]}"
        echo "    an administrator must run: sudo apt-get install ${missing[*]}" >&2
        echo "    (continuing as far as possible without them)" >&2
    fi
fi

# The project's own virtual environment, built from the system Python so that
# other users (and the guest) can run it; root's python3 may live under /root.
python=/usr/bin/python3
[ -x "$python" ] || python="$(command -v python3)"
if [ ! -x .venv/bin/python ]; then
    say "creating .venv with $python"
    "$python" -m venv .venv
fi
extra=""
[ "$mode" = test ] && extra="[test]"
stamp=".venv/.installed$extra"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    say "installing the pinned Python packages into .venv"
    .venv/bin/pip install -q --disable-pip-version-check -e ".$extra"
    touch "$stamp"
fi
export PATH="$here/.venv/bin:$PATH"

# The kernels: system-wide as root, into the per-user cache otherwise.
for series in 6.1 6.12; do
    if ! python -c "from uaccess_lab.kernels import resolve; resolve('$series')" 2>/dev/null; then
        say "installing kernel $series"
        uaccess-lab kernels install "$series" || echo "    kernel $series could not be installed (see above)" >&2
    fi
done

if [ "$mode" = lab ]; then
    uaccess-lab doctor || true
    root_flag=()
    [ "$(id -u)" -eq 0 ] && root_flag=(--allow-root)
    # labs/ unless the caller chose another directory
    dir_flag=(--notebook-dir="$here/labs")
    for arg in "$@"; do
        case "$arg" in --notebook-dir=* | --ServerApp.root_dir=*) dir_flag=() ;; esac
    done
    say "starting JupyterLab on ${dir_flag[*]:+labs/}${dir_flag[*]:-the given directory}"
    exec jupyter lab "${dir_flag[@]}" --no-browser "${root_flag[@]}" "$@"
fi

say "running the tests"
exec python -m pytest "$@"
