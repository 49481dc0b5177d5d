"""The hash chain: appends link, verify recomputes, any alteration is named."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import Session, SQLModel, col, create_engine, select

from audit import log
from audit.errors import AuditVerificationError
from audit.models import AuditEntry, AuditTreeNode
from audit.verify import verify_entries, verify_log


@pytest.fixture
def session(tmp_path) -> Iterator[Session]:
    engine = create_engine(f"sqlite:///{tmp_path / 'log.db'}")
    SQLModel.metadata.create_all(engine, tables=[AuditEntry.__table__, AuditTreeNode.__table__])  # type: ignore[attr-defined]
    log.install_append_only_guards(engine)
    with Session(engine) as s:
        for i in range(5):
            log.append(s, actor="alice", action="thing.done", subject=f"t{i}", payload={"n": i, "text": "é"})
        s.commit()
        yield s


def entries(session: Session) -> list[AuditEntry]:
    return [
        AuditEntry.model_validate(e.model_dump())
        for e in session.exec(select(AuditEntry).order_by(col(AuditEntry.seq)))
    ]


def test_chain_links_and_verifies(session: Session) -> None:
    rows = entries(session)
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == log.GENESIS_HASH
    assert all(b.prev_hash == a.entry_hash for a, b in zip(rows, rows[1:], strict=False))
    head = verify_log(session)
    assert (head.size, head.head_hash) == (5, rows[-1].entry_hash)


def test_payload_is_stored_canonically(session: Session) -> None:
    assert entries(session)[0].payload == '{"n":0,"text":"é"}'


@pytest.mark.parametrize(
    "alter, seq, fragment",
    [
        (lambda rows: setattr(rows[2], "payload", '{"n":99,"text":"é"}'), 3, "hash does not match"),
        (lambda rows: setattr(rows[1], "actor", "mallory"), 2, "hash does not match"),
        (lambda rows: setattr(rows[3], "time", "2020-01-01T00:00:00.000000Z"), 4, "hash does not match"),
        (lambda rows: rows.pop(2), 3, "sequence gap"),
        (lambda rows: rows.insert(1, rows.pop(3)), 2, "sequence gap"),
        (lambda rows: setattr(rows[4], "prev_hash", "0" * 64), 5, "previous-hash link"),
    ],
)
def test_any_alteration_names_the_first_bad_entry(session: Session, alter, seq: int, fragment: str) -> None:
    rows = entries(session)
    alter(rows)
    with pytest.raises(AuditVerificationError, match=fragment) as info:
        verify_entries(rows)
    assert info.value.seq == seq


def test_recomputed_forgery_still_breaks_the_next_link(session: Session) -> None:
    rows = entries(session)
    forged = rows[1]
    forged.payload = '{"n":42,"text":"é"}'
    forged.entry_hash = log.entry_digest(
        seq=forged.seq,
        time=forged.time,
        actor=forged.actor,
        action=forged.action,
        subject=forged.subject,
        payload={"n": 42, "text": "é"},
        prev_hash=forged.prev_hash,
    )
    with pytest.raises(AuditVerificationError) as info:
        verify_entries(rows)
    assert info.value.seq == 3


def test_database_refuses_update_and_delete(session: Session) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DatabaseError

    for statement in ("UPDATE audit_entries SET actor = 'x'", "DELETE FROM audit_entries"):
        with pytest.raises(DatabaseError, match="append-only"):
            session.exec(text(statement))  # type: ignore[call-overload]
        session.rollback()
    assert len(entries(session)) == 5


def test_concurrent_appends_on_sqlite_never_take_one_seq(tmp_path) -> None:
    """Appends that are the first write of their transactions, from many threads at once (a server's
    requests): each gets its own `seq`, none fails, and the log verifies. The sqlite3 module opens a
    transaction only before a write, so without the write lock taken first two appends read one head."""
    import threading

    from gateway.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'log.db'}")  # the gateway's engine: WAL, busy timeout
    SQLModel.metadata.create_all(engine, tables=[AuditEntry.__table__, AuditTreeNode.__table__])  # type: ignore[attr-defined]
    log.install_append_only_guards(engine)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def writer(n: int) -> None:
        start.wait()
        for i in range(15):
            try:
                with Session(engine) as s:
                    log.append(s, actor=f"t{n}", action="test.appended", subject=str(i), payload={"i": i})
                    s.commit()
            except BaseException as exc:  # noqa: BLE001 - any failure is what the test looks for
                errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Session(engine) as s:
        assert verify_log(s).size == 8 * 15
