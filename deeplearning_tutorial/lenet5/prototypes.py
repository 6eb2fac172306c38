"""The hand-drawn prototypes of LeNet-5's output units, and C3's connection table.

Both are fixed by hand rather than learned: the prototypes are the ten
targets the RBF output layer measures distances to, and the table says which
S2 maps each C3 map sees.
"""

import numpy

# The hand-drawn prototypes of the RBF units: 12 rows of 7 cells per digit,
# '#' ink (+1) and '.' background (-1).  Drawn for this port on the 7x12
# grid the paper describes; they are not the paper's own bitmaps.
PROTOTYPES = {
    0: """
.......
..###..
.#...#.
#.....#
#.....#
#.....#
#.....#
#.....#
#.....#
.#...#.
..###..
.......""",
    1: """
.......
...#...
..##...
.#.#...
...#...
...#...
...#...
...#...
...#...
...#...
.#####.
.......""",
    2: """
.......
..###..
.#...#.
#.....#
......#
.....#.
....#..
...#...
..#....
.#.....
#######
.......""",
    3: """
.......
.####..
#....#.
......#
.....#.
..###..
.....#.
......#
......#
#....#.
.####..
.......""",
    4: """
.......
....#..
...##..
..#.#..
.#..#..
#...#..
#######
....#..
....#..
....#..
....#..
.......""",
    5: """
.......
#######
#......
#......
#.###..
##...#.
......#
......#
......#
#....#.
.####..
.......""",
    6: """
.......
...##..
..#....
.#.....
#......
#.###..
##...#.
#.....#
#.....#
.#...#.
..###..
.......""",
    7: """
.......
#######
......#
.....#.
.....#.
....#..
....#..
...#...
...#...
..#....
..#....
.......""",
    8: """
.......
..###..
.#...#.
#.....#
.#...#.
..###..
.#...#.
#.....#
#.....#
.#...#.
..###..
.......""",
    9: """
.......
..###..
.#...#.
#.....#
#.....#
.#...##
..###.#
......#
.....#.
....#..
..##...
.......""",
}


def prototype_bitmaps():
    """The ten RBF prototypes as a (10, 84) array of +-1, rows of 7 cells."""
    rows = []
    for digit in range(10):
        lines = PROTOTYPES[digit].strip().splitlines()
        assert len(lines) == 12 and all(len(line) == 7 for line in lines), digit
        rows.append([1.0 if c == "#" else -1.0 for c in "".join(lines)])
    return numpy.array(rows)


def c3_connections():
    """The paper's table of which S2 maps (rows) each C3 map (columns) sees.

    Maps 0-5 see three contiguous S2 maps, 6-11 four contiguous ones (S2
    maps wrap around: 5 is next to 0), 12-14 four maps that are not all
    contiguous, and map 15 all six.  Mixing subsets breaks the symmetry
    between C3 maps, so that they learn different features.
    """
    table = numpy.zeros((6, 16), dtype=bool)
    for m in range(6):
        table[[(m + i) % 6 for i in range(3)], m] = True
        table[[(m + i) % 6 for i in range(4)], 6 + m] = True
    for col, rows in zip((12, 13, 14), ((0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5))):
        table[list(rows), col] = True
    table[:, 15] = True
    return table
