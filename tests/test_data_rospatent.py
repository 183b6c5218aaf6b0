"""Tests for toolkit.data.rospatent: saved Rospatent search hits."""

from __future__ import annotations

import json

import pytest
from data_helpers import FIX, write

from toolkit.data import (
    DataError,
    load_corpus,
    load_rospatent_json,
)


def test_rospatent_fixture():
    rs = load_rospatent_json(FIX / "rospatent_hits.json")
    assert rs.doc_ids == ["RU2725023C1_20200629", "RU2757048C1_20211011", "RU115630U1_20120510"]
    assert rs.corpus["RU2757048C1_20211011"] == "НОСИМЫЙ ДАТЧИК ПУЛЬСА "  # verbatim
    assert dict(rs.ipc) == {"RU2725023C1_20200629": "H", "RU2757048C1_20211011": "A"}
    assert rs.doc_fields["ipc_codes"]["RU2725023C1_20200629"] == (
        "H02J 3/14 (2006.01); G06Q 50/06 (2012.01)"
    )
    assert rs.doc_fields["ipc_codes"]["RU2757048C1_20211011"] == "A61B5/024"
    assert dict(rs.doc_fields["description"]) == {
        "RU2725023C1_20200629": "Изобретение относится к <em>управлению</em> энергопотреблением."
    }
    assert not rs.queries
    # load_corpus recognises the format; a bare list of hits works too
    assert load_corpus(FIX / "rospatent_hits.json") == rs
    hits = json.loads((FIX / "rospatent_hits.json").read_text(encoding="utf-8"))["hits"]
    assert load_rospatent_json(hits) == rs


def test_rospatent_errors(tmp_path):
    hits = [
        {"id": "RU1", "biblio": {"en": {"title": "ROBOT"}}},
        {"id": "RU2", "biblio": {"ru": {"title": "Т"}}},
    ]
    p = write(tmp_path, "h.json", json.dumps(hits))
    with pytest.raises(
        DataError, match=r"h\.json, hit 1 \(id 'RU1'\), field 'biblio.ru.title': missing"
    ):
        load_rospatent_json(p)
    with pytest.warns(UserWarning, match="skipped 1 hit"):
        rs = load_rospatent_json(p, missing_title="skip")
    assert rs.doc_ids == ["RU2"]
    bad_ipc = [
        {
            "id": "RU3",
            "biblio": {"ru": {"title": "Т"}},
            "snippet": {"classification": {"ipc": "Z01"}},
        }
    ]
    with pytest.raises(DataError, match=r"hit 1 .*field 'snippet.classification.ipc'.*A-H"):
        load_rospatent_json(write(tmp_path, "z.json", json.dumps(bad_ipc)))
    with pytest.raises(DataError, match=r"expected a list of hits .* keys \['results'\]"):
        load_rospatent_json(write(tmp_path, "r.json", '{"results": []}'))
