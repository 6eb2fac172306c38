"""The tutorial's convolution and pooling demonstrations."""

import re

import numpy
import pytest

from deeplearning_tutorial import demos

# Printed by the max-pool demo of the seed article 001 ("With ignore_border
# set to True / False"), copied from its output.
ARTICLE_INVALS_0 = [
    [4.17022005e-01, 7.20324493e-01, 1.14374817e-04, 3.02332573e-01, 1.46755891e-01],
    [9.23385948e-02, 1.86260211e-01, 3.45560727e-01, 3.96767474e-01, 5.38816734e-01],
    [4.19194514e-01, 6.85219500e-01, 2.04452250e-01, 8.78117436e-01, 2.73875932e-02],
    [6.70467510e-01, 4.17304802e-01, 5.58689828e-01, 1.40386939e-01, 1.98101489e-01],
    [8.00744569e-01, 9.68261576e-01, 3.13424178e-01, 6.92322616e-01, 8.76389152e-01],
]
ARTICLE_OUTPUT_0 = [[0.72032449, 0.39676747], [0.6852195, 0.87811744]]
ARTICLE_INVALS_1 = [
    [0.01936696, 0.67883553, 0.21162812, 0.26554666, 0.49157316],
    [0.05336255, 0.57411761, 0.14672857, 0.58930554, 0.69975836],
    [0.10233443, 0.41405599, 0.69440016, 0.41417927, 0.04995346],
    [0.53589641, 0.66379465, 0.51488911, 0.94459476, 0.58655504],
    [0.90340192, 0.1374747, 0.13927635, 0.80739129, 0.39767684],
]
ARTICLE_OUTPUT_1 = [
    [0.67883553, 0.58930554, 0.69975836],
    [0.66379465, 0.94459476, 0.58655504],
    [0.90340192, 0.80739129, 0.39767684],
]

NUMBER = re.compile(r"-?\d+\.\d*(?:e[-+]\d+)?")


def test_pool_demo_prints_the_articles_arrays(capsys):
    assert demos.main(["pool"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "With ignore_border set to True:"
    assert "With ignore_border set to False:" in lines
    numbers = [float(n) for n in NUMBER.findall(out)]
    expected = [
        v
        for block in (ARTICLE_INVALS_0, ARTICLE_OUTPUT_0, ARTICLE_INVALS_1, ARTICLE_OUTPUT_1)
        for row in block
        for v in row
    ]
    assert len(numbers) == len(expected) == 25 + 4 + 25 + 9
    # The same digits as printed (8 significant digits): the printed text
    # itself, not just the values, is the article's.
    for got, want, text in zip(numbers, expected, NUMBER.findall(out)):
        assert abs(got - want) <= 5e-9 * max(1.0, abs(want)) or abs(got - want) / abs(want) < 5e-9, (text, want)


def test_pool_demo_outputs():
    out_true, out_false = demos.pool_demo()
    assert out_true.shape == (2, 2) and out_false.shape == (3, 3)
    numpy.testing.assert_allclose(out_true, ARTICLE_OUTPUT_0, atol=5e-9)
    numpy.testing.assert_allclose(out_false, ARTICLE_OUTPUT_1, atol=5e-9)


def test_conv_demo(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "conv.png"
    assert demos.main(["conv", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["conv.png"]  # no temporary file left


def test_conv_filters_follow_the_article():
    W, b = demos.conv_filters(numpy.random.RandomState(23455))
    assert W.shape == (2, 3, 9, 9) and b.shape == (2,)
    assert numpy.abs(W).max() <= 1 / numpy.sqrt(243) and numpy.abs(b).max() <= 0.5


def test_filter_image_is_a_sigmoid_of_a_valid_convolution():
    rng = numpy.random.RandomState(0)
    img = rng.uniform(0, 1, (12, 11, 3))
    got = demos.filter_image(img)
    assert got.shape == (2, 4, 3)
    W, b = demos.conv_filters(numpy.random.RandomState(23455))
    # A true convolution: the kernels are flipped.
    x = img.transpose(2, 0, 1)
    want = numpy.empty((2, 4, 3))
    for f in range(2):
        for r in range(4):
            for c in range(3):
                want[f, r, c] = (x[:, r : r + 9, c : c + 9] * W[f, :, ::-1, ::-1]).sum() + b[f]
    numpy.testing.assert_allclose(got, 1 / (1 + numpy.exp(-want)), rtol=1e-12)


def test_unknown_demo(capsys):
    with pytest.raises(SystemExit) as e:
        demos.main(["fft"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "fft" in err


# LeCun et al. 1998, section II-B: trainable parameters and connections per layer.
PUBLISHED = {
    "C1": (156, 122304),
    "S2": (12, 5880),
    "C3": (1516, 151600),
    "S4": (32, 2000),
    "C5": (48120, 48120),
    "F6": (10164, 10164),
}


def test_lenet5_summary_prints_the_papers_counts(capsys):
    assert demos.main(["lenet5-summary"]) == 0
    out = capsys.readouterr().out
    # Columns are separated by two spaces or more; thousands by one.
    cells = [re.split(r"\s{2,}", line.strip()) for line in out.splitlines()[1:]]
    numbers = {row[0]: [int(n.replace(" ", "")) for n in row[-2:]] for row in cells}
    for name, (params, conns) in PUBLISHED.items():
        assert numbers[name] == [params, conns], (name, out)
    assert numbers["total"] == [60000, 340908]


def test_lenet5_summary_of_a_variant(capsys):
    rows = demos.lenet5_summary("keras")
    assert rows[-1][2] == 44426  # the Keras article's model.summary() total
    assert "44 426" in capsys.readouterr().out


def test_lenet5_summary_of_an_unknown_variant(capsys):
    with pytest.raises(SystemExit) as e:
        demos.main(["lenet5-summary", "--variant", "caffe"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "caffe" in err and "keras" in err


def test_prototypes_demo(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "prototypes.png"
    assert demos.main(["prototypes", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["prototypes.png"]
    assert capsys.readouterr().out == f"wrote {out}\n"


def test_prototypes_without_matplotlib(monkeypatch, tmp_path, capsys):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    assert demos.main(["prototypes", "--out", str(tmp_path / "p.png")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "plots" in err and "matplotlib" in err
    assert list(tmp_path.iterdir()) == []
