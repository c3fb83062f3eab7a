"""French-aware TF-IDF text similarity between projects and funders.

Documents: a project is its ``name`` and ``summary``; a funder row is its
``name``, ``description`` and ``call_title``. The analyzer

1. splits the lower-cased text into runs of letters and digits (so the
   elisions ``l'énergie``, ``d'insertion`` split at the apostrophe),
2. folds each token with :func:`matcher.core.text.fold` (no accents, so
   ``energie`` and ``énergie`` are one word),
3. drops one-letter tokens, numbers and the French stop words of
   ``matcher/data/french_stopwords.txt``,
4. stems with the Snowball French stemmer (``snowballstemmer``).

The IDF is learnt from the funder documents at fit time (scikit-learn's
``TfidfVectorizer`` with sublinear tf and smoothed idf), so a project's scores
do not depend on which other projects are ranked with it. A project word that
no funder uses still counts in the project's vector norm, at the largest idf
(as a word of document frequency 0 would): a summary full of words no funder
uses is not a close match just because its few shared words match.

The cosine of two short texts is small even for a good match (0.25 already
means several specific shared words), so it is rescaled with a saturating,
monotone curve: ``score = tanh(cosine / 0.25)`` (0.1 -> 0.38, 0.25 -> 0.76,
0.5 -> 0.96; 0 stays 0).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
import snowballstemmer
from sklearn.feature_extraction.text import TfidfVectorizer

from matcher.core.resources import DATA_DIR
from matcher.core.text import fold

_STOPWORDS_FILE = DATA_DIR / "french_stopwords.txt"
_TOKEN = re.compile(r"[^\W_]+")

#: Cosine at which the rescaled score reaches tanh(1) ~ 0.76.
COSINE_SCALE = 0.25


@lru_cache(maxsize=1)
def french_stopwords() -> frozenset[str]:
    """The folded French stop words."""
    words = set()
    for line in _STOPWORDS_FILE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            words.update(fold(line).split())
    return frozenset(words)


_STEMMER = snowballstemmer.stemmer("french")


@lru_cache(maxsize=200_000)
def _stem_token(token: str) -> str | None:
    """The stem of one lower-case token, or None when it is dropped."""
    folded = fold(token).replace(" ", "")
    if len(folded) < 2 or folded.isdigit() or folded in french_stopwords():
        return None
    return _STEMMER.stemWord(folded)


def surface_tokens(text: str | None) -> list[tuple[str, str]]:
    """``(word as written in lower case, stem)`` for each kept token of ``text``."""
    if not text:
        return []
    out = []
    for token in _TOKEN.findall(str(text).lower()):
        stem = _stem_token(token)
        if stem is not None:
            out.append((token, stem))
    return out


@lru_cache(maxsize=100_000)
def analyze(text: str) -> tuple[str, ...]:
    """The stems of ``text`` (the analyzer given to scikit-learn)."""
    return tuple(stem for _, stem in surface_tokens(text))


def rescale(cosine: np.ndarray | float) -> np.ndarray | float:
    """Map a cosine in [0, 1] to a score in [0, 1]: ``tanh(cosine / COSINE_SCALE)``."""
    return np.tanh(np.asarray(cosine, dtype=float) / COSINE_SCALE)


def rescale_in_place(cosine: np.ndarray) -> np.ndarray:
    """:func:`rescale` of a float array, written over it (the same operations, so the same values)."""
    cosine /= COSINE_SCALE
    return np.tanh(cosine, out=cosine)


def join_text(*parts) -> str | None:
    """Join the non-empty text parts of a document; None when there is none."""
    kept = [str(p).strip() for p in parts if isinstance(p, str) and p.strip()]
    return " ".join(kept) if kept else None


class TextModel:
    """TF-IDF fitted on funder documents; transforms any document to a unit row vector."""

    def fit(self, funder_docs: Iterable[str | None]) -> TextModel:
        docs = [d or "" for d in funder_docs]
        self.vectorizer_ = TfidfVectorizer(analyzer=analyze, sublinear_tf=True, smooth_idf=True,
                                           norm=None, dtype=np.float64)
        has_terms = any(analyze(d) for d in docs)
        if has_terms:
            self.vectorizer_.fit(docs)
            self.vocabulary_ = self.vectorizer_.vocabulary_
            self.idf_ = self.vectorizer_.idf_
        else:
            self.vocabulary_ = {}
            self.idf_ = np.zeros(0)
        n = len(docs)
        # idf of a word no funder uses (df = 0), with sklearn's smoothing.
        self.oov_idf_ = math.log((1 + n) / 1) + 1
        self.terms_ = np.empty(len(self.vocabulary_), dtype=object)
        for term, index in self.vocabulary_.items():
            self.terms_[index] = term
        return self

    def transform(self, docs: Iterable[str | None]) -> tuple[sp.csr_matrix, np.ndarray]:
        """Unit TF-IDF rows and a mask of the documents that have any word at all.

        Rows of documents without words are all zero (their similarity is
        unknown, not 0: the mask says which).
        """
        docs = [d or "" for d in docs]
        if self.vocabulary_ and docs:  # scikit-learn refuses an empty batch
            matrix = self.vectorizer_.transform(docs).tocsr().astype(np.float64)
        else:
            matrix = sp.csr_matrix((len(docs), len(self.vocabulary_)), dtype=np.float64)
        squares = np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel()
        has_words = np.zeros(len(docs), dtype=bool)
        for i, doc in enumerate(docs):
            stems = analyze(doc)
            if not stems:
                continue
            has_words[i] = True
            oov: dict[str, int] = {}
            for stem in stems:
                if stem not in self.vocabulary_:
                    oov[stem] = oov.get(stem, 0) + 1
            for count in oov.values():
                squares[i] += ((1 + math.log(count)) * self.oov_idf_) ** 2
        norms = np.sqrt(squares)
        norms[norms == 0] = 1.0
        matrix = sp.diags(1.0 / norms) @ matrix
        return matrix.tocsr(), has_words

    def top_terms(self, project_vec: sp.csr_matrix, funder_vec: sp.csr_matrix,
                  project_text: str | None, funder_text: str | None, n: int = 5) -> list[str]:
        """The ``n`` words that contribute most to the cosine of one pair, as written.

        Each stem is shown as the project's own word for it (else the funder's),
        so the explanation says ``énergie``, not ``energ``.
        """
        product = project_vec.multiply(funder_vec).tocoo()
        if product.nnz == 0:
            return []
        order = sorted(zip(product.data, product.col, strict=True), key=lambda x: (-x[0], self.terms_[x[1]]))
        words: dict[str, str] = {}
        # Reversed so that the first occurrence wins; the project's words override the funder's.
        for token, stem in reversed(surface_tokens(funder_text)):
            words[stem] = token
        for token, stem in reversed(surface_tokens(project_text)):
            words[stem] = token
        generic = _generic_stems()
        order = [(v, col) for v, col in order if self.terms_[col] not in generic]
        return [words.get(self.terms_[col], self.terms_[col]) for _, col in order[:n]]


#: Words every project text shares, so never worth showing as a shared word (they still count in the score).
GENERIC_WORDS = ("projet", "projets", "project", "projects")


def _generic_stems() -> frozenset[str]:
    global _GENERIC_STEMS
    if _GENERIC_STEMS is None:
        _GENERIC_STEMS = frozenset(stem for _, stem in surface_tokens(" ".join(GENERIC_WORDS)))
    return _GENERIC_STEMS


_GENERIC_STEMS: frozenset[str] | None = None
