"""LeNet-5's hand-drawn pieces: the output prototypes and C3's connection table."""

import numpy

from deeplearning_tutorial.lenet5.prototypes import c3_connections, prototype_bitmaps


def test_c3_table():
    table = c3_connections()  # rows: S2 maps, columns: C3 maps
    sizes = table.sum(axis=0)
    assert list(sizes) == [3] * 6 + [4] * 6 + [4] * 3 + [6]

    def contiguous(rows):
        # Contiguous on the circle of six maps.
        return any(set(rows) == {(s + i) % 6 for i in range(len(rows))} for s in range(6))

    for m in range(12):
        assert contiguous(numpy.flatnonzero(table[:, m])), m
    for m in (12, 13, 14):
        assert not contiguous(numpy.flatnonzero(table[:, m])), m
    # Every S2 map feeds the same number of C3 maps (10).
    assert list(table.sum(axis=1)) == [10] * 6


def test_prototypes_are_ten_distinct_bitmaps():
    p = prototype_bitmaps()
    assert p.shape == (10, 84)
    assert set(numpy.unique(p)) == {-1.0, 1.0}
    # Distinct enough that no two digits are confused at rest: at least 8
    # cells differ between any two prototypes.
    diff = (p[:, None, :] != p[None, :, :]).sum(axis=2)
    assert diff[~numpy.eye(10, dtype=bool)].min() >= 8
