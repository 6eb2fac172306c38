"""Tests of deeplearning_tutorial.ops.threads: blocks of a loop on every core."""

import threading

import pytest

from deeplearning_tutorial.ops import threads


def ranges_covered(n_items, monkeypatch, n_threads):
    monkeypatch.setattr(threads, "THREADS", n_threads)
    seen, names, lock = [], set(), threading.Lock()

    def kernel(tag, first, stop):
        with lock:
            seen.append((tag, first, stop))
            names.add(threading.current_thread().name)

    threads.split(kernel, n_items, "tag")
    return sorted(seen), names


@pytest.mark.parametrize("n_threads", [1, 2, 3])
@pytest.mark.parametrize("n_items", [0, 1, 2, 7, 100])
def test_the_ranges_cover_every_item_once_in_order(n_items, n_threads, monkeypatch):
    seen, _ = ranges_covered(n_items, monkeypatch, n_threads)
    assert all(tag == "tag" and first < stop for tag, first, stop in seen)
    covered = [item for _, first, stop in seen for item in range(first, stop)]
    assert covered == list(range(n_items))
    assert len(seen) <= max(1, n_threads * threads._BLOCKS_PER_THREAD)


def test_one_thread_runs_everything_on_the_caller_in_one_call(monkeypatch):
    seen, names = ranges_covered(10, monkeypatch, 1)
    assert seen == [("tag", 0, 10)]
    assert names == {threading.current_thread().name}


def test_an_exception_in_a_block_is_raised_to_the_caller_after_the_others_finish(monkeypatch):
    monkeypatch.setattr(threads, "THREADS", 2)
    done = []

    def kernel(first, stop):
        if first == 0:
            raise ValueError("block 0 failed")
        done.append(first)

    with pytest.raises(ValueError, match="block 0 failed"):
        threads.split(kernel, 8)
    # Every other block still ran: no thread is left working on shared buffers.
    assert sorted(done) == list(range(1, 8))


@pytest.mark.parametrize("n_items, grain, ranges", [(100, 30, 3), (100, 1, 8), (20, 30, 1), (0, 30, 0)])
def test_each_range_holds_at_least_grain_items(n_items, grain, ranges, monkeypatch):
    monkeypatch.setattr(threads, "THREADS", 2)
    seen = []
    threads.split(lambda first, stop: seen.append((first, stop)), n_items, grain=grain)
    assert len(seen) == ranges
    assert sorted(item for first, stop in seen for item in range(first, stop)) == list(range(n_items))
    assert all(stop - first >= min(grain, n_items) for first, stop in seen)
