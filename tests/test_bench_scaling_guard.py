"""The benchmarks' 2-thread guard (benchmarks/bench_harness.guard_scaling) on
made-up timings: it must fail an engine that serialises its threads or leaves
one idle, and pass one whose cores are SMT siblings that its kernel fills."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
if not (BENCHMARKS / "bench_harness.py").is_file():  # a wheel's test run copies tests/ alone
    pytest.skip("benchmarks/ is not beside tests/ here", allow_module_level=True)
sys.path.append(str(BENCHMARKS))  # last: nothing of tests/ is shadowed
import bench_harness as bh  # noqa: E402

ONE, TWO, HALVES = "engine 1 thread", "engine 2 threads", "engine halves side by side"
CONTROL_ONE, CONTROL_TWO = "hashlib 1 thread", "hashlib 2-thread pool"


def _judge(one: float, two: float, halves: float, control_one: float = 1.0,
           control_two: float = 0.55) -> list[bh.GuardResult]:
    case = bh.Case("made up")
    for name, seconds in ((ONE, one), (TWO, two), (HALVES, halves), (CONTROL_ONE, control_one),
                          (CONTROL_TWO, control_two)):
        case.times[name] = [seconds * 1.1, seconds]  # best round counts
    return bh.guard_scaling(case, TWO, ONE, HALVES, CONTROL_TWO, CONTROL_ONE)


def test_well_shared_work_passes() -> None:
    results = _judge(one=1.0, two=0.56, halves=0.57)
    assert [r.status for r in results] == ["PASS", "PASS"]


def test_a_kernel_that_fills_smt_siblings_passes() -> None:
    # The CI run that failed the old guard: the engine scaled 1.44x while
    # hashlib scaled 1.82x, its own halves no better than its 2 threads.
    results = _judge(one=1.0, two=1 / 1.44, halves=1 / 1.43, control_two=1 / 1.82)
    assert [r.status for r in results] == ["PASS", "PASS"]


@pytest.mark.parametrize("two, halves", [(1.0, 1.0), (0.98, 0.99)])
def test_a_serialised_engine_fails(two: float, halves: float) -> None:
    results = _judge(one=1.0, two=two, halves=halves)
    assert results[0].status == "FAIL"
    assert "2-thread engine scaling" in results[0].text


def test_a_worker_left_idle_fails() -> None:
    # The engine scales on halves, but hash_files' own 2 threads do not.
    results = _judge(one=1.0, two=0.75, halves=0.55)
    assert [r.status for r in results] == ["PASS", "FAIL"]


def test_no_second_core_is_not_judged() -> None:
    results = _judge(one=1.0, two=1.0, halves=1.0, control_two=0.95)
    assert [r.status for r in results] == ["SKIP", "SKIP"]
    assert all("no second core was free" in r.text for r in results)
