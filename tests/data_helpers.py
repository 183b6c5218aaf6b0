"""Helpers shared by the tests of toolkit.data (one test module per toolkit/data module)."""

from __future__ import annotations

from pathlib import Path

import toolkit
from toolkit.data import RetrievalSet

FIX = Path(__file__).parent / "fixtures" / "data"
PKG_DATA = Path(toolkit.__file__).parent / "datasets"


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def small_set() -> RetrievalSet:
    return RetrievalSet(
        queries={"q1": "умный дом", "q2": "датчик пульса", "q3": "робот доставки"},
        corpus={
            "d1": "СИСТЕМА УМНОГО ДОМА ",
            "d2": "ЛОПАТА",
            "d3": "НОСИМЫЙ ДАТЧИК",
            "d4": "РОБОТ",
            "d5": "НЕОЦЕНЁННЫЙ",
        },
        qrels={"q1": {"d2": 0, "d1": 2}, "q2": {"d3": 1}, "q3": {"d4": 2}},
        splits={"train": ["q3", "q1"], "test": ["q2"]},
        doc_fields={"ipc": {"d1": "H", "d3": "A", "d4": "B"}, "topic": {"d1": "energy"}},
        query_fields={"topic": {"q1": "energy", "q2": "health", "q3": "robots"}},
    )


# A five-title corpus with a known BM25 order, shared by the search and explorer tests.
SEARCH_QUERY = "робот доставка товар"
SEARCH_TITLES = {
    "d1": "РОБОТ ДОСТАВКА ТОВАР",
    "d2": "БЕТОН КИРПИЧ ЛОПАТА",
    "d3": "РОБОТ ДОСТАВКА ЛОПАТА",
    "d4": "БЕТОН ШИФЕР ЛОПАТА",
    "d5": "РОБОТ КИРПИЧ ЛОПАТА",
}
SEARCH_BM25_ORDER = ["d1", "d3", "d5", "d4", "d2"]  # d4/d2 tie at 0 -> "d4" > "d2"
