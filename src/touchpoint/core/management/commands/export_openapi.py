"""Print the API's OpenAPI schema as sorted, indented JSON: `make openapi` writes it to docs/openapi.json."""

import json

from django.core.management.base import BaseCommand
from django.core.serializers.json import DjangoJSONEncoder


def openapi_document() -> str:
    from touchpoint.api import api

    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    # Through JSON once so status-code keys become strings and sort together with the rest.
    plain = json.loads(json.dumps(schema, cls=DjangoJSONEncoder))
    return json.dumps(plain, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class Command(BaseCommand):
    help = "Print the REST API's OpenAPI schema (sorted, indented JSON)."

    def handle(self, *args: object, **options: object) -> None:
        self.stdout.write(openapi_document(), ending="")
