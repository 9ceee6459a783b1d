"""`plate-bridge engine` as a child process, for the tests that need the real command."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from tests.conftest import REPO


@dataclass
class EngineProcess:
    process: asyncio.subprocess.Process
    url: str
    lines: list[str] = field(default_factory=list)  # what it printed until it listened


@asynccontextmanager
async def engine_process(*, workers: int) -> AsyncIterator[EngineProcess]:
    """`python -m bridge engine --port 0`, once it listens; killed at the end if still up."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bridge",
        "engine",
        "--port",
        "0",
        "--workers",
        str(workers),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    try:
        lines: list[str] = []
        async with asyncio.timeout(60):  # loading the models on a busy machine
            while not any("listening on" in line for line in lines):
                line = (await process.stdout.readline()).decode()
                assert line, f"the engine exited early: {lines}"
                lines.append(line)
        yield EngineProcess(process, lines[-1].split("listening on ", 1)[1].split()[0], lines)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
