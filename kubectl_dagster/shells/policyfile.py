"""Reading a LocationPolicy file (``--policy``, the ArgoCD parameter ``policy``, the project config's ``policy``):
the platform's own file, bounded like every file read, parsed by ``core.policy.document``."""

from __future__ import annotations

from ..base import errors
from ..core.policy import document
from . import sources


def load(path: str) -> document.Policy:
    docs = [doc for doc in sources.load_docs(sources.read_text(path), path) if doc is not None]
    if len(docs) != 1:
        raise errors.InputError(
            f"{path} holds {len(docs)} YAML documents", f"a policy file holds one {document.KIND} document"
        )
    return document.parse(docs[0], path)
