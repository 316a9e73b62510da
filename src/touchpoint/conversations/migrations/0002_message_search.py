"""Full-text search over message text: an FTS5 index kept by triggers on SQLite, a GIN index on PostgreSQL.
Triggers (not service code) keep the SQLite index, so bulk loads and imports are indexed too."""

from django.db import migrations

SQLITE_UP = [
    "CREATE VIRTUAL TABLE conversations_message_fts USING fts5("
    "content_text, content='conversations_message', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER conversations_message_fts_ai AFTER INSERT ON conversations_message BEGIN "
    "INSERT INTO conversations_message_fts(rowid, content_text) VALUES (new.id, new.content_text); END",
    "CREATE TRIGGER conversations_message_fts_ad AFTER DELETE ON conversations_message BEGIN "
    "INSERT INTO conversations_message_fts(conversations_message_fts, rowid, content_text) "
    "VALUES ('delete', old.id, old.content_text); END",
    "CREATE TRIGGER conversations_message_fts_au AFTER UPDATE OF content_text ON conversations_message BEGIN "
    "INSERT INTO conversations_message_fts(conversations_message_fts, rowid, content_text) "
    "VALUES ('delete', old.id, old.content_text); "
    "INSERT INTO conversations_message_fts(rowid, content_text) VALUES (new.id, new.content_text); END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS conversations_message_fts_au",
    "DROP TRIGGER IF EXISTS conversations_message_fts_ad",
    "DROP TRIGGER IF EXISTS conversations_message_fts_ai",
    "DROP TABLE IF EXISTS conversations_message_fts",
]
POSTGRES_UP = [
    "CREATE INDEX conversations_message_search ON conversations_message "
    "USING GIN (to_tsvector('simple', content_text))",
]
POSTGRES_DOWN = ["DROP INDEX IF EXISTS conversations_message_search"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("conversations", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}),
            _run({"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN}),
        )
    ]
