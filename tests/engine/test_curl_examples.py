"""The API reference's own curl examples, run with the real curl against the engine.

The scripts below are copied from the reference (on-premise section, "On Linux"; then the
engine-configuration examples) and changed only in host/port and file path. Two quirks
of the reference are kept on purpose, since clients copy them:

- ``-F regions=`mx``` is a shell command substitution: it runs a command called ``mx``
  (not found) and sends an empty ``regions`` field, which the engine ignores;
- the "strict region" example sends ``region`` (singular), an unknown field, so the
  engine sees ``region: strict`` without regions and answers 400, as our client does.

(The reference page shows ``-F "[email protected]"``: that is its web page's e-mail
obfuscation of ``-F "upload=@car.jpg"``, restored here.)
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from plate_engine.recognizer import Recognizer
from plate_engine.server import EngineServer
from platereader import ReadResponse
from tests.engine import test_server as base
from tests.engine.test_server import PLATE_TEXT, check_plate_mode_result, running_engine

# The shared fixtures (the recogniser is loaded once for this module).
recognizer = base.recognizer
plate_jpg = base.plate_jpg

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")

REFERENCE_HOST = "http://localhost:8080"
CLOUD_URL = "https://api.platerecognizer.com/v1/plate-reader/"

# --- verbatim from the reference's "Snapshot On-Premise API" section ---------------------------
JUST_THE_IMAGE = """curl -F "upload=@car.jpg" \\
http://localhost:8080/v1/plate-reader/
"""
BASE64 = """curl -F "upload=$(base64 'image.jpg')" http://localhost:8080/v1/plate-reader/
"""
CONFIG_AND_MMC = """curl -F "upload=@/path/to/car.jpg" \\
-F regions=`mx` \\
-F regions=us-ca \\
-F mmc=true \\
-F config="{\\"mode\\":\\"fast\\"}" \\
http://localhost:8080/v1/plate-reader/
"""
# --- verbatim from the reference's "Engine Configuration" examples (cloud URL) -----------------
THRESHOLDS_AND_FAST = """curl -F "upload=@/path/to/car.jpg" \\
-F config="{\\"mode\\":\\"fast\\", \\"threshold_d\\":0.2, \\"threshold_o\\":0.6}" \\
-H "Authorization: Token my-token******" \\
https://api.platerecognizer.com/v1/plate-reader/
"""
STRICT_REGION = """curl -F "upload=@/path/to/car.jpg" \\
-F config="{\\"region\\":\\"strict\\"}" \\
-F region=us-ca \\
-H "Authorization: Token my-token******" \\
https://api.platerecognizer.com/v1/plate-reader/
"""
DETECTION_RULE = """curl -F "upload=@/path/to/car.jpg" \\
-F config="{\\"detection_rule\\":\\"strict\\"}" \\
-H "Authorization: Token my-token******" \\
https://api.platerecognizer.com/v1/plate-reader/
"""


@pytest_asyncio.fixture
async def engine(recognizer: Recognizer, socket_enabled: None) -> AsyncIterator[EngineServer]:
    async with running_engine(recognizer) as server:
        yield server


@pytest.fixture
def car_dir(tmp_path: Path, plate_jpg: bytes) -> Path:
    """A folder with the image as car.jpg and image.jpg (the names the examples use)."""
    (tmp_path / "car.jpg").write_bytes(plate_jpg)
    (tmp_path / "image.jpg").write_bytes(plate_jpg)
    return tmp_path


async def run_example(script: str, engine: EngineServer, folder: Path) -> tuple[str, str]:
    """Run `script` with bash in `folder`, pointed at the engine; (stdout, stderr)."""
    script = script.replace(CLOUD_URL, engine.url + "/v1/plate-reader/")
    script = script.replace(REFERENCE_HOST, engine.url)
    script = script.replace("/path/to/car.jpg", str(folder / "car.jpg"))
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        script,
        cwd=folder,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode(), err.decode()


def parse(out: str) -> dict[str, Any]:
    body = json.loads(out)
    assert isinstance(body, dict)
    ReadResponse.from_api(body)  # the client's strict parser accepts it
    return body


def check_onprem_body(body: dict[str, Any], *, mmc: bool = False) -> None:
    assert set(body) == {
        "processing_time",
        "results",
        "filename",
        "version",
        "camera_id",
        "timestamp",
        "usage",
    }
    assert body["camera_id"] == "null"
    assert set(body["usage"]) == {"calls", "max_calls"}
    for result in body["results"]:
        check_plate_mode_result(result, mmc=mmc)


async def test_just_the_image(engine: EngineServer, car_dir: Path) -> None:
    out, _ = await run_example(JUST_THE_IMAGE, engine, car_dir)
    body = parse(out)
    check_onprem_body(body)
    assert body["filename"] == "car.jpg"
    assert [r["plate"] for r in body["results"]] == [PLATE_TEXT]


async def test_just_the_demo_image(engine: EngineServer, demo_jpg: Path, tmp_path: Path) -> None:
    shutil.copy(demo_jpg, tmp_path / "car.jpg")
    out, _ = await run_example(JUST_THE_IMAGE, engine, tmp_path)
    body = parse(out)
    check_onprem_body(body)
    assert {"by649ag", "za834co"} <= {r["plate"] for r in body["results"]}


async def test_base64(engine: EngineServer, car_dir: Path) -> None:
    out, _ = await run_example(BASE64, engine, car_dir)
    body = parse(out)
    check_onprem_body(body)
    assert [r["plate"] for r in body["results"]] == [PLATE_TEXT]


async def test_regions_mmc_and_config(engine: EngineServer, car_dir: Path) -> None:
    out, err = await run_example(CONFIG_AND_MMC, engine, car_dir)
    assert "mx" in err  # bash: mx: command not found (the empty field is ignored)
    body = parse(out)
    check_onprem_body(body, mmc=True)
    assert [r["plate"] for r in body["results"]] == [PLATE_TEXT]


async def test_thresholds_and_fast_mode(engine: EngineServer, car_dir: Path) -> None:
    out, _ = await run_example(THRESHOLDS_AND_FAST, engine, car_dir)
    body = parse(out)
    check_onprem_body(body)
    assert [r["plate"] for r in body["results"]] == [PLATE_TEXT]


async def test_detection_rule_strict(engine: EngineServer, car_dir: Path) -> None:
    out, _ = await run_example(DETECTION_RULE, engine, car_dir)
    body = parse(out)
    check_onprem_body(body)
    assert [r["plate"] for r in body["results"]] == [PLATE_TEXT]


async def test_strict_region_example_is_refused_with_a_hint(
    engine: EngineServer, car_dir: Path
) -> None:
    out, _ = await run_example(
        STRICT_REGION.replace("curl ", "curl -s -w '\\n%{http_code}' ", 1), engine, car_dir
    )
    text, status = out.rsplit("\n", 1)
    assert status == "400"
    assert "the field is 'regions'" in json.loads(text)["error"]
