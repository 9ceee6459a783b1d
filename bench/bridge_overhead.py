"""Bridge overhead per event and memory, with a real mosquitto and the fake API.

Usage (from the repository root):

    .venv/bin/python bench/bridge_overhead.py [--rates 50 200] [--seconds 20]

For each rate a fresh bridge process (`plate-bridge run`) reads 1280x720 JPEG
snapshots published on `pb/<camera>/snapshot` (4 cameras, QoS 1) through the
fake API in its own process (on-premise flavour: it answers at once). It
prints, per rate:

* overhead p50/p99/max: the bridge's own measurement, from the moment paho
  hands it the message to the moment the results are handed back to paho for
  publication, minus the time spent in `PlateReader.read` (the API, including
  the client's image check). Taken from the retained `pb/metrics` message;
* end-to-end p50/p99: publisher -> subscriber of `pb/<camera>/plate`,
  everything included (broker twice, API, bridge);
* events published vs. sent, and the bridge's peak RSS (VmHWM).

Goals (docs/bridge.md): overhead p99 <= 5 ms at 200 events/s on 2 cores; RSS <= 80 MB.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bridge_common import (
    Client,
    Mosquitto,
    base_config,
    bridge,
    camera_jpeg,
    cpu_seconds,
    fake_api,
    paced,
    rss_mb,
    wait_until,
)

from bench._stats import percentile
from bench._yardstick import measure as measure_yardstick

CAMERAS = ("drive", "gate", "street", "yard")


def run(rate: float, seconds: float, image: bytes) -> dict[str, Any]:
    with Mosquitto() as broker, fake_api() as api:
        config = base_config(broker, api.url)
        with bridge(config) as process:
            pids = {"bridge": process.pid, "broker": broker.pid, "api": api.pid}
            watcher = Client(broker, ("pb/+/plate", "pb/metrics", "pb/status"))
            publisher = Client(broker)
            try:
                if not wait_until(lambda: bool(watcher.on("pb/status")), 15):
                    raise RuntimeError("the bridge did not come online")
                time.sleep(0.5)
                sent: list[float] = []
                cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
                for n in paced(rate, seconds):
                    sent.append(time.perf_counter())
                    publisher.client.publish(
                        f"pb/{CAMERAS[n % len(CAMERAS)]}/snapshot", image, qos=1
                    )
                total = len(sent)
                wait_until(lambda: len(watcher.on("pb/+/plate")) >= total, 30)
                cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
                time.sleep(1.5)  # one more metrics message
                _, peak = rss_mb(process.pid)
                metrics = json.loads(watcher.on("pb/metrics")[-1][2])
                received = [m[0] for m in watcher.on("pb/+/plate")]
            finally:
                publisher.close()
                watcher.close()
    # Publisher and subscriber see the same clock; each camera's results come in order,
    # and with a fake answering at once overall order holds too: pair them up.
    end_to_end = [(r - s) * 1000 for s, r in zip(sent, sorted(received), strict=False)]
    overhead = metrics["overhead"]
    return {
        "rate": rate,
        "sent": total,
        "published": len(received),
        "overhead_p50_ms": overhead["p50_ms"],
        "overhead_p99_ms": overhead["p99_ms"],
        "overhead_max_ms": overhead["max_ms"],
        "api_p50_ms": metrics["api_time"]["p50_ms"],
        "queue_p99_ms": metrics["queue_wait"]["p99_ms"],
        "processing_p50_ms": metrics["processing"]["p50_ms"],
        "processing_p99_ms": metrics["processing"]["p99_ms"],
        "api_p99_ms": metrics["api_time"]["p99_ms"],
        "e2e_p50_ms": statistics.median(end_to_end) if end_to_end else float("nan"),
        "e2e_p99_ms": percentile(end_to_end, 0.99) if end_to_end else float("nan"),
        "dropped": sum(v for k, v in metrics["counters"].items() if k.startswith("dropped")),
        "peak_rss_mb": peak,
        "cpu_ms_per_event": {name: seconds * 1000 / total for name, seconds in cpu.items()},
    }


def main() -> None:
    # SIGTERM (e.g. from `timeout`) unwinds the context managers: no stray processes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[50.0, 200.0])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    image = camera_jpeg()
    # Measured in the same run, so the figures compare across machines.
    print(measure_yardstick().line())
    print(f"snapshot: {len(image) // 1024} KiB JPEG; {args.seconds:g} s per rate; 4 cameras")
    print(
        "rate/s  sent  published | overhead p50    p99    max | queue p99 | API p50    p99"
        " | e2e p50    p99 | dropped | peak RSS"
    )
    for rate in args.rates:
        r = run(rate, args.seconds, image)
        print(
            f"{r['rate']:6.0f} {r['sent']:5d} {r['published']:10d} |"
            f" {r['overhead_p50_ms']:12.2f} {r['overhead_p99_ms']:6.2f}"
            f" {r['overhead_max_ms']:6.2f} | {r['queue_p99_ms']:9.2f} |"
            f" {r['api_p50_ms']:7.2f} {r['api_p99_ms']:6.2f} |"
            f" {r['e2e_p50_ms']:7.2f} {r['e2e_p99_ms']:6.2f} |"
            f" {r['dropped']:7d} | {r['peak_rss_mb']:5.1f} MB"
        )
        cpu = r["cpu_ms_per_event"]
        print(
            f"        without queue wait: p50 {r['processing_p50_ms']:.2f} ms,"
            f" p99 {r['processing_p99_ms']:.2f} ms; CPU per event: "
            + ", ".join(f"{name} {ms:.2f} ms" for name, ms in cpu.items())
        )


if __name__ == "__main__":
    main()
