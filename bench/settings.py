"""The project's settings, as production reads them, with one change: collectstatic writes to
the run's own STATIC_ROOT (BENCH_STATIC_ROOT), so a benchmark never touches `staticfiles/`
that `make run` serves."""

import os

from commonplace.settings import *  # noqa: F403

STATIC_ROOT = os.environ["BENCH_STATIC_ROOT"]
