"""Child processes of the end-to-end tests: started, awaited, stopped, their output kept.

Every process writes stdout and stderr to one log file (never a pipe: a chatty child
cannot block on a full pipe), and `stop()` sends SIGTERM, waits, then kills. Nothing here
starts a thread: the Home Assistant pytest plugin fails a test that leaves one behind.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Self

from tests.conftest import REPO

PYTHON = sys.executable
BIN = Path(PYTHON).parent


def wait_until[T](
    probe: Callable[[], T | None],
    *,
    within: float,
    interval: float = 0.1,
    what: str = "condition",
    details: Callable[[], str] | None = None,
) -> T:
    """Call `probe` until it returns something truthy; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            extra = f"\n{details()}" if details is not None else ""
            raise AssertionError(f"{what}: not met within {within:g} s{extra}")
        time.sleep(interval)


class ManagedProcess:
    """One child process with its output in `log_path`."""

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        log_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        drop_env: Sequence[str] = (),
        cwd: Path = REPO,
    ) -> None:
        """`env` is added to this process's environment, minus variables starting with
        one of `drop_env` (e.g. a developer's own `PLATE_BRIDGE_` settings)."""
        self.name = name
        self.args = list(args)
        self.log_path = log_path
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(tuple(drop_env))}
        self.env = {**inherited, **(env or {})}
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,  # our signals only, never the terminal's
            )
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines: int = 60) -> str:
        text = self.output().splitlines()[-lines:]
        return f"--- last {len(text)} lines of {self.name} ({self.log_path}) ---\n" + "\n".join(
            text
        )

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(
                f"{self.name} exited with {self.process.returncode}\n{self.tail()}"
            )

    def wait_for_output(self, pattern: str, *, within: float) -> re.Match[str]:
        """The first match of `pattern` in the output; fails if the process exits first."""
        regex = re.compile(pattern, re.MULTILINE)

        def probe() -> re.Match[str] | None:
            found = regex.search(self.output())
            if found is None:
                self.check_alive()
            return found

        return wait_until(
            probe, within=within, what=f"{self.name} printing {pattern!r}", details=self.tail
        )

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM, wait up to `timeout`, then SIGKILL; returns the exit code."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        # Whatever the child left in its process group (e.g. npm's node) goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        return process.returncode

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
