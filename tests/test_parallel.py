"""keraslstm.parallel: jobs in spawned processes come back in their own order, with their context."""

import logging
import operator

import pytest

from keraslstm import parallel


@pytest.mark.parametrize("workers", [1, 2])
def test_map_runs_returns_each_jobs_result_in_job_order(workers):
    finished = []

    def progress(iterator, total):
        assert total == 4
        for item in iterator:
            finished.append(item)
            yield item

    # context = int("100") in every process; the costliest job (the last) starts first
    results = parallel.map_runs(operator.add, [(1,), (2,), (3,), (40,)], workers, setup=int,
                                setup_args=("100",), cost=lambda x: x, progress=progress)  # fmt: skip
    assert results == [101, 102, 103, 140]
    assert len(finished) == 4


def test_map_runs_names_bad_input():
    with pytest.raises(ValueError, match="workers >= 1, got 0"):
        parallel.map_runs(operator.add, [(1,)], workers=0)


def test_workers_keep_tensorflows_notes_quiet():
    # in each spawned worker: getattr(logging.getLogger("tensorflow"), "level")
    levels = parallel.map_runs(getattr, [("level",), ("level",)], 2, setup=logging.getLogger, setup_args=("tensorflow",))  # fmt: skip
    assert levels == [logging.ERROR, logging.ERROR]
