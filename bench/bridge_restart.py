"""Events lost across a broker restart under load (goal: 0).

Usage (from the repository root):

    .venv/bin/python bench/bridge_restart.py [--rate 50] [--seconds 20] [--restart-at 7]
        [--down 2] [--kill]

A real mosquitto with persistence (as a production broker runs), the fake API
and a `plate-bridge run` process. A publisher sends numbered snapshots
(`{"id": n, "image": <base64 JPEG>}` on `pb/<camera>/snapshot`, QoS 1) at
`--rate` per second; a subscriber with a persistent session collects
`pb/<camera>/plate`. At `--restart-at` seconds the broker is stopped (SIGTERM,
or SIGKILL with `--kill`: then it cannot save its state, and what it held is
lost by the broker itself - messages published to it in the last moment, and
those published after it is back but before the bridge has resubscribed) and
started again `--down` seconds later. Every client reconnects by itself.
The bench then waits for the bridge to catch up and prints sent, published,
lost (sent ids never published), duplicates (QoS 1 is at-least-once) and the
bridge's counters.
"""

from __future__ import annotations

import argparse
import base64
import json
import signal
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bridge_common import (
    Client,
    Mosquitto,
    base_config,
    bridge,
    camera_jpeg,
    fake_api,
    paced,
    wait_until,
)

CAMERAS = ("drive", "gate", "street", "yard")


def main() -> None:
    # SIGTERM (e.g. from `timeout`) unwinds the context managers: no stray processes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--restart-at", type=float, default=7.0)
    parser.add_argument("--down", type=float, default=2.0)
    parser.add_argument("--kill", action="store_true", help="SIGKILL the broker (no state saved)")
    args = parser.parse_args()
    image = base64.b64encode(camera_jpeg(640, 360)).decode()

    with Mosquitto(persistence=True) as broker, fake_api() as api:
        config = base_config(broker, api.url)
        config["pipeline"]["metrics_interval"] = 1
        # After the restart the broker delivers what it queued meanwhile in one burst;
        # the queue must hold that burst, or the overload policy drops the oldest
        # (counted in `dropped_*`): size it for the outage you want to ride out.
        config["pipeline"]["queue_per_camera"] = 512
        config["pipeline"]["queue_max"] = 2048
        with bridge(config):
            watcher = Client(
                broker,
                ("pb/+/plate", "pb/status", "pb/metrics"),
                client_id="watcher",
                persistent=True,
            )
            publisher = Client(broker, client_id="camera", persistent=True)
            try:
                if not wait_until(lambda: bool(watcher.on("pb/status")), 15):
                    raise RuntimeError("the bridge did not come online")
                time.sleep(0.5)

                def restart() -> None:
                    time.sleep(args.restart_at)
                    print(f"t={args.restart_at:g}s: broker down for {args.down:g}s", flush=True)
                    broker.restart(down_for=args.down, kill=args.kill)
                    print("broker back", flush=True)

                restarter = threading.Thread(target=restart)
                restarter.start()
                sent = 0
                for n in paced(args.rate, args.seconds):
                    payload = json.dumps({"id": f"n{n}", "image": image})
                    publisher.client.publish(f"pb/{CAMERAS[n % 4]}/snapshot", payload, qos=1)
                    sent += 1
                restarter.join()
                wait_until(lambda: _ids(watcher) >= {f"n{n}" for n in range(sent)}, 60)
                time.sleep(1.0)
                messages = watcher.on("pb/+/plate")
                metrics = json.loads(watcher.on("pb/metrics")[-1][2])["counters"]
            finally:
                publisher.close()
                watcher.close()
    ids = [json.loads(m[2])["source_event_id"] for m in messages]
    unique = set(ids)
    lost = sent - len(unique & {f"n{n}" for n in range(sent)})
    missing = sorted(int(i[1:]) for i in {f"n{n}" for n in range(sent)} - unique)
    if missing:
        print(f"missing ids: {_ranges(missing)}")
    keys = (
        "inputs",
        "received",
        "lookups",
        "plates_published",
        "published",
        "mqtt_reconnects",
        "dropped_camera_full",
        "dropped_queue_full",
    )
    print("bridge counters:", {k: metrics.get(k, 0) for k in keys})
    print(
        f"sent {sent}  published {len(ids)}  unique {len(unique)}  "
        f"lost {lost}  duplicates {len(ids) - len(unique)}"
    )


def _ranges(numbers: list[int]) -> str:
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(f"n{a}" if a == b else f"n{a}-n{b}" for a, b in spans)


def _ids(client: Client) -> set[str]:
    return {json.loads(m[2])["source_event_id"] for m in client.on("pb/+/plate")}


if __name__ == "__main__":
    main()
