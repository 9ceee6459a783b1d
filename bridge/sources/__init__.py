"""Where pictures come from: Frigate events, snapshot topics, watched folders."""
