"""SQLite: the full-text index carries each article's scope (workspace, status, audience, language) in
two tokens, so one MATCH finds and ranks a workspace's visible articles without reading the wide article rows.

With 10,000 articles, joining every match to its row to check the workspace and status took three
quarters of a search (each row's body columns sit before those fields, in overflow pages). The scope
column is contentless and weighted 0 in bm25(), so it filters without changing the rank."""

from django.db import migrations

# Two tokens per article, e.g. "k5p1" and "k5p1en0": k + workspace id + p(ublished) or d(raft) +
# 1 (public) or 2 (internal), then the same with the language and a 0. Ending in a digit keeps them out of
# the porter stemmer's reach; a query ANDs one of them (or an OR of two) with its words.
_KEY = "'k' || {r}.workspace_id || substr({r}.status, 1, 1) || CASE {r}.audience WHEN 'public' THEN '1' ELSE '2' END"
SCOPE = (f"({_KEY}) || ' ' || ({_KEY}) || lower(substr({{r}}.locale, 1, instr({{r}}.locale || '-', '-') - 1)) "
         "|| '0'")
COLUMNS = "title, body_text, scope"


def _values(row: str) -> str:
    return f"{row}.id, {row}.title, {row}.body_text, {SCOPE.format(r=row)}"


SQLITE_UP = [
    "DROP TRIGGER IF EXISTS knowledge_article_fts_au",
    "DROP TRIGGER IF EXISTS knowledge_article_fts_ad",
    "DROP TRIGGER IF EXISTS knowledge_article_fts_ai",
    "DROP TABLE IF EXISTS knowledge_article_fts",
    f"CREATE VIRTUAL TABLE knowledge_article_fts USING fts5({COLUMNS}, content='', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER knowledge_article_fts_ai AFTER INSERT ON knowledge_article BEGIN "
    f"INSERT INTO knowledge_article_fts(rowid, {COLUMNS}) VALUES ({_values('new')}); END",
    f"CREATE TRIGGER knowledge_article_fts_ad AFTER DELETE ON knowledge_article BEGIN "
    f"INSERT INTO knowledge_article_fts(knowledge_article_fts, rowid, {COLUMNS}) VALUES ('delete', {_values('old')}); END",
    f"CREATE TRIGGER knowledge_article_fts_au AFTER UPDATE OF title, body_text, status, audience, locale, workspace_id "
    f"ON knowledge_article BEGIN "
    f"INSERT INTO knowledge_article_fts(knowledge_article_fts, rowid, {COLUMNS}) VALUES ('delete', {_values('old')}); "
    f"INSERT INTO knowledge_article_fts(rowid, {COLUMNS}) VALUES ({_values('new')}); END",
    f"INSERT INTO knowledge_article_fts(rowid, {COLUMNS}) SELECT {_values('a')} FROM knowledge_article a",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS knowledge_article_fts_au",
    "DROP TRIGGER IF EXISTS knowledge_article_fts_ad",
    "DROP TRIGGER IF EXISTS knowledge_article_fts_ai",
    "DROP TABLE IF EXISTS knowledge_article_fts",
    "CREATE VIRTUAL TABLE knowledge_article_fts USING fts5(title, body_text, content='knowledge_article', "
    "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER knowledge_article_fts_ai AFTER INSERT ON knowledge_article BEGIN "
    "INSERT INTO knowledge_article_fts(rowid, title, body_text) VALUES (new.id, new.title, new.body_text); END",
    "CREATE TRIGGER knowledge_article_fts_ad AFTER DELETE ON knowledge_article BEGIN "
    "INSERT INTO knowledge_article_fts(knowledge_article_fts, rowid, title, body_text) "
    "VALUES ('delete', old.id, old.title, old.body_text); END",
    "CREATE TRIGGER knowledge_article_fts_au AFTER UPDATE OF title, body_text ON knowledge_article BEGIN "
    "INSERT INTO knowledge_article_fts(knowledge_article_fts, rowid, title, body_text) "
    "VALUES ('delete', old.id, old.title, old.body_text); "
    "INSERT INTO knowledge_article_fts(rowid, title, body_text) VALUES (new.id, new.title, new.body_text); END",
    "INSERT INTO knowledge_article_fts(knowledge_article_fts) VALUES ('rebuild')",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            for sql in statements:
                schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0002_article_search")]

    operations = [migrations.RunPython(_run(SQLITE_UP), _run(SQLITE_DOWN))]
