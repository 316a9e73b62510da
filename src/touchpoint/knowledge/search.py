"""Knowledge-base search: the database's full text fused with semantic similarity.

- **Lexical**: BM25 with the title weighted TITLE_WEIGHT times the body: SQLite's FTS5 bm25() (porter
  stemming, diacritics folded), or on PostgreSQL the postings a trigger keeps from each article's
  `search_vector` (stemmed in the article's language), read through one index. Words of the query are
  OR-ed, so a question phrased in a customer's own words still finds the article that shares its key
  words; English stop words are dropped.
- **Semantic** (with the `ml` extra): the query's MiniLM embedding against every embedded passage of the
  workspace's published articles, an article scoring its best passage; below SEMANTIC_MIN_SIMILARITY it
  is no match. The passages sit in an in-process numpy matrix per workspace, rebuilt when the workspace's
  KnowledgeIndex version moved (any change to an article, in any process).
- **Fusion**: reciprocal rank fusion, score = Σ 1 / (RRF_K + rank) over the two rankings; an article
  found by both outranks one found by either alone at the same ranks.

Drafts are never searched. The public audience sees public articles only; agents see internal ones too.
"""

import os
import re
import threading
import unicodedata
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from django.conf import settings
from django.db import connection

from touchpoint.core.errors import ValidationFailed
from touchpoint.knowledge import conf, embeddings
from touchpoint.knowledge.locales import language_of, normalize_locale
from touchpoint.knowledge.models import Article, ArticleChunk, ArticleStatus, Audience, KnowledgeIndex
from touchpoint.knowledge.render import escape

MAX_QUERY = 500  # characters; the API refuses longer, the selector reads only this much
MAX_TERMS = 32
CANDIDATES = 50  # from each ranking, before fusion
RRF_K = 60
TITLE_WEIGHT = 4.0
BM25_K1, BM25_B = 1.2, 0.75  # the usual saturation and length normalization (SQLite's bm25() uses the same)
SNIPPET_WORDS = 30
AUDIENCES = {"public": (Audience.PUBLIC,), "internal": (Audience.INTERNAL,), "all": (Audience.PUBLIC, Audience.INTERNAL)}
CACHED_WORKSPACES = 32
SPLIT_ROWS = 8_000  # passages from which the similarities are computed on two threads

_WORD_RE = re.compile(r"[^\W_]+")
_STOP_WORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below between both
but by can could did do does doing down during each few for from further get got had has have having he her here
hers herself him himself his how i if in into is it its itself just let me more most my myself no nor not of off
on once only or other our ours ourselves out over own please same she should so some such than that the their
theirs them themselves then there these they this those through to too under until up very want was we were what
when where which while who whom why will with would you your yours yourself yourselves hi hello thanks thank
""".split())


class ArticleHit(NamedTuple):
    """One search result. `url` is the public help-center address for public articles (relative unless
    PUBLIC_BASE_URL is set) and the agent workspace's page for internal ones; `snippet` is plain text
    around the matched words; `score` is the fused score (higher is better); the ranks are 1-based places
    in each ranking, None when that ranking did not find the article."""

    article_id: int
    title: str
    url: str
    snippet: str
    score: float
    lexical_rank: int | None
    semantic_rank: int | None


@dataclass(frozen=True)
class SearchResult:
    hits: list[ArticleHit]
    mode: str  # "hybrid" or "lexical"
    terms: list[str] = field(default_factory=list)  # the query's words as matched: highlight with these
    note: str = ""  # why the search is lexical only, when it is
    locales: dict[int, str] = field(default_factory=dict)  # article id → its locale
    audiences: dict[int, str] = field(default_factory=dict)  # article id → public / internal


# ---- the query's words ---------------------------------------------------------------------------


def fold(text: str) -> str:
    """Lower-case without diacritics ("Réexpédier" → "reexpedier"), as the full-text index compares words."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def query_terms(query: str, locale: str | None = None) -> list[str]:
    """The words to look for: folded, each once, English stop words dropped (unless nothing else is left)."""
    words = [w for w in dict.fromkeys(_WORD_RE.findall(fold(query[:MAX_QUERY]))) if len(w) > 1 or not w.isascii()]
    words = words[:MAX_TERMS]
    if locale is None or language_of(locale) == "en":
        kept = [w for w in words if w not in _STOP_WORDS]
        words = kept or words
    return words


