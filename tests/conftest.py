"""Shared test set-up: nothing may load from a hub or reach the network."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _stop_scan_workers():  # type: ignore[no-untyped-def]
    """Scan worker processes a test's server started (each holds the spaCy models) end with the test."""
    yield
    from gateway.scan_worker import close_all

    close_all()
