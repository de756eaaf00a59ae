"""Client libraries for Tunewright's JSON API."""
from clients.tunewright_client import JobFailed, TunewrightClient, TunewrightError

__all__ = ["TunewrightClient", "TunewrightError", "JobFailed"]
