"""Russian text processing shared by the lexical views: stop words and a lemmatiser.

:func:`lemmatize` turns a title into lower-case lemmas (pymorphy3) without Russian stop words
and patent boilerplate; :mod:`toolkit.clustering` labels clusters with it and
:mod:`toolkit.lexical_vectors` builds TF-IDF vectors on it.

Example:
    >>> lemmatize("СПОСОБ ПОЛУЧЕНИЯ ПЕНОПОЛИУРЕТАНОВ")
    ['пенополиуретан']
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

__all__ = ["PATENT_STOP_WORDS", "RUSSIAN_STOP_WORDS", "lemmatize"]

# --------------------------------------------------------------------------- stop words

# Russian function words: NLTK's Russian list as shipped inside bm25s (a project
# dependency), so there is no second copy to maintain. Lemmas are checked as well as
# surface forms; pymorphy3 part-of-speech tags catch the function words it misses.
try:
    from bm25s.stopwords import STOPWORDS_RUSSIAN as _BM25S_RU
except ImportError:  # pragma: no cover - bm25s is a declared dependency
    _BM25S_RU = ()

RUSSIAN_STOP_WORDS: frozenset[str] = frozenset(_BM25S_RU) | frozenset(
    {"который", "также", "данный", "свой", "весь", "этот", "тот", "такой", "каждый", "др", "пр"}
)
"""Russian stop words (NLTK's list via bm25s plus a few lemmas it lacks)."""

PATENT_STOP_WORDS: frozenset[str] = frozenset(
    {
        # what an invention "is" rather than what it is about
        "способ", "устройство", "система", "применение", "получение", "вариант",
        "осуществление", "средство", "изготовление", "метод", "установка",
        "использование", "выполнение", "реализация", "обеспечение", "изобретение",
        "production", "method", "device", "system", "apparatus", "use",
        # connective phrases of claims and titles ("на основе", "с помощью", "путём")
        "основа", "помощь", "путь", "соответствие", "часть", "вид", "тип",
        "содержать", "содержащий", "иметь", "имеющий", "включать", "включающий",
        "предназначить", "предназначенный", "выполнить", "выполненный",
        "осуществлять", "осуществить", "обеспечивать", "применять", "использовать",
        "получить", "получать", "изготовить", "изготавливать",
        "ряд", "различный", "другой", "новый", "указанный", "соответствующий",
    }
)
"""Patent boilerplate lemmas removed from cluster keywords.

They describe the *kind* of claim (a method, a device, a system, its use, obtaining
or making something, an embodiment) and appear in every technical field, so they
would top every cluster's c-TF-IDF list without saying what the cluster is about.
"""

# pymorphy3 part-of-speech tags that never make a useful keyword.
_FUNCTION_POS = frozenset({"PREP", "CONJ", "PRCL", "INTJ", "NPRO", "PRED"})
_TOKEN_RE = re.compile(r"[0-9a-zа-яё]+(?:-[0-9a-zа-яё]+)*")
_CYRILLIC_RE = re.compile(r"[а-яё]")


@functools.lru_cache(maxsize=1)
def _morph():
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


@functools.lru_cache(maxsize=200_000)
def _lemma(token: str) -> tuple[str, str | None]:
    """Return ``(lemma, part_of_speech)`` of one lower-case token (cached)."""
    if not _CYRILLIC_RE.search(token):
        return token, None
    parse = _morph().parse(token)[0]
    return parse.normal_form, parse.tag.POS


def lemmatize(
    text: str,
    *,
    drop_stop_words: bool = True,
    extra_stop_words: Iterable[str] = (),
) -> list[str]:
    """Split a Russian text into lower-case lemmas (pymorphy3, most probable parse).

    Tokens are runs of letters/digits, hyphenated words kept whole ("литий-ионный").
    Pure numbers and one-letter tokens are dropped. With ``drop_stop_words`` the
    Russian stop words (:data:`RUSSIAN_STOP_WORDS`), function-word parts of speech
    (prepositions, conjunctions, particles, pronouns), the patent boilerplate
    (:data:`PATENT_STOP_WORDS`) and ``extra_stop_words`` are removed too.

    Args:
        text: Any string; case does not matter (patent titles are often upper case).
        drop_stop_words: Remove stop words and boilerplate (default) or keep every lemma.
        extra_stop_words: More lemmas to remove (only when ``drop_stop_words``).

    Returns:
        The lemmas in text order.

    Example:
        >>> lemmatize("СПОСОБ ПОЛУЧЕНИЯ ПЕНОПОЛИУРЕТАНОВ")
        ['пенополиуретан']
    """
    if not isinstance(text, str):
        raise ValueError(f"text: expected a string, got {type(text).__name__}")
    extra = frozenset(w.lower() for w in extra_stop_words)
    out: list[str] = []
    for token in _TOKEN_RE.findall(text.lower()):
        if len(token) < 2 or token.replace("-", "").isdigit():
            continue
        lemma, pos = _lemma(token)
        if drop_stop_words and (
            pos in _FUNCTION_POS
            or token in RUSSIAN_STOP_WORDS
            or lemma in RUSSIAN_STOP_WORDS
            or lemma in PATENT_STOP_WORDS
            or lemma in extra
        ):
            continue
        out.append(lemma)
    return out
