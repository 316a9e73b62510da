"""What several knowledge tests share: a snapshot of the knowledge tables, to show a refusal wrote nothing."""

from django.apps import apps

from tests.conftest import skip_or_fail
from touchpoint.knowledge import embeddings


def kb_snapshot() -> dict[str, list[tuple]]:
    state: dict[str, list[tuple]] = {}
    for model in apps.get_app_config("knowledge").get_models():
        fields = [f.attname for f in model._meta.concrete_fields]
        state[model._meta.label] = sorted(model._base_manager.values_list(*fields), key=repr)
    return state


def need_ml() -> None:
    """Semantic search needs the ml extra: skipped on a laptop without it, a failure under CI=true."""
    if not embeddings.available():
        skip_or_fail(f"the ml extra is needed: {embeddings.unavailable_reason()}")
