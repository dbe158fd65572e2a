"""Byte-balanced batching (no cluster needed)."""
from __future__ import annotations

import random

import pytest

from cinev4.pipeline.dask_backend import plan_batches


@pytest.mark.parametrize("seed", range(5))
def test_every_index_once_in_order_and_balanced(seed: int) -> None:
    rng = random.Random(seed)
    weights = [rng.choice([0, 1, 100, 10_000, 8 << 20]) for _ in range(rng.randint(1, 400))]
    count = rng.randint(1, 40)
    batches = plan_batches(weights, count)
    assert sorted(i for b in batches for i in b) == list(range(len(weights))), f"seed {seed}"
    assert all(b == sorted(b) for b in batches)
    assert len(batches) <= min(count, len(weights))
    loads = [sum(weights[i] for i in b) for b in batches]
    # LPT: the heaviest batch exceeds the lightest by at most one file's weight.
    assert max(loads) - min(loads) <= max(weights), f"seed {seed}: {loads}"


def test_more_batches_than_files_gives_one_file_each() -> None:
    assert plan_batches([5, 3, 9], 10) == [[2], [0], [1]]


def test_one_batch_holds_everything() -> None:
    assert plan_batches([1, 2, 3], 1) == [[0, 1, 2]]