def _typed_words(query: str, terms: list[str]) -> list[str]:
    """The query's words lower-cased but with their accents, for those whose folded form is a term."""
    words = dict.fromkeys(w.casefold() for w in _WORD_RE.findall(unicodedata.normalize("NFC", query[:MAX_QUERY])))
    kept = set(terms)
    return [w for w in words if fold(w) in kept and w not in kept]


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


class _Matcher:
    """Whether a word of the text is one of the query's: the same stem, or starting with a term's stem
    (four letters or more). Each distinct word is decided once."""

    def __init__(self, terms: list[str]) -> None:
        self.stems = {_stem(t) for t in terms}
        prefixes = sorted({_stem(t) for t in terms if len(t) >= 4}, key=len, reverse=True)
        self.prefix = re.compile("|".join(map(re.escape, prefixes))) if prefixes else None
        self.seen: dict[str, bool] = {}

    def __call__(self, word: str) -> bool:
        found = self.seen.get(word)
        if found is None:
            found = self.seen[word] = _stem(word) in self.stems or bool(self.prefix and self.prefix.match(word))
        return found


@lru_cache(maxsize=256)
def _matcher(terms: tuple[str, ...]) -> _Matcher:
    """One matcher per query's words, so the snippets and highlights of one result decide each word once."""
    return _Matcher(list(terms))


# ---- lexical ranking -----------------------------------------------------------------------------


