"""The history of a run: one row per validation, kept for ``--history`` and the best model.

A validation row holds the epoch and minibatch, the validation error (%),
the test error of the new best model (%, or None when validation did not
improve), the mean training cost since the previous row, and the seconds of
training so far.  A chapter that prints a mean cost per epoch instead (the
autoencoders, the RBM, and the pretraining of SdA and DBN) gets a row per
such line: its phase, layer (when pretraining), epoch as printed, cost and
seconds.  Rows come from the lines the chapter prints (read by
`deeplearning_tutorial.logs`) and the costs from its training steps.
"""

import csv
import json
import timeit

from deeplearning_tutorial import data, logs


class RunRecord:
    """Rows of a run, built from its training steps and its printed lines.

    :param history_path: a ``.json`` or ``.csv`` file rewritten (atomically) after each row, or None
    :param on_row: called with the record after each new or completed row
    :param params: returns the model's shared variables; they are copied
        as the best model whenever a test error is printed (of a new best
        model, or of the model after an epoch when there is no validation)
    """

    def __init__(self, history_path=None, on_row=None, params=lambda: []):
        self.rows = []
        self.history_path = history_path
        self.on_row = on_row
        self.params = params
        self.costs = []
        self.best_params = None
        self.started = None
        self.earlier_s = 0.0  # training time of the run this one resumes

    def step(self, cost):
        if self.started is None:
            self.started = timeit.default_timer()
        self.costs.append(float(cost))

    def elapsed(self):
        now = timeit.default_timer() - self.started if self.started is not None else 0.0
        return round(self.earlier_s + now, 3)

    def state(self):
        return {"rows": self.rows, "costs": self.costs, "elapsed_s": self.elapsed()}

    def restore(self, state, best_params):
        self.rows, self.costs, self.earlier_s = state["rows"], state["costs"], state["elapsed_s"]
        self.best_params = best_params

    def line(self, text):
        """Take one printed line into the record."""
        line = logs.parse(text)
        if line.kind in ("validation", "iteration_validation", "epoch_test"):
            self.rows.append(
                {
                    # logistic_cg's lines name no epoch: one line per iteration.
                    "epoch": line.values.get("epoch", len(self.rows) + 1),
                    "minibatch": line.values.get("minibatch"),
                    "validation_error": line.values["error"] if line.kind != "epoch_test" else None,
                    "test_error": line.values["error"] if line.kind == "epoch_test" else None,
                    "train_cost": sum(self.costs) / len(self.costs) if self.costs else None,
                    "elapsed_s": self.elapsed(),
                }
            )
            self.costs = []
            if line.kind == "epoch_test":
                self.best_params = [p.get_value() for p in self.params()]
            self.updated()
        elif line.kind in ("epoch_cost", "epoch_contraction", "pretraining_cost"):
            # The autoencoders and RBMs print a mean cost per epoch; SdA and
            # DBN do so for each layer's pretraining before fine-tuning.
            row = {"phase": "pretraining" if line.kind == "pretraining_cost" else "training"}
            row |= line.values | {"elapsed_s": self.elapsed()}
            self.rows.append(row)
            self.costs = []
            self.updated()
        elif line.kind == "test" and self.rows:
            self.rows[-1]["test_error"] = line.values["error"]
            self.best_params = [p.get_value() for p in self.params()]
            self.updated()

    def best_validation(self):
        errors = [r["validation_error"] for r in self.rows if r.get("validation_error") is not None]
        return min(errors) if errors else None

    def updated(self):
        if self.history_path:
            write_history(self.history_path, self.rows)
        if self.on_row:
            self.on_row(self)


def write_history(path, rows):
    """Write the rows as JSON or CSV (by extension), atomically."""
    with data.atomic_write(path) as tmp, open(tmp, "w", newline="") as f:
        if path.lower().endswith(".csv"):
            # Rows of several kinds (pretraining costs, then validations) share one table.
            fields = list(dict.fromkeys(key for row in rows for key in row)) or ["epoch"]
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
        else:
            json.dump(rows, f, indent=1)
            f.write("\n")
