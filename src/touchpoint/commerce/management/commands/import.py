"""`touchpoint import commerce --workspace SLUG --products F --inventory F --orders F --shipments F [--dry-run]`

Reads each file (CSV or JSON, by its extension), checks every row through the services, and writes
everything or nothing: when any row is refused it prints each refusal with its file and row number and
exits with status 1, having written nothing. The CSV columns are in touchpoint.commerce.importers.
"""

from argparse import ArgumentParser, RawDescriptionHelpFormatter
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from touchpoint.accounts.models import Workspace
from touchpoint.commerce import importers
from touchpoint.commerce.errors import ImportRefused
from touchpoint.core.permissions import Actor, Role

SHOWN_ERRORS = 100


class Command(BaseCommand):
    help = "Import data into a workspace. `import commerce`: products, stock, orders and shipments from CSV or JSON."

    def add_arguments(self, parser: ArgumentParser) -> None:
        kinds = parser.add_subparsers(dest="what", required=True, metavar="commerce")
        commerce = kinds.add_parser("commerce", help="products, inventory, orders and shipments (CSV or JSON)",
                                    description=importers.__doc__, formatter_class=_raw_formatter())
        commerce.add_argument("--workspace", required=True, help="the workspace's slug")
        for kind in importers.KINDS:
            commerce.add_argument(f"--{kind}", metavar="FILE", help=f"{kind} as .csv or .json")
        commerce.add_argument("--dry-run", action="store_true", help="check everything and count; write nothing")
        commerce.add_argument("--max-size-mb", type=float, default=importers.max_bytes() / 1_048_576,
                              help="refuse files larger than this (default %(default)s MB)")

    def handle(self, *args: Any, what: str, workspace: str, dry_run: bool, max_size_mb: float, **options: Any) -> None:
        files = {kind: options.get(kind) for kind in importers.KINDS if options.get(kind)}
        if not files:
            raise CommandError("Name at least one file: --products, --inventory, --orders or --shipments.")
        found = Workspace.objects.filter(slug=workspace).first()
        if found is None:
            raise CommandError(f"No workspace with the slug {workspace!r}.")
        try:
            sources = [importers.read_file(kind, path, limit=int(max_size_mb * 1_048_576)) for kind, path in files.items()]
        except ImportRefused as refused:
            raise CommandError(refused.message) from None
        # Whoever runs the command on the server acts as the workspace's administrator.
        actor = Actor(workspace_id=found.pk, membership_id=None, role=Role.ADMIN)
        report = importers.import_commerce(actor=actor, sources=sources, dry_run=dry_run)
        self._print_counts(report)
        if report.errors:
            for error in report.errors[:SHOWN_ERRORS]:
                self.stderr.write(str(error))
            more = len(report.errors) - SHOWN_ERRORS
            if more > 0:
                self.stderr.write(f"... and {more} more.")
            raise CommandError(f"{len(report.errors)} row{'s' if len(report.errors) > 1 else ''} refused; nothing was "
                               "written. Correct them and import again.")
        if dry_run:
            self.stdout.write("Dry run: every row is valid; nothing was written.")
        else:
            self.stdout.write(self.style.SUCCESS(f"Imported into {found.name}."))

    def _print_counts(self, report: importers.ImportReport) -> None:
        note = " (dry run)" if report.dry_run else " (accepted rows; none written)" if report.errors else ""
        for kind, counts in report.counts.items():
            figures = ", ".join(f"{n} {outcome}" for outcome, n in counts.items())
            self.stdout.write(f"{kind:<10} {figures}{note}")


def _raw_formatter() -> Any:
    return RawDescriptionHelpFormatter
