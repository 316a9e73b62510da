"""`touchpoint embed_articles [--workspace SLUG]`: compute the semantic-search embeddings of every article
whose text changed since its embeddings were made (all of them the first time, e.g. after installing the
ml extra on a desk that ran without it). The worker does the same for each article as it is saved."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from touchpoint.accounts.models import Workspace
from touchpoint.knowledge import embeddings, services


class Command(BaseCommand):
    help = "Embed the knowledge base's articles for semantic search (needs the ml extra)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", help="Only this workspace (its slug); all workspaces when left out.")

    def handle(self, *args, **options) -> None:
        if not embeddings.available():
            raise CommandError(f"Semantic search is off: {embeddings.unavailable_reason()}. Install the ml extra "
                               "(make install ML=1) to embed articles; search stays lexical without it.")
        workspace_id = None
        if options["workspace"]:
            workspace = Workspace.objects.filter(slug=options["workspace"]).first()
            if workspace is None:
                raise CommandError(f"No workspace with the slug {options['workspace']!r}.")
            workspace_id = workspace.pk
        done = services.embed_stale(workspace_id=workspace_id)
        self.stdout.write(f"Embedded {done} article{'s' if done != 1 else ''}; the others were up to date.")
