"""The layout `deeplearning_tutorial.link` describes: backend trees mirror the ops, which import no mode."""

import ast
import pathlib

import deeplearning_tutorial

PACKAGE = pathlib.Path(deeplearning_tutorial.__file__).parent
# Shared helpers of a backend's op implementations, not implementations of an op module.
HELPERS = {"__init__", "basic"}


def modules(folder):
    return {path.stem for path in folder.glob("*.py")}


def test_each_backend_implements_op_modules_under_their_names():
    ops = modules(PACKAGE / "ops")
    for backend in ("numba", "jax"):
        implemented = modules(PACKAGE / "link" / backend / "ops") - HELPERS
        assert implemented, backend
        assert implemented <= ops, (backend, implemented - ops)
        assert {"conv", "pool"} <= implemented, backend


def test_the_ops_import_no_mode():
    """The ops compute the same under every mode: nothing in ops/ imports from link/ or modes."""
    for path in (PACKAGE / "ops").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                assert not name.startswith(("deeplearning_tutorial.link", "deeplearning_tutorial.modes")), (path, name)
