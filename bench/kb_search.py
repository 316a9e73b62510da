"""Knowledge-base search benchmark: latency with 10,000 articles, and retrieval quality on StackFAQ.

    python bench/kb_search.py                           # SQLite file in a temporary directory
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/kb_search.py
                                                        # PostgreSQL: creates and drops touchpoint_bench_kb
    python bench/kb_search.py --articles 2000 --samples 100      # a quick look
    python bench/kb_search.py --stackfaq ../shared/data/stackfaq --skip-latency

(a) **Latency.** `--articles` generated help articles (an outdoor shop's vocabulary: 120–320 words each,
title and paragraphs) are bulk-inserted with the real Markdown rendering (the database's triggers keep
the full-text index), and embedded with the real chunking in large batches. Then `--samples` distinct
queries (no query repeats, so the query-embedding cache never helps) through `search_articles`, the
selector the help center, the composer and the bot call, in lexical mode and in hybrid mode, and through
`GET /api/v1/knowledge/search` (the whole Django request with a bearer token). Budget: p95 < 30 ms.

With `--synthetic-vectors` the articles' passages get seeded random unit vectors instead of the model's
(same count and size, so the same search cost; only the answers are meaningless); queries are still
encoded by the model. Encoding 40,000 passages takes minutes on a quiet two-core machine.

(b) **Quality.** StackFAQ's `threads/` folder (BEIR format: one article per thread, title + question and
answers; 1,249 paraphrased user questions with one relevant thread each) loaded into a workspace of its
own through the same code (embeddings by `embed_stale`), then every query through `search_articles`:
Recall@5 (the relevant thread in the top five) and MRR@10, lexical vs hybrid (and the semantic ranking
alone, for reference). The data set is read from `--stackfaq` at run time and never copied.

A measurement, not a test: it prints figures and the load average (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from common import fresh_database  # noqa: E402  (bench/ is on the path above)

BENCH_DB = "touchpoint_bench_kb"
BUDGET_MS = 30.0

PRODUCTS = ["jacket", "boots", "tent", "sleeping bag", "backpack", "fleece", "gloves", "trousers", "base layer",
            "rain shell", "hiking poles", "stove", "headlamp", "socks", "gaiters", "beanie", "down vest", "sandals"]
ATTRIBUTES = ["waterproof", "insulated", "lightweight", "merino", "leather", "children's", "women's", "men's",
              "recycled", "wide-fit", "packable", "breathable"]
TOPICS = {
    "sizing": "size fit measure length chest waist sleeve narrow roomy tight loose inseam torso hips calf width "
              "chart centimetres inches between sizes shoulder stretch shrink layering volume toe heel".split(),
    "care": "wash dry reproof clean store wax brush detergent temperature tumble iron soak rinse mould odour "
            "conditioner spray bleach softener stain mud hang flat drip".split(),
    "repair": "zip seam sole buckle patch repair glue stitching warranty replace tear hole delamination slider "
              "teeth strap clip pole section fabric puncture resole thread".split(),
    "delivery": "delivery courier tracking parcel express pickup address customs days depot signature neighbour "
                "locker dispatch warehouse label overnight weekend island postcode redirect".split(),
    "returns": "return refund exchange label receipt unworn tags window credit voucher drop-off collection "
               "faulty damaged wrong swap reason prepaid inspection".split(),
    "payment": "payment card invoice discount code gift instalments declined paypal klarna vat currency "
               "authorisation charged pending statement receipt billing promo".split(),
    "use": "trail campsite layering condensation rain snow altitude blisters pitch guy lines ventilation "
           "insulation wind summit scramble bothy wild camping frost ridge bog".split(),
}
COMMON = ("make sure always never usually often first then after before during when while quickly gently "
          "carefully properly fully slightly really simply longer shorter warmer drier cooler easier harder "
          "better safer newer older heavier lighter thicker thinner").split()
_SYLLABLES = ["ka", "tor", "ri", "don", "ae", "nach", "fell", "stad", "mor", "ven", "lo", "quin", "ash", "by",
              "hel", "vel", "lyn", "gar", "bro", "thorn", "wick", "sca", "ur", "dale", "ben", "ross"]


def _model_names(rng: random.Random, count: int) -> list[str]:
    names: set[str] = set()
    while len(names) < count:
        names.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize())
    return sorted(names)


MODELS = _model_names(random.Random(1), 600)


def _sentence(rng: random.Random, product: str, model: str, words: list[str]) -> str:
    picked = rng.sample(words, 3)
    return " ".join([rng.choice(COMMON).capitalize(), rng.choice(["check", "keep", "use", "avoid", "adjust",
                     "test", "choose", "look at"]), f"the {model} {product}", picked[0], "and", picked[1],
                     rng.choice(COMMON), picked[2]] + rng.sample(COMMON, 2)) + "."


def generated_article(rng: random.Random, n: int) -> tuple[str, str]:
    """One article about one product model and one topic, with that topic's words and common ones: the
    words of a query then match a share of the articles, as in a real shop's help center."""
    product, model = rng.choice(PRODUCTS), rng.choice(MODELS)
    topic = rng.choice(list(TOPICS))
    words = TOPICS[topic]
    title = f"{model} {rng.choice(ATTRIBUTES)} {product}: {rng.choice(words)} and {rng.choice(words)}"
    paragraphs = [" ".join(_sentence(rng, product, model, words) for _ in range(rng.randint(2, 5)))
                  for _ in range(rng.randint(3, 6))]
    return title, "\n\n".join(paragraphs)


