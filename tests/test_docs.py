"""The documentation site covers every chapter, and what its pages include exists.

Fast checks on the Markdown sources, without building the site (CI builds it with
``sphinx-build -W -n`` after the tests): each chapter in ``tutorials.TUTORIALS`` has a
page that shows its training function from the module itself, and every file, Python
object and picture that a page includes is there.
"""

import ast
import re
from pathlib import Path

import pytest

from deeplearning_tutorial import tutorials

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# The site's pages: a chapter page is built once its chapter is in TUTORIALS (docs/conf.py).
PAGES = sorted(
    p
    for p in DOCS.rglob("*.md")
    if "_build" not in p.parts and (p.parent.name != "chapters" or p.stem in tutorials.TUTORIALS)
)

# ```{literalinclude} PATH  followed by its option lines (":name: value").
LITERALINCLUDE = re.compile(r"```\{literalinclude\}\s+(\S+)\s*\n((?::[\w-]+:.*\n)*)")
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
# ```{image} PATH  (a picture shown with options, such as an enlarged filter image).
IMAGE_DIRECTIVE = re.compile(r"```\{image\}\s+(\S+)")


def includes(page):
    """(path, options) of each literalinclude on ``page``, the path resolved from the page's folder."""
    found = []
    for match in LITERALINCLUDE.finditer(page.read_text()):
        options = dict(re.findall(r":([\w-]+):\s*(.*)", match.group(2)))
        found.append(((page.parent / match.group(1)).resolve(), options))
    return found


def defined_names(path):
    """Top-level functions and classes of a Python file, and the methods of its classes as Class.method."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        if isinstance(node, ast.ClassDef):
            names |= {f"{node.name}.{n.name}" for n in node.body if isinstance(n, ast.FunctionDef)}
    return names


def chapter_sources(name):
    """The chapter's module file, or the files of its package."""
    package = ROOT / "deeplearning_tutorial" / name
    return sorted(package.rglob("*.py")) if package.is_dir() else [package.with_suffix(".py")]


@pytest.mark.parametrize("name", list(tutorials.TUTORIALS))
def test_every_chapter_has_a_page_that_includes_its_training_function(name):
    page = DOCS / "chapters" / f"{name}.md"
    assert page.is_file(), f"chapter {name!r} is in tutorials.TUTORIALS but has no page: write {page}"
    shown = {(path, options.get("pyobject")) for path, options in includes(page)}
    sources = set(chapter_sources(name))
    assert any(path in sources and obj == tutorials.TUTORIALS[name] for path, obj in shown), (
        f"{page} does not include {tutorials.TUTORIALS[name]} from the {name} module with literalinclude :pyobject:"
    )


def test_the_index_lists_the_chapters_from_the_package():
    index = (DOCS / "index.md").read_text()
    assert re.search(r"```\{toctree\}[^`]*\n@chapters\n", index), "the sidebar's chapters come from TUTORIALS"
    assert "```{chapter-table}" in index, "the index's table of chapters comes from TUTORIALS"


@pytest.mark.parametrize("name", list(tutorials.TUTORIALS))
def test_every_chapter_page_gives_the_index_its_summary_and_test_error(name):
    page = DOCS / "chapters" / f"{name}.md"
    head = page.read_text().split("---\n")
    assert head[0] == "" and len(head) > 2, f"{page.name} must open with front matter between --- lines"
    fields = dict(line.split(":", 1) for line in head[1].strip().split("\n"))
    assert fields.get("summary", "").strip(), f"{page.name}: no summary for the index"
    assert re.fullmatch(r" (\d+\.\d+ %|unsupervised)", fields.get("test_error", "")), (
        f"{page.name}: test_error must read like 0.92 %, or be 'unsupervised' for a chapter without labels"
    )


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_included_files_and_objects_exist(page):
    for path, options in includes(page):
        assert path.is_file(), f"{page.name} includes {path}, which does not exist"
        if "pyobject" in options:
            assert options["pyobject"] in defined_names(path), (
                f"{page.name} includes {options['pyobject']} from {path.name}, which does not define it"
            )


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_pictures_exist(page):
    text = page.read_text()
    for target in IMAGE.findall(text) + IMAGE_DIRECTIVE.findall(text):
        if "://" not in target:
            assert (page.parent / target).is_file(), f"{page.name} shows {target}, which does not exist"


def test_math_is_served_by_the_site_itself():
    conf = (DOCS / "conf.py").read_text()
    assert '"sphinx-mathjax-offline"' in conf
    assert re.search(r'^mathjax_path = "mathjax/', conf, re.M), "MathJax must load from the site's _static folder"
