"""`clearway risk ...`: the learned model's commands.

    clearway risk evaluate --train kcs-synthetic-train.csv --test kcs-synthetic-valid.csv

Problems with the files given exit with code 2 and one line naming the file, line and column.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_USAGE = 2


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `risk evaluate` to the `clearway` command's subparsers (each sets `func`)."""
    risk_parser = subparsers.add_parser("risk", help="the learned risk model")
    commands = risk_parser.add_subparsers(dest="risk_command", required=True)
    evaluate_parser = commands.add_parser(
        "evaluate",
        help="train on KCS synthetic declaration files and print the figures on a test file",
        description="Map the Korea Customs Service synthetic import declarations onto the"
        " model's features, train on the --train files only (threshold chosen on their latest"
        " rows), and print AUC, accuracy, precision/recall/F1 (macro and fraud class) and"
        " precision/recall at inspection rates of 1, 2, 5 and 10%% on the --test file.",
    )
    evaluate_parser.add_argument(
        "--train", action="append", required=True, metavar="FILE", help="a training CSV"
    )
    evaluate_parser.add_argument("--test", required=True, metavar="FILE", help="the test CSV")
    evaluate_parser.set_defaults(func=evaluate)


def _fail(message: str) -> int:
    print(f"clearway risk: {message}", file=sys.stderr)
    return EXIT_USAGE


def evaluate(args: argparse.Namespace) -> int:
    """Train on the training files, print the test file's figures."""
    from risk.model.evaluate import evaluate as run
    from risk.model.evaluate import render
    from risk.model.kcs import KcsRowInvalid

    paths = [Path(p) for p in [*args.train, args.test]]
    for path in paths:
        if not path.is_file():
            return _fail(f"{path}: no such file")
    try:
        result = run(paths[:-1], paths[-1])
    except KcsRowInvalid as exc:
        return _fail(str(exc))
    print(render(result), flush=True)
    return 0
