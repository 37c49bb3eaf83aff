"""Reads that span several statements see one state of the database, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, Table, insert, select

from clearway.database import make_engine, snapshot

metadata = MetaData()
counter = Table(
    "counter_test", metadata, Column("id", Integer, primary_key=True), Column("n", Integer)
)


def test_a_snapshot_does_not_see_a_commit_made_between_two_of_its_reads(database_url):
    engine = make_engine(database_url)
    try:
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(insert(counter).values(id=1, n=1))
        with snapshot(engine) as session:
            first = session.execute(select(counter.c.n)).scalar_one()
            with engine.begin() as conn:  # another writer commits meanwhile
                conn.execute(counter.update().values(n=2))
            second = session.execute(select(counter.c.n)).scalar_one()
        assert (first, second) == (1, 1)
        with snapshot(engine) as session:
            assert session.execute(select(counter.c.n)).scalar_one() == 2
    finally:
        engine.dispose()