def lexical_ranking(workspace_id: int, terms: list[str], *, locale: str | None, audiences: tuple[str, ...],
                    locales: list[str], limit: int = CANDIDATES, variants: tuple[str, ...] | list[str] = ()) -> list[int]:
    """Article ids, best first, by the database's full-text rank."""
    if not terms:
        return []
    if connection.vendor == "postgresql":
        return _postgres_ranking(workspace_id, terms, locale, audiences, locales, limit, list(variants))
    words = " OR ".join(f'"{t}"*' if len(t) >= 4 else f'"{t}"' for t in terms)
    # The scope tokens (migration 0003: "k5p1", "k5p1en0") keep the match inside the workspace's
    # published articles of the audience (and language), so the wide article rows are never read.
    language = language_of(locale) + "0" if locale is not None else ""
    codes = {Audience.PUBLIC: "1", Audience.INTERNAL: "2"}
    scope = " OR ".join(f'"k{int(workspace_id)}p{codes[audience]}{language}"' for audience in audiences)
    match = f"scope : ({scope}) AND {{title body_text}} : ({words})"
    sql = ("SELECT rowid FROM knowledge_article_fts WHERE knowledge_article_fts MATCH %s "
           f"ORDER BY bm25(knowledge_article_fts, {TITLE_WEIGHT}, 1.0, 0.0), rowid LIMIT %s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [match, limit])
        return [row[0] for row in cursor.fetchall()]


# BM25 over the postings (migration 0004). Each query word is stemmed as each language in use stems it
# and matched with its stem, or as a prefix when the word has four letters or more (as on SQLite); a
# title occurrence counts TITLE_WEIGHT times. N and the average length are those of the articles the
# search may return (workspace, audience, language), so no other workspace moves a ranking.
_POSTGRES_BM25 = f"""
WITH terms AS (
    SELECT l.language, v.lexeme,
           max(CASE WHEN char_length(w.word) >= 4 THEN v.lexeme || chr(1114111) ELSE v.lexeme END) AS upper
    FROM unnest(%(languages)s::text[]) AS l(language), unnest(%(words)s::text[]) AS w(word),
         unnest(to_tsvector(knowledge_ts_config(l.language), w.word)) AS v
    GROUP BY 1, 2
), postings AS MATERIALIZED (
    SELECT t.language, t.lexeme AS term, p.article_id, sum(%(title_weight)s::float8 * p.title_tf + p.body_tf) AS tf,
           min(p.length) AS length
    -- One index range per word. OFFSET 0 keeps the subquery apart: joined, the planner (which cannot
    -- size a range whose bounds come from another table) chose a scan of every posting.
    FROM terms t CROSS JOIN LATERAL (
        SELECT article_id, title_tf, body_tf, length FROM knowledge_posting
        WHERE workspace_id = %(workspace)s AND language = t.language AND lexeme >= t.lexeme AND lexeme <= t.upper
              AND audience = ANY(%(audiences)s)
        OFFSET 0
    ) p
    GROUP BY 1, 2, 3
), collection AS MATERIALIZED (
    SELECT language, sum(documents)::float8 AS n, greatest(sum(words)::float8 / sum(documents), 1) AS average
    FROM knowledge_search_collection
    WHERE workspace_id = %(workspace)s AND audience = ANY(%(audiences)s) AND language = ANY(%(languages)s)
    GROUP BY 1
), weights AS MATERIALIZED (
    SELECT p.language, p.term, ln(1 + (c.n - count(*) + 0.5) / (count(*) + 0.5)) AS idf, c.average
    FROM postings p JOIN collection c USING (language)
    GROUP BY p.language, p.term, c.n, c.average
)
SELECT p.article_id FROM postings p JOIN weights w USING (language, term)
GROUP BY p.article_id
ORDER BY sum(w.idf * p.tf * ({BM25_K1} + 1) / (p.tf + {BM25_K1} * (1 - {BM25_B} + {BM25_B} * p.length / w.average))) DESC,
         p.article_id
LIMIT %(limit)s
"""


def _postgres_ranking(workspace_id: int, terms: list[str], locale: str | None, audiences: tuple[str, ...],
                      locales: list[str], limit: int, variants: list[str]) -> list[int]:
    languages = [language_of(locale)] if locale else sorted({language_of(loc) for loc in locales})
    if not languages:
        return []  # nothing published
    # The words as typed too: a server without the unaccent extension keeps accents in its index.
    words = list(dict.fromkeys([*terms, *variants]))
    params = {"languages": languages, "words": words, "workspace": workspace_id, "audiences": list(audiences),
              "title_weight": TITLE_WEIGHT, "limit": limit}
    with connection.cursor() as cursor:
        cursor.execute(_POSTGRES_BM25, params)
        return [row[0] for row in cursor.fetchall()]


# ---- semantic ranking: the in-process matrix -----------------------------------------------------


@dataclass
class _Snapshot:
    """What one process knows of a workspace's published articles at one index version."""

    version: int
    locales: list[str]
    matrix: np.ndarray | None = None  # passages × DIMENSIONS
    starts: np.ndarray | None = None  # first passage row of each article
    article_ids: np.ndarray | None = None
    languages: np.ndarray | None = None
    audiences: np.ndarray | None = None
    masks: dict = field(default_factory=dict)  # (audiences, language) → which articles a search may return
    lock: threading.Lock = field(default_factory=threading.Lock)

    def visible(self, audiences: tuple[str, ...], language: str | None) -> np.ndarray:
        """The articles of these audiences (and language), as a mask: worked out once per snapshot, since
        comparing 10,000 strings cost a millisecond a search."""
        mask = self.masks.get((audiences, language))
        if mask is None:
            mask = np.isin(self.audiences, list(audiences))
            if language is not None:
                mask &= self.languages == language
            self.masks[(audiences, language)] = mask
        return mask


_snapshots: "OrderedDict[int, _Snapshot]" = OrderedDict()
_workers = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="knowledge-semantic")
_snapshots_lock = threading.Lock()


def _snapshot(workspace_id: int) -> _Snapshot:
    """The workspace's snapshot at its current version: one query when nothing changed."""
    version = KnowledgeIndex.objects.filter(workspace_id=workspace_id).values_list("version", flat=True).first() or 0
    with _snapshots_lock:
        found = _snapshots.get(workspace_id)
        if found is not None and found.version == version:
            _snapshots.move_to_end(workspace_id)
            return found
    locales = sorted(set(Article.objects.filter(workspace_id=workspace_id, status=ArticleStatus.PUBLISHED)
                         .values_list("locale", flat=True)))
    fresh = _Snapshot(version=version, locales=locales)
    with _snapshots_lock:
        _snapshots[workspace_id] = fresh
        _snapshots.move_to_end(workspace_id)
        while len(_snapshots) > CACHED_WORKSPACES:
            _snapshots.popitem(last=False)
    return fresh


def forget_snapshots() -> None:
    """Drop every cached matrix (tests, and a process that wants its memory back)."""
    with _snapshots_lock:
        _snapshots.clear()


