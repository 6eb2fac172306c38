"""Tests of deeplearning_tutorial.ops.threads: blocks of a loop on every core."""

import threading
import time

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


def test_without_a_team_the_work_runs_on_the_calling_thread(monkeypatch):
    monkeypatch.setattr(threads, "numba_team", lambda: False)
    assert threads.on_team_if_faster("kind", lambda: "team", lambda: "alone") == "alone"


def timed_ways(slow_until, n_calls, monkeypatch):
    """Which way each of ``n_calls`` calls took, when ``slow_until(i)`` names the way that sleeps at call i."""
    monkeypatch.setattr(threads, "numba_team", lambda: True)
    monkeypatch.setattr(threads, "_timings", {})
    taken = []

    def way(name):
        def run():
            if name == slow_until(len(taken)):
                time.sleep(0.002)
            taken.append(name)
            return len(taken)

        return run

    results = [threads.on_team_if_faster(("kind", 10), way("team"), way("alone")) for _ in range(n_calls)]
    assert results == list(range(1, n_calls + 1))
    return taken


@pytest.mark.parametrize("slow", ["team", "alone"])
def test_the_faster_way_is_taken_and_the_other_timed_once_in_64_calls(slow, monkeypatch):
    taken = timed_ways(lambda i: slow, 300, monkeypatch)
    # each way twice first (the first call of each is not timed)
    assert taken[:4] == ["team", "team", "alone", "alone"]
    # then the faster, but at calls 64, 128, 192 and 256
    assert [i + 1 for i, way in enumerate(taken) if i >= 4 and way == slow] == [64, 128, 192, 256]


def test_a_way_that_becomes_the_faster_is_taken_again(monkeypatch):
    # the team is slow for 150 calls (another program on the second core), then fast
    taken = timed_ways(lambda i: "team" if i < 150 else "alone", 400, monkeypatch)
    assert [i + 1 for i in range(100, 150) if taken[i] == "team"] == [128]  # a probe
    assert taken[250:].count("team") > 140
