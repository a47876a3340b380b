"""Chaos runs: traffic through a platform whose processes keep dying, then the reckoning."""