def _build_matrix(workspace_id: int, snapshot: _Snapshot) -> None:
    with snapshot.lock:
        if snapshot.matrix is not None:
            return
        rows = (ArticleChunk.objects.filter(workspace_id=workspace_id, article__status=ArticleStatus.PUBLISHED)
                .order_by("article_id", "position")
                .values_list("article_id", "vector", "article__locale", "article__audience"))
        ids: list[int] = []
        languages: list[str] = []
        audiences: list[str] = []
        starts: list[int] = []
        vectors: list[np.ndarray] = []
        for n, (article_id, vector, locale, audience) in enumerate(rows.iterator(chunk_size=2000)):
            if not ids or ids[-1] != article_id:
                ids.append(article_id)
                languages.append(language_of(locale))
                audiences.append(audience)
                starts.append(n)
            vectors.append(embeddings.from_bytes(vector))
        snapshot.article_ids = np.array(ids, dtype=np.int64)
        snapshot.languages = np.array(languages, dtype=object)
        snapshot.audiences = np.array(audiences, dtype=object)
        snapshot.starts = np.array(starts, dtype=np.int64)
        snapshot.matrix = (np.vstack(vectors) if vectors else np.zeros((0, embeddings.DIMENSIONS), dtype=np.float32))


def semantic_ranking(vector: np.ndarray, snapshot: _Snapshot, *, locale: str | None, audiences: tuple[str, ...],
                     limit: int = CANDIDATES) -> list[int]:
    """Article ids, most similar first, at or above the minimum similarity (the snapshot's matrix built)."""
    assert snapshot.matrix is not None and snapshot.starts is not None and snapshot.article_ids is not None
    if not len(snapshot.article_ids):
        return []
    passages = _similarities(snapshot.matrix, vector)
    best = np.maximum.reduceat(passages, snapshot.starts)
    keep = snapshot.visible(audiences, language_of(locale) if locale is not None else None)
    best = np.where(keep & (best >= conf.semantic_min_similarity()), best, -np.inf)
    count = min(limit, int(np.isfinite(best).sum()))
    if count == 0:
        return []
    top = np.argpartition(-best, count - 1)[:count]
    top = top[np.argsort(-best[top], kind="stable")]
    return [int(snapshot.article_ids[i]) for i in top]


