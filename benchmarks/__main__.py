"""``python -m benchmarks SUBCOMMAND [options]``: the benchmarks' one entry point (see `benchmarks`)."""

import importlib
import sys

#: Subcommand -> the module whose ``main(argv)`` runs it.
COMMANDS = {
    "run": "benchmarks.run",
    "steps": "benchmarks.steps",
    "render": "benchmarks.render",
    "step-time": "benchmarks.step_time",
    "jax-call": "benchmarks.jax_call",
    "jax-conv": "benchmarks.jax_conv",
}

USAGE = "usage: python -m benchmarks {" + ",".join(COMMANDS) + "} [options]  (SUBCOMMAND --help for its options)"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        out = sys.stdout if argv else sys.stderr
        print(USAGE, file=out)
        print(sys.modules["benchmarks"].__doc__.split("\n\n", 1)[1].rstrip(), file=out)
        sys.exit(0 if argv else 2)
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"error: no subcommand {command!r}; choose one of {', '.join(COMMANDS)}", file=sys.stderr)
        sys.exit(2)
    importlib.import_module(COMMANDS[command]).main(rest)


if __name__ == "__main__":
    main()
