"""Offline plate reader that serves the Snapshot API like the on-premise SDK."""
