"""The short soak of `make test`: tests/soak/soak.py for SOAK_TEST_SECONDS
(60) seconds; `make soak` runs the long one."""
import os

from soak import run


def test_short_soak():
    soak = run(float(os.environ.get("SOAK_TEST_SECONDS", "60")))
    assert not soak.failures, soak.failures
