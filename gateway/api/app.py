"""The REST API over the same service functions as the CLI."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field

from audit.errors import AuditError
from gateway.api.deps import CurrentUser, RuntimeDep, SessionDep
from gateway.errors import FtgateError
from gateway.models import (
    AdapterPublic,
    ApprovalPublic,
    BaseModelPublic,
    DatasetPublic,
    JobEventPublic,
    JobPublic,
    Page,
    UserCreated,
    UserPublic,
    Verdict,
)
from gateway.runtime import Runtime
from gateway.services import adapters, audit, catalog, datasets, jobs, users
from gateway.settings import Settings
from trainer.errors import TrainerError


class UserIn(BaseModel):
    name: str
    role: str
    team: str = "default"


class ModelIn(BaseModel):
    name: str
    path: str


class ReviewIn(BaseModel):
    note: str = Field(description="Why; kept in the audit log.")


class JobIn(BaseModel):
    dataset_id: str
    base_model: str = "smollm2-135m-instruct"
    config: dict[str, Any] = Field(default_factory=dict, description="Training settings (see TrainConfig).")
    dry_run: bool = False


class DatasetDetail(DatasetPublic):
    reviews: list[ApprovalPublic]


def _error_body(code: str, message: str, details: Any) -> dict[str, Any]:
    return {"detail": {"code": code, "message": message, "details": details}}


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """Build the app; tests hand it a temporary SQLite home or the PostgreSQL server."""
    rt = runtime or Runtime(settings or Settings())
    app = FastAPI(title="ftgate", version="0.1.0", description="Governed LLM fine-tuning.")
    app.state.runtime = rt

    @app.exception_handler(FtgateError)
    async def _ftgate_error(_: Request, exc: FtgateError) -> JSONResponse:
        return JSONResponse(
            status_code=exc.http_status, content=_error_body(exc.code, exc.message, exc.details)
        )

    @app.exception_handler(AuditError)
    async def _audit_error(_: Request, exc: AuditError) -> JSONResponse:
        status = 404 if exc.code == "not_found" else 409
        return JSONResponse(status_code=status, content=_error_body(exc.code, str(exc), None))

    @app.exception_handler(TrainerError)
    async def _trainer_error(_: Request, exc: TrainerError) -> JSONResponse:
        return JSONResponse(status_code=422, content=_error_body("trainer_error", str(exc), None))

    @app.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/me", tags=["users"], response_model=UserPublic)
    def me(user: CurrentUser) -> Any:
        return user

    @app.post("/v1/users", tags=["users"], status_code=201, response_model=UserCreated)
    def add_user(body: UserIn, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
        return users.add_user(
            rt=rt, session=session, actor=user, name=body.name, role=body.role, team=body.team
        )

    @app.get("/v1/users", tags=["users"], response_model=Page[UserPublic])
    def list_users(rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
        found = users.list_users(rt=rt, session=session, actor=user)
        return {"data": found, "count": len(found)}

    @app.post("/v1/models", tags=["models"], status_code=201, response_model=BaseModelPublic)
    def add_model(body: ModelIn, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
        from pathlib import Path

        return catalog.add_model(rt=rt, session=session, actor=user, name=body.name, path=Path(body.path))

    @app.get("/v1/models", tags=["models"], response_model=Page[BaseModelPublic])
    def list_models(rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
        found = catalog.list_models(rt=rt, session=session, actor=user)
        return {"data": found, "count": len(found)}

    @app.post("/v1/datasets", tags=["datasets"], status_code=201, response_model=DatasetPublic)
    def upload_dataset(
        rt: RuntimeDep,
        session: SessionDep,
        user: CurrentUser,
        file: Annotated[UploadFile, File(description="JSONL: chat or prompt/completion records.")],
        name: Annotated[str, Form()],
        purpose: Annotated[str, Form()],
        classification: Annotated[str, Form()],
    ) -> Any:
        return datasets.upload_dataset(
            rt=rt,
            session=session,
            actor=user,
            data=file.file.read(),
            name=name,
            purpose=purpose,
            classification=classification,
        )

    @app.get("/v1/datasets", tags=["datasets"], response_model=Page[DatasetPublic])
    def list_datasets(rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
        found = datasets.list_datasets(rt=rt, session=session, actor=user)
        return {"data": found, "count": len(found)}

    @app.get("/v1/datasets/{dataset_id}", tags=["datasets"], response_model=DatasetDetail)
    def show_dataset(dataset_id: str, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
        dataset = datasets.get_dataset(rt=rt, session=session, actor=user, dataset_id=dataset_id)
        reviews = datasets.list_approvals(session=session, dataset_id=dataset_id)
        return {**DatasetPublic.model_validate(dataset).model_dump(), "reviews": reviews}

    @app.get("/v1/datasets/{dataset_id}/download", tags=["datasets"], response_class=FileResponse)
    def download_dataset(dataset_id: str, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
        path = datasets.dataset_file(rt=rt, session=session, actor=user, dataset_id=dataset_id)
        return FileResponse(path, media_type="application/jsonl", filename=f"{dataset_id}.redacted.jsonl")

    @app.post(
        "/v1/datasets/{dataset_id}/approve", tags=["datasets"], status_code=201, response_model=ApprovalPublic
    )
    def approve_dataset(
        dataset_id: str, body: ReviewIn, rt: RuntimeDep, session: SessionDep, user: CurrentUser
    ) -> Any:
        approval = datasets.review_dataset(
            rt=rt,
            session=session,
            actor=user,
            dataset_id=dataset_id,
            verdict=Verdict.approved,
            note=body.note,
        )
        return {**approval.model_dump(), "status": approval.verdict.value}

    @app.post(
        "/v1/datasets/{dataset_id}/reject", tags=["datasets"], status_code=201, response_model=ApprovalPublic
    )
    def reject_dataset(
        dataset_id: str, body: ReviewIn, rt: RuntimeDep, session: SessionDep, user: CurrentUser
    ) -> Any:
        approval = datasets.review_dataset(
            rt=rt,
            session=session,
            actor=user,
            dataset_id=dataset_id,
            verdict=Verdict.rejected,
            note=body.note,
        )
        return {**approval.model_dump(), "status": approval.verdict.value}

    @app.post("/v1/jobs", tags=["jobs"], status_code=201)
    def submit_job(body: JobIn, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
        config = jobs.parse_config(body.config)
        result = jobs.submit_job(
            rt=rt,
            session=session,
            actor=user,
            dataset_id=body.dataset_id,
            base_model=body.base_model,
            config=config,
            dry_run=body.dry_run,
        )
        decision = {**result.decision.model_dump(mode="json"), "id": result.decision_id}
        if result.job is None:
            return JSONResponse(
                status_code=200,
                content={
                    "id": None,
                    "status": "allowed" if result.decision.allow else "denied",
                    "dry_run": True,
                    "decision": decision,
                },
            )
        return {**JobPublic.model_validate(result.job).model_dump(mode="json"), "decision": decision}

    @app.get("/v1/jobs", tags=["jobs"], response_model=Page[JobPublic])
    def list_jobs(rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
        found = jobs.list_jobs(rt=rt, session=session, actor=user)
        return {"data": found, "count": len(found)}

    @app.get("/v1/jobs/{job_id}", tags=["jobs"], response_model=JobPublic)
    def show_job(job_id: str, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
        return jobs.get_job(rt=rt, session=session, actor=user, job_id=job_id)

    @app.get("/v1/jobs/{job_id}/events", tags=["jobs"], response_model=Page[JobEventPublic])
    def job_events(
        job_id: str, rt: RuntimeDep, session: SessionDep, user: CurrentUser, after: int = 0
    ) -> Any:
        found = jobs.job_events(rt=rt, session=session, actor=user, job_id=job_id, after=after)
        return {"data": found, "count": len(found)}

    @app.get("/v1/adapters", tags=["adapters"], response_model=Page[AdapterPublic])
    def list_adapters(rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
        found = adapters.list_adapters(rt=rt, session=session, actor=user)
        return {"data": found, "count": len(found)}

    @app.get("/v1/adapters/{adapter_id}", tags=["adapters"], response_model=AdapterPublic)
    def show_adapter(adapter_id: str, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
        return adapters.get_adapter(rt=rt, session=session, actor=user, adapter_id=adapter_id)

    @app.get("/v1/adapters/{adapter_id}/lineage", tags=["audit"])
    def adapter_lineage(
        adapter_id: str, rt: RuntimeDep, session: SessionDep, user: CurrentUser, format: str = "json"
    ) -> Any:
        return audit.export_lineage(rt=rt, session=session, actor=user, adapter_id=adapter_id, fmt=format)

    @app.get("/v1/audit/verify", tags=["audit"])
    def verify_log(rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
        return audit.verify(rt=rt, session=session, actor=user)

    return app