def _similarities(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """matrix @ vector, a large matrix in two halves on two threads (BLAS runs one thread per call here,
    see touchpoint.core.embeddings): reading 50 MB of passages is most of a semantic ranking."""
    if len(matrix) < SPLIT_ROWS:
        return matrix @ vector
    half = len(matrix) // 2
    second = _workers.submit(np.dot, matrix[half:], vector)
    return np.concatenate([matrix[:half] @ vector, second.result()])


# ---- fusion, snippets, the whole search ----------------------------------------------------------


def fuse(*rankings: list[int]) -> list[tuple[int, float, list[int | None]]]:
    """Reciprocal rank fusion: (article id, score, its 1-based rank in each ranking), best first."""
    scores: dict[int, float] = {}
    places: dict[int, list[int | None]] = {}
    for n, ranking in enumerate(rankings):
        for rank, article_id in enumerate(ranking, 1):
            scores[article_id] = scores.get(article_id, 0.0) + 1.0 / (RRF_K + rank)
            places.setdefault(article_id, [None] * len(rankings))[n] = rank
    order = sorted(scores, key=lambda i: (-scores[i], min(r for r in places[i] if r is not None), i))
    return [(i, scores[i], places[i]) for i in order]


def search(workspace_id: int, query: str, *, locale: str | None = None, audience: str = "public",
           limit: int = 5) -> SearchResult:
    """The best `limit` articles for a query. An empty query finds nothing; a locale keeps to its language."""
    if audience not in AUDIENCES:
        raise ValidationFailed(f"Unknown audience {audience!r}; use one of {', '.join(AUDIENCES)}.", field="audience")
    locale = normalize_locale(locale) if locale else None
    query = query[:MAX_QUERY].strip()
    terms = query_terms(query, locale)
    if not query:
        return SearchResult(hits=[], mode=_mode(), terms=[], note=_note())
    audiences = AUDIENCES[audience]
    # A worker encodes the query while this thread reads the index version and the database ranks the
    # words: model and database both release the interpreter's lock, so on two cores the search costs
    # about the longer of the two instead of their sum.
    encoding = _workers.submit(embeddings.encode_query, query) if embeddings.available() else None
    snapshot = _snapshot(workspace_id)
    if encoding is not None:
        _build_matrix(workspace_id, snapshot)  # reads the database: in this thread, never in a worker
    lexical = lexical_ranking(workspace_id, terms, locale=locale, audiences=audiences,
                              locales=snapshot.locales, variants=_typed_words(query, terms))
    vector = encoding.result() if encoding is not None else None  # None: the model could not encode it
    semantic = [] if vector is None else semantic_ranking(vector, snapshot, locale=locale, audiences=audiences)
    fused = fuse(lexical, semantic)[:limit]
    return _result(workspace_id, fused, terms, mode="hybrid" if vector is not None else "lexical")


def _mode() -> str:
    return "hybrid" if embeddings.available() else "lexical"


def _note() -> str:
    return "" if embeddings.available() else f"Lexical search only: {embeddings.unavailable_reason()}."


def _result(workspace_id: int, fused: list, terms: list[str], *, mode: str) -> SearchResult:
    rows = {row["id"]: row for row in Article.objects.filter(workspace_id=workspace_id, pk__in=[i for i, _, _ in fused])
            .values("id", "title", "slug", "locale", "audience", "body_text", "summary", "workspace__slug")}
    hits = []
    for article_id, score, (lexical_rank, semantic_rank) in fused:
        row = rows.get(article_id)
        if row is None:
            continue  # deleted since the ranking was read
        hits.append(ArticleHit(
            article_id=article_id, title=row["title"], url=article_url(row), snippet=snippet(row["body_text"], row["summary"], terms),
            score=round(score, 6), lexical_rank=lexical_rank, semantic_rank=semantic_rank,
        ))
    return SearchResult(hits=hits, mode=mode, terms=terms, note="" if mode == "hybrid" else _note(),
                        locales={i: rows[i]["locale"] for i in rows}, audiences={i: rows[i]["audience"] for i in rows})


def article_url(row: dict) -> str:
    """Where a person reads the article: the help center for public ones, the agent workspace otherwise."""
    if row["audience"] == Audience.INTERNAL:
        path = f"/knowledge/articles/{row['id']}/"
    else:
        path = help_center_path(row["workspace__slug"], row["locale"], row["slug"])
    return f"{settings.PUBLIC_BASE_URL}{path}"


def help_center_path(workspace_slug: str, locale: str, slug: str = "") -> str:
    from urllib.parse import quote

    base = f"/help/{workspace_slug}/{locale}/"
    return f"{base}articles/{quote(slug)}/" if slug else base


def _tokens(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), w.lower() if (w := m.group()).isascii() else fold(w)) for m in _WORD_RE.finditer(text)]


def snippet(body_text: str, summary: str, terms: list[str], words: int = SNIPPET_WORDS) -> str:
    """About `words` words of the body around the densest run of matched words, plain text; the summary
    when no word matches (a semantic match)."""
    text = " ".join(body_text[:20_000].split())
    tokens = _tokens(text)
    matcher = _matcher(tuple(terms)) if terms else None
    hits = [i for i, (_, _, word) in enumerate(tokens) if matcher and matcher(word)]
    if not hits:
        return summary or _cut(text, tokens, 0, words)
    stems = [_stem(tokens[i][2]) for i in hits]
    best_start, best_key, last = hits[0], (-1, -1), 0
    for n, first in enumerate(hits):  # a window of `words` words starting at each matched word
        while last < len(hits) and hits[last] < first + words:
            last += 1
        key = (len(set(stems[n:last])), last - n)
        if key > best_key:
            best_key, best_start = key, first
    start = max(0, min(best_start - words // 4, len(tokens) - words))
    return _cut(text, tokens, start, words)


def _cut(text: str, tokens: list[tuple[int, int, str]], start: int, words: int) -> str:
    if not tokens:
        return text[:200]
    end = min(len(tokens), start + words) - 1
    piece = text[tokens[start][0] if start else 0: tokens[end][1] if end < len(tokens) - 1 else len(text)]
    return ("…" if start else "") + piece + ("…" if end < len(tokens) - 1 else "")


def highlight(text: str, terms: list[str]) -> str:
    """The text as HTML: escaped, then each matched word wrapped in <mark>."""
    out: list[str] = []
    last = 0
    matcher = _matcher(tuple(terms)) if terms else None
    for start, end, word in _tokens(text):
        if matcher and matcher(word):
            out.append(escape(text[last:start]))
            out.append(f"<mark>{escape(text[start:end])}</mark>")
            last = end
    out.append(escape(text[last:]))
    return "".join(out)
