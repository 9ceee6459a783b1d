"""The demo's code stays out of the service: `plate-bridge run` never loads `bridge.demo`,
and no library code installs software (mosquitto is `scripts/demo`'s job)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ("bridge", "custom_components/plate_recognizer", "plate_engine")
# A program name as its own string literal, as `shutil.which`/`subprocess` take it.
_PACKAGE_MANAGER = re.compile(r"""["'](apt-get|apt|sudo|dpkg)["']""")

_PROBE = """
import json, sys
from bridge.cli import build_parser
import bridge.commands.run, bridge.service
build_parser()  # every command's parser, as `plate-bridge run` builds them
print(json.dumps(sorted(name for name in sys.modules if name.startswith("bridge.demo"))))
"""


def test_run_loads_no_demo_module() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_no_library_code_runs_apt_get() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for folder in LIBRARY
        for path in sorted((ROOT / folder).rglob("*.py"))
        if _PACKAGE_MANAGER.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
