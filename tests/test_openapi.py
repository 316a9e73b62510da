"""The committed OpenAPI schema (docs/openapi.json) is the API's contract: any change to the API must show
up as a change to that file in the same commit."""

import difflib
from pathlib import Path

from touchpoint.core.management.commands.export_openapi import openapi_document

COMMITTED = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"


def test_committed_schema_matches_the_live_api():
    live = openapi_document()
    committed = COMMITTED.read_text() if COMMITTED.exists() else ""
    if live != committed:
        diff = "".join(difflib.unified_diff(committed.splitlines(True), live.splitlines(True), "docs/openapi.json", "live",
                                            n=2))
        raise AssertionError(
            "The API changed but docs/openapi.json did not. Review the difference, then regenerate it with "
            f"`make openapi` and commit it.\n{diff[:4000]}"
        )


def test_every_operation_documents_its_problems():
    import json

    schema = json.loads(openapi_document())
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"401", "403", "422"} <= set(responses), (method, path)
            assert "application/problem+json" in responses["401"]["content"]
            assert operation.get("security"), f"{method} {path} must require authentication"
