"""Full-text search over articles, kept by the database so bulk loads and imports are searchable too.

SQLite: an FTS5 table over title and body text (porter stemming, diacritics folded) kept by triggers.
PostgreSQL: a `search_vector` column (title weight A, body weight B, each stemmed by the article's
language) kept by a trigger, with a GIN index; `knowledge_ts_config(locale)` names the language's
text-search configuration, among those the server has ('simple' otherwise)."""

from django.db import DatabaseError, migrations, transaction

from touchpoint.knowledge.locales import LANGUAGES

SQLITE_UP = [
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
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS knowledge_article_fts_au",
    "DROP TRIGGER IF EXISTS knowledge_article_fts_ad",
    "DROP TRIGGER IF EXISTS knowledge_article_fts_ai",
    "DROP TABLE IF EXISTS knowledge_article_fts",
]


def _postgres_up(schema_editor) -> list[str]:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT cfgname FROM pg_ts_config")
        present = {row[0] for row in cursor.fetchall()}
    # Accents folded as SQLite's remove_diacritics does, where the unaccent extension can be had.
    fold = _unaccent(schema_editor)
    cases = " ".join(f"WHEN '{code}' THEN '{config}'::regconfig" for code, (_, config) in sorted(LANGUAGES.items())
                     if config != "simple" and config in present)
    return [
        "ALTER TABLE knowledge_article ADD COLUMN search_vector tsvector NOT NULL DEFAULT ''::tsvector",
        "CREATE FUNCTION knowledge_ts_config(locale text) RETURNS regconfig LANGUAGE sql IMMUTABLE AS "
        f"$$ SELECT CASE split_part(lower(locale), '-', 1) {cases} ELSE 'simple'::regconfig END $$",
        "CREATE FUNCTION knowledge_article_search_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"NEW.search_vector := setweight(to_tsvector(knowledge_ts_config(NEW.locale), {fold}(coalesce(NEW.title, ''))), 'A') "
        f"|| setweight(to_tsvector(knowledge_ts_config(NEW.locale), {fold}(coalesce(NEW.body_text, ''))), 'B'); "
        "RETURN NEW; END $$",
        "CREATE TRIGGER knowledge_article_search BEFORE INSERT OR UPDATE OF title, body_text, locale "
        "ON knowledge_article FOR EACH ROW EXECUTE FUNCTION knowledge_article_search_update()",
        "UPDATE knowledge_article SET title = title",
        "CREATE INDEX knowledge_article_search_idx ON knowledge_article USING GIN (search_vector)",
    ]


def _unaccent(schema_editor) -> str:
    """`unaccent` when the extension is there or may be created here, else nothing (accents then count)."""
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT installed_version IS NOT NULL FROM pg_available_extensions WHERE name = 'unaccent'")
        row = cursor.fetchone()
    if row is None:
        return ""
    if not row[0]:
        try:
            with transaction.atomic(using=connection.alias):
                schema_editor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        except DatabaseError:
            return ""
    return "unaccent"


POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS knowledge_article_search_idx",
    "DROP TRIGGER IF EXISTS knowledge_article_search ON knowledge_article",
    "DROP FUNCTION IF EXISTS knowledge_article_search_update()",
    "DROP FUNCTION IF EXISTS knowledge_ts_config(text)",
    "ALTER TABLE knowledge_article DROP COLUMN IF EXISTS search_vector",
]


def _up(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    statements = SQLITE_UP if vendor == "sqlite" else _postgres_up(schema_editor) if vendor == "postgresql" else []
    for sql in statements:
        schema_editor.execute(sql)


def _down(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    for sql in SQLITE_DOWN if vendor == "sqlite" else POSTGRES_DOWN if vendor == "postgresql" else []:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]

    operations = [migrations.RunPython(_up, _down)]
