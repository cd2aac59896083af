"""Shared setup of the catalog (decision-engine) tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from threadpoolctl import threadpool_limits  # pinned in the dev extras


@pytest.fixture(autouse=True, scope="package")
def one_openmp_thread() -> Iterator[None]:
    """Fit the forecast model's trees on one OpenMP thread.

    The test panels are small, so each split of a fit is microseconds of work between OpenMP
    barriers; on a busy 2-core machine (the suite, PostgreSQL and other runs sharing it) each
    barrier waits for a descheduled thread, and a fit took over ten times longer than on one
    thread (measured: 60 s against 4.6 s). One thread grows the same trees (measured: identical
    forecasts); only the wall time changes. Package-scoped so that the module-scoped model
    fixtures are built under it too.
    """
    with threadpool_limits(limits=1, user_api="openmp"):
        yield
