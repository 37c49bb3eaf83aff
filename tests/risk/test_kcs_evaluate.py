"""The KCS CSV mapping and `clearway risk evaluate` on a small slice of the real files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from clearway.cli import main
from risk.model.kcs import KcsRowInvalid, read_files, read_rows
from tests.support import SHARED

DATA = SHARED / "risk-data"


def _slice(source: Path, target: Path, rows: int, *, change: dict[str, str] | None = None) -> Path:
    with source.open(newline="") as handle:
        reader = csv.DictReader(handle)
        kept = [row for _, row in zip(range(rows), reader, strict=False)]
        fields = reader.fieldnames
    assert fields is not None
    if change:
        kept[1] = {**kept[1], **change}
    with target.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(kept)
    return target


def test_a_kcs_row_maps_onto_the_platform_roles(tmp_path):
    (row, *_) = read_rows(_slice(DATA / "kcs-synthetic-train.csv", tmp_path / "t.csv", 3))
    d = row.declared
    assert (d.hs_code, d.origin_country, d.departure_country) == ("440890", "BE", "BE")
    assert d.parties == {"importer": "QLRUBN9", "seller": "0VKY2BR", "declarant": "ZZR1LT6"}
    assert (d.value, d.net_mass_kg, d.tax_rate, d.transport_mode) == (372254.4, 108.0, 0.0, "10")
    assert row.fraud is False


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"Net Mass": "heavy"}, "line 3, column 'Net Mass': 'heavy' is not a number"),
        ({"Item Price": "-5"}, "line 3, column 'Item Price': '-5' must be a number >= 0"),
        ({"Item Price": ""}, "line 3, column 'Item Price': a number is required"),
        ({"Date": "2020-13-01"}, "line 3, column 'Date': '2020-13-01' is not a date"),
        ({"HS6 Code": "44AB"}, "line 3, column 'HS6 Code': '44AB' is not a 6-digit HS code"),
        ({"Fraud": "yes"}, "line 3, column 'Fraud': 'yes' must be 0 or 1"),
    ],
)
def test_a_bad_row_names_its_line_and_column(tmp_path, change, message):
    path = _slice(DATA / "kcs-synthetic-train.csv", tmp_path / "bad.csv", 3, change=change)
    with pytest.raises(KcsRowInvalid, match=message):
        read_files([path])


def test_a_file_without_a_column_names_it(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("Declaration ID,Date\n1,2020-01-01\n")
    with pytest.raises(KcsRowInvalid, match=r"missing column.*'Office ID'"):
        read_files([path])


def test_evaluate_trains_on_a_slice_and_prints_every_figure(tmp_path, capsys):
    train = _slice(DATA / "kcs-synthetic-train.csv", tmp_path / "train.csv", 1500)
    test = _slice(DATA / "kcs-synthetic-valid.csv", tmp_path / "test.csv", 400)
    assert main(["risk", "evaluate", "--train", str(train), "--test", str(test)]) == 0
    out = capsys.readouterr().out
    for figure in (
        "AUC",
        "accuracy",
        "macro ",
        "fraud class",
        "at   1% inspected",
        "at   2% inspected",
        "at   5% inspected",
        "at  10% inspected",
        "threshold",
        "latest 20% of the training rows",
        "total",
    ):
        assert figure in out, figure
    assert "test:     400 rows" in out
    auc_line = next(line for line in out.splitlines() if line.strip().startswith("AUC"))
    assert 0.5 < float(auc_line.split()[-1]) <= 1.0  # a real signal, even on a small slice


def test_evaluate_refuses_a_bad_file_with_one_line(tmp_path, capsys):
    train = _slice(DATA / "kcs-synthetic-train.csv", tmp_path / "train.csv", 100)
    bad = _slice(DATA / "kcs-synthetic-valid.csv", tmp_path / "b.csv", 5, change={"Fraud": "2"})
    assert main(["risk", "evaluate", "--train", str(train), "--test", str(bad)]) == 2
    assert "b.csv line 3, column 'Fraud'" in capsys.readouterr().err
    assert main(["risk", "evaluate", "--train", "nope.csv", "--test", str(bad)]) == 2
    assert "nope.csv: no such file" in capsys.readouterr().err
