"""`clearway risk ...`: the learned model's commands.

    clearway risk evaluate --train kcs-synthetic-train.csv --test kcs-synthetic-valid.csv
    clearway risk train          # a new model version from the labels in the risk database
    clearway risk report [--json]

`train` and `report` use the risk database of `--data-dir` (or RISK_DATABASE_URL) and the model
folder RISK_MODEL_DIR (default: <data-dir>/risk-models), as `clearway up` does.

Problems with the files given exit with code 2 and one line naming the file, line and column.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_USAGE = 2


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `risk evaluate|train|report` to the `clearway` command's subparsers."""
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
    train_parser = commands.add_parser(
        "train",
        help="train a new model version from the inspection labels in the risk database",
        description="Rebuild features from the stored assessments, train on the labelled ones,"
        " compare the new model with the current one on the latest labels (a held-out time"
        " slice), save it under the model folder and make it current when it is at least as"
        " good. Running workers load the current model when they start.",
    )
    train_parser.add_argument("--version", help="the new version's name (default: the time)")
    train_parser.add_argument(
        "--no-promote", action="store_true", help="save the model without making it current"
    )
    train_parser.set_defaults(func=train)
    report_parser = commands.add_parser(
        "report", help="each rule's hit rate and precision, and score drift"
    )
    report_parser.add_argument("--json", action="store_true", help="print JSON")
    report_parser.set_defaults(func=report)


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


def _places(args: argparse.Namespace) -> tuple[str, Path]:
    import os

    from clearway.cli import database_url

    data_dir = Path(args.data_dir)
    model_dir = os.environ.get("RISK_MODEL_DIR") or str(data_dir / "risk-models")
    return database_url("risk", "RISK_", data_dir), Path(model_dir)


def train(args: argparse.Namespace) -> int:
    """Train a new model version from the stored labels; print the comparison."""
    from datetime import UTC, datetime

    from clearway.database import make_engine
    from risk.training import NotEnoughLabels, render
    from risk.training import train as run

    url, model_dir = _places(args)
    version = args.version or datetime.now(UTC).strftime("model-%Y%m%dT%H%M%S")
    engine = make_engine(url)
    try:
        result = run(engine, model_dir, version=version, promote=not args.no_promote)
    except NotEnoughLabels as exc:
        return _fail(f"cannot train: {exc}")
    finally:
        engine.dispose()
    print(render(result), flush=True)
    return 0


def report(args: argparse.Namespace) -> int:
    """Print each rule's hit rate and precision, and the score drift."""
    import json

    from clearway.database import make_engine
    from risk.report import render
    from risk.report import report as build
    from risk.scoring import current_model

    url, model_dir = _places(args)
    engine = make_engine(url)
    try:
        data = build(engine, current_model(str(model_dir)))
    finally:
        engine.dispose()
    print(json.dumps(data, indent=1) if args.json else render(data), flush=True)
    return 0