def query_for(rng: random.Random) -> str:
    product, model = rng.choice(PRODUCTS), rng.choice(MODELS)
    words = TOPICS[rng.choice(list(TOPICS))]
    shapes = [f"how do I {rng.choice(['wash', 'fix', 'return', 'size', 'track'])} my {product} {rng.choice(words)}",
              f"{model} {product} {rng.choice(words)}",
              f"{rng.choice(ATTRIBUTES)} {product} {rng.choice(words)} {rng.choice(words)}",
              f"my {product} {rng.choice(words)} problem after {rng.randint(2, 40)} days",
              f"what is the {rng.choice(words)} for {rng.choice(ATTRIBUTES)} {product}s"]
    return rng.choice(shapes)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def line(name: str, samples: list[float], cpu: list[float], budget: float | None = BUDGET_MS) -> str:
    """Wall time, then this process's CPU time per search: on a shared machine the CPU time is what the
    search costs, the wall time what it cost while sharing the cores."""
    p50, p95, p99 = statistics.median(samples), pct(samples, 95), pct(samples, 99)
    verdict = "" if budget is None else f"  budget p95 < {budget:.0f} ms: {'met' if p95 < budget else 'NOT met'}"
    return (f"  {name:<40} wall p50 {p50:6.1f} p95 {p95:6.1f} p99 {p99:6.1f} ms | cpu p50 {statistics.median(cpu):5.1f} "
            f"p95 {pct(cpu, 95):5.1f} ms  (n={len(samples)}){verdict}")


def make_workspace(slug: str):
    from touchpoint.accounts import services as accounts
    from touchpoint.accounts.selectors import actor_for
    from touchpoint.core.permissions import Role

    workspace, admin = accounts.create_workspace(name=slug, slug=slug, admin_email=f"admin@{slug}.test",
                                                 admin_password="bench-admin-1")
    supervisor = accounts.seed_member(workspace=workspace, email=f"sup@{slug}.test", password="bench-sup-12",
                                      display_name="Sup", role=Role.SUPERVISOR)
    _, key = accounts.issue_token(actor=actor_for(admin), name="bench", role=Role.AGENT)
    return workspace, supervisor, key


def bulk_articles(workspace, author, rows: list[tuple[str, str]]) -> list[int]:
    """Published English articles by bulk insert, rendered as the services render them."""
    from touchpoint.core.clock import now
    from touchpoint.knowledge.models import Article, KnowledgeIndex
    from touchpoint.knowledge.services import clean_title, render_body_into

    at = now()
    articles = []
    for n, (title, body) in enumerate(rows):
        article = Article(workspace=workspace, locale="en", title=clean_title(title)[:200], slug=f"article-{n}",
                          status="published", audience="public", author=author, created_at=at, updated_at=at,
                          published_at=at)
        render_body_into(article, article.title, body)
        articles.append(article)
    made = Article.objects.bulk_create(articles, batch_size=500)
    KnowledgeIndex.objects.update_or_create(workspace=workspace, defaults={"version": 1})
    return [a.pk for a in made]


