"""The one place that names backends: role -> name -> factory, imported lazily.

Config validation, the CLI's ``choices``, the UI's dropdowns and the composition code
(``qa.composition``) read these tables; nothing else spells a backend name. A factory is given
as ``"module:attribute"`` so that naming a backend never imports it (``import qa`` stays light,
and the PostgreSQL driver is only needed by those who choose it).

>>> names("store")
['faiss', 'postgres']
"""

from __future__ import annotations

import importlib
from typing import Any

BACKENDS: dict[str, dict[str, str]] = {
    # where chunks, sentences and their vectors live (qa.stores.base.StoreBackend)
    "store": {
        "faiss": "qa.stores.faiss:from_settings",
        "postgres": "qa.stores.postgres:PostgresBackend",
    },
    # who turns texts into vectors (qa.embedders.Embedder)
    "embedder": {
        "local": "qa.embedders:make_local_embedder",
        "openai": "qa.embedders.openai:make_openai_embedder",
    },
    # who writes the answer (qa.generators.Generator)
    "generator": {
        "local": "qa.generators.llamacpp:make_local_generator",
        "openai": "qa.generators.openai:make_hosted_generator",
    },
}


def names(role: str) -> list[str]:
    """The backend names of a role, default first."""
    return list(BACKENDS[role])


def factory(role: str, name: str) -> Any:
    """The factory of backend ``name``; ``ValueError`` naming the choices for an unknown one."""
    try:
        target = BACKENDS[role][name]
    except KeyError:
        raise ValueError(f"unknown {role} backend {name!r}; choose one of "
                         f"{', '.join(names(role))}") from None
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def create(role: str, name: str, settings: Any) -> Any:
    """A backend built from ``settings`` by its registered factory."""
    return factory(role, name)(settings)
