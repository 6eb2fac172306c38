"""Sphinx configuration of the deeplearning_tutorial documentation site.

Build: ``sphinx-build -W -n --keep-going -b html docs docs/_build/html``
(the ``docs`` extra installs what it needs). The pages are MyST Markdown, so
they also read as plain Markdown on a code host.
"""

import logging
import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# The package documented is the one in this checkout, not an installed copy.
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS / "_ext"))
# The command-line help shown on the pages is wrapped at a fixed width, narrow enough that
# argparse starts each usage line at the left margin and a phone shows most of a line.
os.environ["COLUMNS"] = "66"
# PyTensor reports each config option it registers twice at INFO level; the build log
# should show only what needs attention.
logging.getLogger("pytensor.configparser").setLevel(logging.WARNING)

project = "deeplearning_tutorial"
author = "the deeplearning_tutorial authors"
copyright = "the deeplearning_tutorial authors; BSD-3-Clause"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    # MathJax 3 shipped inside a PyPI wheel and copied into _static: math
    # renders from the built site's own files, with no network.
    "sphinx-mathjax-offline",
    "tutorial_docs",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "README.md", "Thumbs.db", ".DS_Store"]
# A chapter page joins the site when its chapter is in the package's list (the page can be
# written before the chapter's branch lands; tests/test_docs.py applies the same rule).
from deeplearning_tutorial import tutorials  # noqa: E402

exclude_patterns += [
    f"chapters/{page.stem}.md" for page in (DOCS / "chapters").glob("*.md") if page.stem not in tutorials.TUTORIALS
]

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
# Headings up to ### get anchors, so links like usage.md#data work here as on a code host.
myst_heading_anchors = 3

# MathJax comes from the build's own _static folder (see sphinx-mathjax-offline). Its SVG output
# draws the glyphs as paths: no web fonts to load, which browsers may refuse from file:// pages.
mathjax_path = "mathjax/tex-svg.js"

autodoc_typehints = "none"
autodoc_member_order = "bysource"
napoleon_numpy_docstring = True
napoleon_google_docstring = False
# The ops document their argument types in words (''4-d tensor (batch, channels, rows, cols)''), not as
# classes to cross-reference: render them as text.
napoleon_use_param = False
napoleon_use_rtype = False

html_theme = "furo"
html_title = "Deep Learning Tutorials on PyTensor"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
# Tables too wide for a phone are shown row by row (see _static/tables.js).
html_js_files = ["tables.js"]
html_theme_options = {
    "navigation_with_keys": True,
}
html_show_sourcelink = False

# Every warning is an error in CI (-W); -n also reports every unresolved reference.
nitpicky = True
