from __future__ import annotations

import numpy as np

from semkit.index.lookup import lookup, rowid_table


def test_lookup_matches_a_sorted_search_and_answers_minus_one_for_unknown_keys():
    rng = np.random.default_rng(0)
    keys = np.sort(rng.choice(5000, 700, replace=False))  # sparse, as after deletions
    values = rng.integers(0, 10**9, len(keys))
    table = rowid_table(keys, values)
    asked = np.concatenate(
        [rng.choice(keys, 300), [-1, -7, 5000, 10**7], rng.integers(0, 5000, 300)]
    )
    pos = np.searchsorted(keys, asked)
    present = (pos < len(keys)) & (keys[np.minimum(pos, len(keys) - 1)] == asked)
    expected = np.where(present, values[np.minimum(pos, len(keys) - 1)], -1)
    assert np.array_equal(lookup(table, asked), expected)
    assert np.array_equal(lookup(table, asked.reshape(-1, 4)), expected.reshape(-1, 4))


def test_an_empty_table_knows_no_key():
    table = rowid_table(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    assert lookup(table, np.array([0, 3, -1])).tolist() == [-1, -1, -1]
