"""The SQLite settings every service engine gets (`clearway.database.make_engine`)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from clearway.database import WAL_CHECKPOINT_PAGES, WAL_SIZE_LIMIT_BYTES, make_engine

metadata = MetaData()
page = Table(
    "page",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("text", String(4000), nullable=False),
)


def test_every_connection_gets_the_write_ahead_log_settings(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'settings.db'}")
    try:
        with engine.connect() as conn:
            read = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar_one()
                for name in ("journal_mode", "synchronous", "wal_autocheckpoint")
            }
            read["journal_size_limit"] = conn.exec_driver_sql(
                "PRAGMA journal_size_limit"
            ).scalar_one()
    finally:
        engine.dispose()
    assert read == {
        "journal_mode": "wal",
        "synchronous": 1,  # NORMAL: the log is synced at each checkpoint
        "wal_autocheckpoint": WAL_CHECKPOINT_PAGES,
        "journal_size_limit": WAL_SIZE_LIMIT_BYTES,
    }
    assert WAL_CHECKPOINT_PAGES > 1000  # more than SQLite's default: fewer, larger checkpoints


def test_the_log_is_copied_back_only_past_its_checkpoint_size(tmp_path: Path) -> None:
    """Commits past SQLite's default 1,000 pages stay in the log; past WAL_CHECKPOINT_PAGES
    the committing writer copies it back and starts the log over."""
    path = tmp_path / "log.db"
    engine = make_engine(f"sqlite:///{path}")
    wal = Path(f"{path}-wal")
    try:
        metadata.create_all(engine)
        row = {"text": "x" * 3900}  # about a page each
        with engine.begin() as conn:
            page_size = conn.exec_driver_sql("PRAGMA page_size").scalar_one()
        for _ in range(30):  # ~1,500 pages, 50 at a time
            with engine.begin() as conn:
                conn.execute(insert(page), [row] * 50)
        frames = (wal.stat().st_size - 32) // (page_size + 24)
        assert frames > 1_500  # nothing was checkpointed yet
        for _ in range(WAL_CHECKPOINT_PAGES // 50):
            with engine.begin() as conn:
                conn.execute(insert(page), [row] * 50)
        with engine.begin() as conn:  # the first commit after a checkpoint restarts the log
            conn.execute(insert(page), [row])
        with engine.connect() as conn:
            busy, in_log, copied = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
        assert busy == 0
        assert in_log < WAL_CHECKPOINT_PAGES  # copied back once past the size, then begun again
        assert copied == in_log
    finally:
        engine.dispose()