def bulk_embed(workspace_id: int) -> tuple[int, float]:
    """Every article's passages encoded in large batches (the real chunking and storage), as a bulk load
    would; the services do the same one article at a time."""
    from django.db.models import F

    from touchpoint.knowledge import embeddings
    from touchpoint.knowledge.models import Article, ArticleChunk

    started = time.perf_counter()
    rows = list(Article.objects.filter(workspace_id=workspace_id).values_list("id", "title", "body_text"))
    texts, owners = [], []
    for article_id, title, body in rows:
        for position, text in enumerate(embeddings.chunk_texts(title, body)):
            texts.append(text)
            owners.append((article_id, position))
    vectors = embeddings.encode(texts)
    ArticleChunk.objects.bulk_create([
        ArticleChunk(workspace_id=workspace_id, article_id=article_id, position=position, text=text,
                     vector=embeddings.to_bytes(vector), model=embeddings.MODEL_NAME)
        for (article_id, position), text, vector in zip(owners, texts, vectors, strict=True)
    ], batch_size=1000)
    Article.objects.filter(workspace_id=workspace_id).update(embedded_hash=F("content_hash"))
    return len(texts), time.perf_counter() - started


def synthetic_embed(workspace_id: int) -> tuple[int, float]:
    """The same passages (the real chunking) with seeded random unit vectors instead of the model's: the
    search's cost depends on the matrix's size, not on its values, and encoding 40,000 passages takes
    minutes on a quiet two-core machine (an hour on a busy one). Said so in the output."""
    import numpy as np

    from touchpoint.knowledge import embeddings
    from touchpoint.knowledge.models import Article, ArticleChunk

    started = time.perf_counter()
    rng = np.random.default_rng(11)
    chunks = []
    for article_id, title, body in Article.objects.filter(workspace_id=workspace_id).values_list("id", "title", "body_text"):
        texts = embeddings.chunk_texts(title, body)
        vectors = rng.standard_normal((len(texts), embeddings.DIMENSIONS)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        chunks += [ArticleChunk(workspace_id=workspace_id, article_id=article_id, position=n, text=text,
                                vector=embeddings.to_bytes(vector), model="random (benchmark)")
                   for n, (text, vector) in enumerate(zip(texts, vectors, strict=True))]
    ArticleChunk.objects.bulk_create(chunks, batch_size=1000)
    return len(chunks), time.perf_counter() - started


def settle() -> None:
    """What follows a bulk load by itself: PostgreSQL's autovacuum vacuums and analyzes the new postings
    within a minute (so the ranking reads them from the index alone); SQLite is left as loaded."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def set_semantic(on: bool) -> None:
    from django.conf import settings

    settings.KNOWLEDGE_SEMANTIC = on


def latency(args) -> None:
    from django.test import Client

    from touchpoint.knowledge import embeddings
    from touchpoint.knowledge.selectors import search_articles

    rng = random.Random(7)
    workspace, supervisor, key = make_workspace("bench")
    started = time.perf_counter()
    bulk_articles(workspace, supervisor, [generated_article(rng, n) for n in range(args.articles)])
    print(f"(a) latency: {args.articles:,} articles inserted and indexed in {time.perf_counter() - started:.1f} s")
    ml = embeddings.available()
    if ml and args.synthetic_vectors:
        chunks, took = synthetic_embed(workspace.pk)
        print(f"    {chunks:,} passages with random unit vectors (--synthetic-vectors), stored in {took:.1f} s; "
              "queries are still encoded by the model")
    elif ml:
        chunks, took = bulk_embed(workspace.pk)
        print(f"    {chunks:,} passages embedded in {took:.1f} s ({chunks / took:.0f} passages/s)")
    else:
        print(f"    no embeddings: {embeddings.unavailable_reason()}")
    settle()
    queries = list(dict.fromkeys(query_for(rng) for _ in range(args.samples * 8)))
    rng.shuffle(queries)
    modes = [("lexical", False)] + ([("hybrid", True)] if ml else [])
    client = Client(headers={"Authorization": f"Bearer {key}"})
    for mode, on in modes:
        set_semantic(on)
        pool = iter(queries)
        for _ in range(5):  # warm-up: the model, the matrix, the statements
            search_articles(workspace.pk, next(pool))
        samples, cpu, found = [], [], 0
        for _ in range(args.samples):
            query = next(pool)
            t, c = time.perf_counter(), time.process_time()
            hits = search_articles(workspace.pk, query, limit=5)
            samples.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
            found += bool(hits)
        print(line(f"search_articles, {mode}", samples, cpu) + f"  {found}/{args.samples} found something")
        api, api_cpu = [], []
        for _ in range(args.samples):
            query = next(pool)
            t, c = time.perf_counter(), time.process_time()
            response = client.get("/api/v1/knowledge/search", {"q": query, "limit": 10})
            api.append((time.perf_counter() - t) * 1000)
            api_cpu.append((time.process_time() - c) * 1000)
            assert response.status_code == 200, response.content[:300]
        print(line(f"GET /api/v1/knowledge/search, {mode}", api, api_cpu))
    set_semantic(True)


def read_beir(folder: Path) -> tuple[dict, dict, dict]:
    corpus = {}
    with (folder / "corpus.jsonl").open() as f:
        for row in map(json.loads, f):
            corpus[row["_id"]] = (row.get("title") or "", row.get("text") or "")
    with (folder / "queries.jsonl").open() as f:
        queries = {row["_id"]: row["text"] for row in map(json.loads, f)}
    qrels: dict[str, set[str]] = {}
    with (folder / "qrels" / "test.tsv").open() as f:
        for n, row in enumerate(f):
            parts = row.strip().split("\t")
            if n == 0 and not parts[-1].isdigit():
                continue  # header
            if len(parts) >= 3 and int(parts[2]) > 0:
                qrels.setdefault(parts[0], set()).add(parts[1])
    return corpus, queries, qrels


def quality(args) -> None:
    from touchpoint.knowledge import embeddings, search, services
    from touchpoint.knowledge.models import Article

    folder = Path(args.stackfaq).resolve() / "threads"
    if not folder.exists():
        print(f"(b) quality: no StackFAQ at {folder}; pass --stackfaq PATH")
        return
    corpus, queries, qrels = read_beir(folder)
    workspace, supervisor, _ = make_workspace("stackfaq")
    doc_ids = list(corpus)
    article_ids = bulk_articles(workspace, supervisor, [corpus[d] for d in doc_ids])
    doc_of = dict(zip(article_ids, doc_ids, strict=True))
    Article.objects.filter(workspace=workspace).update(embedded_hash="")
    ml = embeddings.available()
    if ml:
        started = time.perf_counter()
        embedded = services.embed_stale(workspace_id=workspace.pk)
        print(f"(b) quality: StackFAQ threads, {len(corpus)} articles ({embedded} embedded by embed_stale in "
              f"{time.perf_counter() - started:.1f} s), {len(qrels)} queries with a relevant thread")
    else:
        print(f"(b) quality: StackFAQ threads, {len(corpus)} articles, {len(qrels)} queries; no embeddings: "
              f"{embeddings.unavailable_reason()}")
    settle()
    modes = [("lexical", False)] + ([("hybrid", True)] if ml else [])
    results = {}
    for mode, on in modes:
        set_semantic(on)
        ranked: dict[str, list[str]] = {}
        semantic_only: dict[str, list[str]] = {}
        took = []
        for query_id in qrels:
            t = time.perf_counter()
            result = search.search(workspace.pk, queries[query_id], audience="public", limit=10)
            took.append((time.perf_counter() - t) * 1000)
            ranked[query_id] = [doc_of[h.article_id] for h in result.hits]
            if on:
                by_semantic = sorted((h for h in result.hits if h.semantic_rank), key=lambda h: h.semantic_rank)
                semantic_only[query_id] = [doc_of[h.article_id] for h in by_semantic]
        results[mode] = (ranked, took)
        if on:
            results["semantic ranking alone (from the hybrid run)"] = (semantic_only, took)
    for mode, (ranked, took) in results.items():
        recall5 = statistics.mean(bool(set(ranked[q][:5]) & qrels[q]) for q in qrels)
        mrr10 = statistics.mean(next((1 / r for r, d in enumerate(ranked[q][:10], 1) if d in qrels[q]), 0.0)
                                for q in qrels)
        print(f"  {mode:<48} Recall@5 {recall5:.3f}  MRR@10 {mrr10:.3f}  (search p50 {statistics.median(took):.1f} ms)")
    set_semantic(True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--stackfaq", default=str(ROOT.parent / "shared" / "data" / "stackfaq"))
    parser.add_argument("--synthetic-vectors", action="store_true",
                        help="(a) only: random unit vectors for the articles' passages instead of encoding them")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()
    described, clean_up = fresh_database(BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "touchpoint.settings")
    import django

    django.setup()
    from django.core.management import call_command

    try:
        call_command("migrate", verbosity=0)
        print(f"kb_search: {described}; {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if not args.skip_latency:
            latency(args)
        if not args.skip_quality:
            quality(args)
        print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        clean_up()


if __name__ == "__main__":
    main()
