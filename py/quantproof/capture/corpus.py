"""Real English text for captures: documents from the gensim wheel's test data, split by document.

Sources (shipped with ``gensim``, nothing downloaded):

* ``wiki``: ``enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2``: Wikipedia articles
  (namespace 0, redirects dropped), wiki markup stripped with gensim's ``filter_wiki`` plus our clean-up of headings,
  bold/italic quotes and table debris; one document per article.
* ``lee``: ``lee_background.cor``: the Lee news corpus, one document per line (300 news articles).

The split into calibration and held-out sets is *by document* (never by token: tokens of one document are
correlated), deterministic, and independent of document order: a document is held out when
``sha256(f"{seed}:{source}:{doc_id}")`` mapped to [0, 1) is below ``heldout_fraction``. Within a split, documents
are ordered by that same hash, so "the first n documents" of a split is a stable, source-mixed sample.
"""

from __future__ import annotations

import bz2
import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from quantproof.evidence.measurement import MeasurementUnavailable, file_sha256

WIKI_FILE = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
LEE_FILE = "lee_background.cor"
SOURCES = ("wiki", "lee")


@dataclass(frozen=True)
class Document:
    doc_id: str          # "wiki:<page id>" or "lee:<line number>"
    source: str
    title: str
    text: str


@dataclass
class Corpus:
    documents: list[Document]
    files: dict[str, str]                 # label -> sha256
    paths: dict[str, str] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        """Hash of the source files and of the extraction code's version (the cache key of captures)."""
        h = hashlib.sha256()
        for label in sorted(self.files):
            h.update(f"{label}={self.files[label]}\n".encode())
        h.update(_EXTRACTION_VERSION.encode())
        return h.hexdigest()

    def register(self, ctx) -> None:
        if ctx is not None:
            for label, p in self.paths.items():
                ctx.use_file(p, label)

    def by_id(self) -> dict[str, Document]:
        return {d.doc_id: d for d in self.documents}


@dataclass
class Split:
    calibration: list[Document]
    heldout: list[Document]
    seed: int
    heldout_fraction: float

    def get(self, name: str) -> list[Document]:
        if name in ("calibration", "calib", "train"):
            return self.calibration
        if name in ("heldout", "held_out", "test"):
            return self.heldout
        raise ValueError(f"unknown split {name!r} (calibration | heldout)")


_EXTRACTION_VERSION = "corpus-v1"


def test_data_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:
        raise MeasurementUnavailable("gensim is not installed: `pip install gensim` (its wheel ships the test "
                                     "corpora QuantProof uses as English text)")
    d = Path(list(spec.submodule_search_locations)[0]) / "test" / "test_data"
    if not d.is_dir():
        raise MeasurementUnavailable(f"{d} is missing: reinstall gensim from a wheel that includes test data")
    return d


def corpus_files(sources: tuple[str, ...] = SOURCES) -> dict[str, Path]:
    d = test_data_dir()
    table = {"wiki": d / WIKI_FILE, "lee": d / LEE_FILE}
    out = {}
    for s in sources:
        if s not in table:
            raise ValueError(f"unknown corpus source {s!r} (known: {', '.join(table)})")
        if not table[s].is_file():
            raise MeasurementUnavailable(f"{table[s]} is missing from gensim's test data")
        out[table[s].name] = table[s]
    return out


_HEADING = re.compile(r"^\s*=+[^=]*=+\s*$")
_QUOTES = re.compile(r"'{2,}")
_EMPTY_PARENS = re.compile(r"\(\s*[,;]?\s*\)")
_SPACES = re.compile(r"[ \t]+")


def clean_wiki(markup: str) -> str:
    """Wiki markup -> prose paragraphs (drops headings, tables' one-cell lines, lists of links)."""
    from gensim.corpora.wikicorpus import filter_wiki

    text = filter_wiki(markup)
    paras = []
    for line in text.split("\n"):
        line = line.strip()
        if not line or _HEADING.match(line):
            continue
        line = _QUOTES.sub("", line)
        line = _EMPTY_PARENS.sub("", line)
        line = _SPACES.sub(" ", line).strip()
        # keep prose: a sentence-like line (long enough, ends like a sentence or has several words)
        if len(line) >= 60 and len(line.split()) >= 8 and not line.startswith(("*", "|", "!", "{", "#")):
            paras.append(line)
    return "\n".join(paras)


