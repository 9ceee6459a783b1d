"""`plate-bridge read`, run in-process against the fake API served from a thread."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from bridge.cli import EXIT_FAILURES, EXIT_OK, EXIT_USAGE, main
from tests.fake_api import FakePlateRecognizer

from .conftest import make_jpeg

TOKEN = "test-token"


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "shots"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.jpg").write_bytes(make_jpeg())
    (folder / "sub" / "b.png").write_bytes(_png())
    (folder / "notes.txt").write_text("not an image, and not named like one")
    return folder


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 20, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def run_cli(fake: FakePlateRecognizer, *args: str) -> int:
    return main(["read", "--api-url", fake.url, "--rate", "1000", *args])


def test_jsonl_default_in_input_order(
    fake_api_thread: FakePlateRecognizer,
    images: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PLATE_RECOGNIZER_TOKEN", TOKEN)
    code = run_cli(fake_api_thread, str(images), "--regions", "gb,fr", "--regions", "us-ca")
    out, err = capsys.readouterr()
    assert code == EXIT_OK, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [Path(line["file"]).name for line in lines] == ["a.jpg", "b.png"]
    assert all(line["error"] is None for line in lines)
    assert lines[0]["results"][0]["plate"] == "nhk552"
    assert "raw" not in lines[0]["results"][0]
    assert [r.regions for r in fake_api_thread.requests] == [["gb", "fr", "us-ca"]] * 2
    assert {r.token for r in fake_api_thread.requests} == {TOKEN}
    assert "\r" not in err  # no progress bar when stderr is not a terminal


def test_json_and_every_option(
    fake_api_thread: FakePlateRecognizer, images: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli(
        fake_api_thread,
        str(images / "a.jpg"),
        "--token",
        TOKEN,
        "--mmc",
        "--config",
        '{"detection_mode": "vehicle"}',
        "--camera-id",
        "gate",
        "--format",
        "json",
        "--raw",
    )
    out, _ = capsys.readouterr()
    assert code == EXIT_OK
    [record] = json.loads(out)
    assert record["camera_id"] == "gate"
    assert record["raw"]["results"][0]["plate"]["props"]  # vehicle-mode shape kept raw
    assert [r["plate"] for r in record["results"]] == ["nhk552", None]
    sent = fake_api_thread.last_request
    assert sent.mmc is True and sent.config == {"detection_mode": "vehicle"}
    assert sent.camera_id == "gate"


def test_csv(
    fake_api_thread: FakePlateRecognizer, images: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli(fake_api_thread, str(images), "--token", TOKEN, "--format", "csv", "--mmc")
    out, _ = capsys.readouterr()
    assert code == EXIT_OK
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [Path(r["file"]).name for r in rows] == ["a.jpg", "b.png"]
    assert rows[0]["plate"] == "nhk552" and rows[0]["make"] == "Riley"
    assert rows[0]["xmin"] == "143" and rows[0]["region"] == "gb"


def test_a_bad_file_is_reported_and_the_run_goes_on(
    fake_api_thread: FakePlateRecognizer,
    images: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    broken = images / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 this is not really a jpeg")
    code = run_cli(fake_api_thread, str(images), str(images / "missing.jpg"), "--token", TOKEN)
    out, err = capsys.readouterr()
    assert code == EXIT_FAILURES
    records = {Path(json.loads(line)["file"]).name: json.loads(line) for line in out.splitlines()}
    assert records["a.jpg"]["error"] is None and records["b.png"]["error"] is None
    assert "not a readable image" in records["broken.jpg"]["error"]
    assert "missing.jpg: no such file" in err
    assert "2 of 4 failed" in err
    assert len(fake_api_thread.requests) == 2  # the broken file cost no lookup


def test_api_errors_are_per_file(
    fake_api_thread: FakePlateRecognizer, images: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["read", "--api-url", fake_api_thread.url, "--token", "wrong", str(images)])
    out, err = capsys.readouterr()
    assert code == EXIT_FAILURES
    errors = [json.loads(line)["error"] for line in out.splitlines()]
    assert all("token is wrong" in error for error in errors)
    assert "wrong" not in err.replace("token is wrong", "")  # the token itself is never shown


def test_annotate_writes_copies(
    fake_api_thread: FakePlateRecognizer,
    images: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(images)
    out_dir = tmp_path / "annotated"
    code = run_cli(fake_api_thread, ".", "--token", TOKEN, "--annotate", str(out_dir))
    out, _ = capsys.readouterr()
    assert code == EXIT_OK
    written = sorted(p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*.jpg"))
    assert written == ["a.jpg", "sub/b.jpg"]
    record = json.loads(out.splitlines()[0])
    assert Path(record["annotated"]).is_file()
    from PIL import Image

    with Image.open(out_dir / "a.jpg") as picture:
        assert picture.size == (320, 240)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--config", '{"colour": 1}'], "unknown key 'colour'"),
        (["--config", '{"region": "strict"}'], "needs --regions"),
        (["--regions", "United Kingdom"], "not a region code"),
        (["--concurrency", "0"], "--concurrency"),
        (["--rate", "0"], "--rate"),
    ],
)
def test_config_errors_exit_2_naming_the_key(
    fake_api_thread: FakePlateRecognizer,
    images: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    code = main(["read", "--api-url", fake_api_thread.url, str(images), *args])
    _, err = capsys.readouterr()
    assert code == EXIT_USAGE
    assert message in err
    assert fake_api_thread.requests == []


def test_no_server_configured(
    images: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PLATE_RECOGNIZER_TOKEN", raising=False)
    assert main(["read", str(images)]) == EXIT_USAGE
    assert "--api-url" in capsys.readouterr().err


def test_no_images(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["read", "--api-url", "http://127.0.0.1:9", str(tmp_path)]) == EXIT_USAGE
    assert "no image files" in capsys.readouterr().err


def test_progress_bar_when_forced(
    fake_api_thread: FakePlateRecognizer, images: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli(fake_api_thread, str(images), "--token", TOKEN, "--progress", "always")
    _, err = capsys.readouterr()
    assert code == EXIT_OK
    assert "2/2 [" in err
