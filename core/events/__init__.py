"""Domain events delivered to plugins, each handler isolated; failures recorded and replayable."""