@lru_cache(maxsize=4)
def _load(sources: tuple[str, ...], key: tuple) -> tuple[tuple[Document, ...], tuple]:
    docs: list[Document] = []
    files = corpus_files(sources)
    if "wiki" in sources:
        from gensim.corpora.wikicorpus import extract_pages

        with bz2.open(files[WIKI_FILE], "rb") as fh:
            for title, text, pid in extract_pages(fh, filter_namespaces=("0",)):
                if text.lstrip().upper().startswith("#REDIRECT"):
                    continue
                body = clean_wiki(text)
                if len(body) >= 500:
                    docs.append(Document(f"wiki:{pid}", "wiki", title, body))
    if "lee" in sources:
        with open(files[LEE_FILE], encoding="utf-8", errors="replace") as fh:
            for i, line in enumerate(fh):
                line = _SPACES.sub(" ", line.strip())
                if len(line) >= 200:
                    docs.append(Document(f"lee:{i}", "lee", f"Lee news #{i}", line))
    return tuple(docs), key


def load_corpus(sources: str | tuple[str, ...] = SOURCES, ctx=None) -> Corpus:
    """All documents of the given sources ("wiki", "lee" or "wiki+lee"), with file sha256s (and ctx provenance)."""
    if isinstance(sources, str):
        sources = tuple(s for s in sources.split("+") if s)
    files = corpus_files(sources)
    hashes = {label: file_sha256(p) for label, p in files.items()}
    corpus = Corpus([], hashes, {label: str(p) for label, p in files.items()})
    cache = _disk_cache_path(ctx, corpus.sha256)
    docs = _read_docs(cache) if cache is not None else None
    if docs is None:
        docs = list(_load(tuple(sources), tuple(sorted(hashes.items())))[0])
        if cache is not None:
            _write_docs(cache, docs)
    corpus.documents = list(docs)
    corpus.register(ctx)
    return corpus


def _disk_cache_path(ctx, sha: str) -> Path | None:
    base = getattr(ctx, "cache_dir", None)
    if base is None:
        return None
    return Path(base) / "corpus" / f"{sha[:32]}.json"


def _read_docs(path: Path) -> list[Document] | None:
    """Extracted documents cached as JSON (parsing the wiki dump takes ~2 s); checked by a content hash."""
    import json

    try:
        blob = json.loads(path.read_text(encoding="utf-8"))
        body = json.dumps(blob["docs"], sort_keys=True, ensure_ascii=False)
        if hashlib.sha256(body.encode()).hexdigest() != blob["sha256"]:
            return None
        return [Document(**d) for d in blob["docs"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_docs(path: Path, docs: list[Document]) -> None:
    import json
    import os
    import tempfile
    from dataclasses import asdict

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = [asdict(d) for d in docs]
        body = json.dumps(rows, sort_keys=True, ensure_ascii=False)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"sha256": hashlib.sha256(body.encode()).hexdigest(), "docs": rows}, fh, ensure_ascii=False)
        os.replace(tmp, path)
    except OSError:
        pass


def _u(seed: int, doc: Document) -> float:
    h = hashlib.sha256(f"{seed}:{doc.doc_id}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2.0**64


def split_documents(corpus: Corpus | list[Document], heldout_fraction: float = 0.3, seed: int = 0) -> Split:
    """Deterministic split by document (see module docstring); each side ordered by its hash."""
    docs = corpus.documents if isinstance(corpus, Corpus) else list(corpus)
    if not 0.0 < heldout_fraction < 1.0:
        raise ValueError("heldout_fraction must be in (0, 1)")
    keyed = sorted(((_u(seed, d), d) for d in docs), key=lambda t: (t[0], t[1].doc_id))
    # the split uses an independent hash stream from the ordering, so order within a split is still random
    held, calib = [], []
    for _, d in keyed:
        (held if _u(seed + 7919, d) < heldout_fraction else calib).append(d)
    return Split(calib, held, seed, heldout_fraction)


def select_documents(corpus: Corpus, split: str = "calibration", n_docs: int = 32, seed: int = 0,
                     heldout_fraction: float = 0.3) -> list[Document]:
    """The first ``n_docs`` documents of a split (stable across runs)."""
    docs = split_documents(corpus, heldout_fraction, seed).get(split)
    if n_docs > len(docs):
        raise ValueError(f"asked for {n_docs} documents of split {split!r}, which has {len(docs)}")
    return docs[:n_docs]
