"""`plate-bridge demo`: the main job on embedded defaults (see docs/demo.md).

`photos` lists the real photos shipped in `photos/` (fed first), `samples` draws the
synthetic pictures, `broker` starts mosquitto or the embedded `mqtt_broker`, `viewer`
is the live view, `runner` wires everything together.
"""
