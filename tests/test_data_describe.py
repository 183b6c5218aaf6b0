"""Tests for toolkit.data.describe: describe and validate_files."""

from __future__ import annotations

from data_helpers import FIX, write

from toolkit.data import (
    validate_files,
)


def test_validate_files(tmp_path):
    report, ok = validate_files(
        [FIX / "corpus.csv", FIX / "queries.csv", FIX / "qrels.trec", FIX / "pairs.csv"]
    )
    assert ok, report
    assert "corpus.csv [corpus]: OK" in report and "qrels.trec [qrels]: OK" in report
    assert "pairs.csv [pairs]: OK" in report and "combined: OK" in report
    bad_qrels = write(tmp_path, "qrels.csv", "query_id,doc_id,relevance\nq1,RU0,1\n")
    odd = write(tmp_path, "odd.csv", "a,b\n1,2\n")
    report, ok = validate_files([FIX / "corpus.csv", FIX / "queries.csv", bad_qrels, odd])
    assert not ok
    assert "combined: ERROR" in report and "unknown document id 'RU0'" in report
    assert "cannot tell the kind of file from its columns (a, b)" in report
    assert "rospatent_hits.json [rospatent]: OK" in validate_files([FIX / "rospatent_hits.json"])[0]
    report, ok = validate_files([FIX / "splits.json"])
    assert ok and "splits.json [splits]: OK" in report and "train 2, test 1" in report
