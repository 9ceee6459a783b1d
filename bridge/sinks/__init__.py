"""The bridge's outputs, each behind one protocol (`base.Sink`).

* `mqtt`: plate and error events on the bridge's topics.
* `homeassistant`: MQTT discovery (entities per camera) and the image entity.
* `snapshots`: annotated copies of the pictures read, on disk.
* `history`: every passage in SQLite (`plate-bridge history`).
* `frigate`: the plate written back to Frigate's event.
* `metrics`: the metrics topic (periodic, and soon after an error).

The service builds them from the configuration and hands them to the pipeline,
which emits `CameraSeen`, `Read`, `ErrorEvent` and `JobDone` notices to all of
them. Sources that keep bookkeeping about their jobs (Frigate, folders) add a
sink of their own that takes the `JobDone` of their jobs.
Nothing is imported here, so that `bridge.sinks.base` stays cheap to import.
"""
