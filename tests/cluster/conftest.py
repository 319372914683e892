"""Fixtures of the scale-out tests: media made with ffmpeg's lavfi sources
(nothing from outside the repository), and clusters (cluster.py) that are
stopped and removed whatever the test's outcome."""
import shutil
import tempfile
from pathlib import Path

import pytest

from cluster import Cluster, make_media

SIZES = [(96, 64), (128, 80), (160, 96)]
FRAME_COUNTS = [12, 18, 24]
LONG = (240, 144, 96)


@pytest.fixture(scope="session")
def media():
    root = Path(tempfile.mkdtemp(prefix="maskattn-media-"))
    try:
        made = make_media(root, SIZES, FRAME_COUNTS)
        made.update(make_media(root, [LONG[:2]], [LONG[2]]))
        yield made
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def cluster_of():
    """cluster_of(n, *replica_args): a started cluster, closed after the test."""
    made = []

    def start(n, *args):
        made.append(Cluster(n, replica_args=args))
        return made[-1].start()
    yield start
    for c in made:
        c.close()
