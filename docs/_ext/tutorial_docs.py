"""Sphinx extension for this site: command-line help generated from the parsers, and the
toctree entries that follow the package's list of chapters.

- ``{chapter-help}`` shows ``--help`` of every chapter in ``tutorials.TUTORIALS``, from
  ``cli.build_parser(name)``, so the page and the command line cannot disagree; with an
  argument, of that chapter only.
- ``{chapter-table}`` is the index's table of chapters: for each chapter in the list, its
  page's title and the ``summary`` and ``test_error`` of its front matter (a percentage, or
  ``unsupervised`` for a chapter that trains without labels and so has none).
- ``{command-help} predict`` shows ``python -m deeplearning_tutorial.predict --help``,
  run in a child process (the commands build their parsers inside ``main``).
- In a toctree, the line ``@chapters`` becomes one entry per chapter
  (``chapters/<name>``), and ``@optional NAME ...`` lists those of the named pages
  that exist: pages other branches write (speed, design, lenet5) join the site when
  their file is there, and the build passes without them.
"""

import os
import subprocess
import sys
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

DOCS = Path(__file__).resolve().parent.parent


def _chapters():
    from deeplearning_tutorial import tutorials

    return list(tutorials.TUTORIALS)


def _help_block(title, text):
    block = nodes.literal_block(text, text)
    block["language"] = "text"
    return [nodes.rubric(title, title), block]


class ChapterHelp(SphinxDirective):
    """The ``--help`` of one chapter, or of each chapter in the package's list."""

    optional_arguments = 1

    def run(self):
        from deeplearning_tutorial import cli

        names = self.arguments or _chapters()
        out = []
        for name in names:
            text = cli.build_parser(name).format_help()
            out += _help_block(f"python -m deeplearning_tutorial.{name}", text)
        return out


class CommandHelp(SphinxDirective):
    """The ``--help`` of a command module, run as the user would run it."""

    required_arguments = 1

    def run(self):
        module = f"deeplearning_tutorial.{self.arguments[0]}"
        env = dict(os.environ, COLUMNS="66", PYTHONPATH=str(DOCS.parent))
        done = subprocess.run(
            [sys.executable, "-m", module, "--help"], capture_output=True, text=True, env=env, cwd=DOCS.parent
        )
        if done.returncode != 0:
            raise self.error(f"python -m {module} --help failed:\n{done.stderr}")
        return _help_block(f"python -m {module}", done.stdout)


def _front_matter(page):
    """The ``key: value`` lines between the ``---`` lines that open a page, and its first title."""
    lines = page.read_text().split("\n")
    fields = {}
    if lines and lines[0] == "---":
        end = lines.index("---", 1)
        for line in lines[1:end]:
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
    fields["title"] = next(line[2:] for line in lines if line.startswith("# "))
    return fields


class ChapterTable(SphinxDirective):
    """A table of the chapters in the package's list: title, ``summary`` and ``test_error`` from each page."""

    def run(self):
        rows = ["| chapter | what it adds | test error |", "| --- | --- | ---: |"]
        for name in _chapters():
            page = DOCS / "chapters" / f"{name}.md"
            if not page.is_file():
                raise self.error(f"chapter {name!r} has no page: write {page}")
            # the table shows other pages' front matter: rebuild the index when one of them changes
            self.env.note_dependency(str(page))
            fields = _front_matter(page)
            missing = {"summary", "test_error"} - set(fields)
            if missing:
                raise self.error(f"{page} lacks {', '.join(sorted(missing))} in its front matter")
            error = fields["test_error"].replace(" %", "\u00a0%")
            rows.append(f"| [{fields['title']}](chapters/{name}.md) | {fields['summary']} | {error} |")
        container = nodes.container()
        self.state.nested_parse(StringList(rows, source=self.get_source_info()[0]), self.content_offset, container)
        return container.children


def _expand_toctree_markers(app, docname, source):
    lines = []
    for line in source[0].split("\n"):
        word = line.strip()
        indent = line[: len(line) - len(line.lstrip())]
        if word == "@chapters":
            lines += [f"{indent}chapters/{name}" for name in _chapters()]
        elif word.startswith("@optional "):
            lines += [f"{indent}{n}" for n in word.split()[1:] if (DOCS / f"{n}.md").is_file()]
        else:
            lines.append(line)
    source[0] = "\n".join(lines)


def setup(app):
    app.add_directive("chapter-help", ChapterHelp)
    app.add_directive("command-help", CommandHelp)
    app.add_directive("chapter-table", ChapterTable)
    app.connect("source-read", _expand_toctree_markers)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
