"""Where pictures come from: Frigate events, snapshot topics, watched folders.

A source hands the pipeline `bridge.jobs.Job`s: data only, the picture as bytes
or as a request (`pictures`: the fetchers for URLs and files; the Frigate
client fetches event snapshots). It learns how its jobs ended from the
`JobDone` notices its own sink receives. Nothing flows back otherwise.
"""
