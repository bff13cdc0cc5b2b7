"""uaccess-lab: run the course's kernel code in a virtme-ng guest from Python and notebooks.

`%load_ext uaccess_lab` in a notebook loads the IPython magics (see `uaccess_lab.magics`).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("uaccess-lab")
except PackageNotFoundError:  # running from a checkout that was never pip-installed
    __version__ = "0+unknown"


def load_ipython_extension(ipython):
    """Entry point for `%load_ext uaccess_lab`."""
    from uaccess_lab.magics import load_ipython_extension as load

    load(ipython)
