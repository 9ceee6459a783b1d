"""Sources -> pipeline -> sinks: a job is data, and the pipeline knows no source."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bridge.events import (
    FrigateContext,
    ReadContext,
    SnapshotRef,
    SourceExtra,
    encode,
    plate_event,
)
from platereader import PlateResult

ROOT = Path(__file__).resolve().parents[2]


def test_the_pipeline_imports_no_source() -> None:
    """Data flows one way: importing the pipeline (and what it imports) loads nothing
    of the sources nor of Frigate; the sources and the service hand it jobs and fetchers."""
    code = (
        "import sys, bridge.pipeline\n"
        "print('\\n'.join(sorted(m for m in sys.modules "
        "if m.startswith(('bridge.sources', 'bridge.frigate')))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == []


def test_a_job_holds_no_callable() -> None:
    """Nothing in a job calls back into its source: every field is data."""
    from dataclasses import fields

    from bridge.jobs import Job

    names = {field.name for field in fields(Job)}
    assert names == {"camera", "key", "context", "picture", "received", "plates"}


def _context(extra: SourceExtra) -> ReadContext:
    return ReadContext(
        camera="driveway",
        source="frigate",
        source_event_id="e1",
        time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        snapshot=SnapshotRef(kind="frigate", url="http://frigate:5000/api/events/e1/snapshot.jpg"),
        label="car",
        extra=extra,
    )


def test_typed_extra_publishes_the_documented_json() -> None:
    """`extra.frigate` is a model; the payload is the same JSON as the dict it replaced
    (docs/bridge.md), and a source without details publishes `extra: {}`."""
    frigate = FrigateContext(
        label="car",
        top_score=0.76,
        sub_label=("Alice", 0.9),
        recognized_license_plate=None,
        recognized_license_plate_score=None,
        current_zones=["drive"],
        entered_zones=["drive", "gate"],
        attempt=1,
    )
    read_time = datetime(2026, 1, 2, 3, 4, 6, tzinfo=UTC)
    event = plate_event(
        _context(SourceExtra(frigate=frigate)),
        PlateResult(plate="ab12cde", score=0.9),
        None,
        read_time=read_time,
    )
    payload = json.loads(encode(event))
    assert payload["extra"] == {
        "frigate": {
            "label": "car",
            "top_score": 0.76,
            "sub_label": ["Alice", 0.9],
            "recognized_license_plate": None,
            "recognized_license_plate_score": None,
            "current_zones": ["drive"],
            "entered_zones": ["drive", "gate"],
            "attempt": 1,
        }
    }
    assert list(payload)[-1] == "extra"  # still the payload's last key
    plain = plate_event(
        _context(SourceExtra()), PlateResult(plate="ab12cde"), None, read_time=read_time
    )
    assert json.loads(encode(plain))["extra"] == {}
