"""Build the guest agent (uaccess_lab/guest/agent.c) once per source version.

The agent is a static binary so that it starts in milliseconds inside the
guest (it runs as the guest's init, from the host's filesystem over 9p). It
lives in the user's cache, named by a hash of its source.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

from uaccess_lab.kernels import cache_dir

__all__ = ["AgentBuildError", "agent_binary"]


class AgentBuildError(RuntimeError):
    """The guest agent could not be compiled; the message says what to install."""


def agent_source() -> bytes:
    return resources.files("uaccess_lab.guest").joinpath("agent.c").read_bytes()


def agent_binary() -> Path:
    """Path of the compiled agent, compiling it first if needed."""
    source = agent_source()
    digest = hashlib.sha256(source).hexdigest()[:16]
    target = cache_dir() / "agent" / f"uaccess-agent-{digest}"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        src = Path(tmp) / "agent.c"
        src.write_bytes(source)
        out = Path(tmp) / "agent"
        try:
            proc = subprocess.run(
                ["gcc", "-static", "-O2", "-Wall", "-o", str(out), str(src)],
                capture_output=True, text=True, timeout=120, check=False,
            )
        except FileNotFoundError as exc:
            raise AgentBuildError(
                "cannot build the guest agent: gcc is missing. "
                "Install it with: sudo apt-get install gcc libc6-dev"
            ) from exc
        if proc.returncode != 0:
            raise AgentBuildError(
                "cannot build the guest agent (a static C program):\n"
                f"{proc.stderr.strip()}\n"
                "Static linking needs libc6-dev: sudo apt-get install libc6-dev"
            )
        out.chmod(0o755)
        os.replace(out, target)  # atomic: a concurrent build wins harmlessly
    return target
