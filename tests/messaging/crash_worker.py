"""A worker process for the crash test: `python -m tests.messaging.crash_worker`.

With --crash it SIGKILLs itself right after its first database commit, before the offset commit.
Otherwise it runs until it has seen --expect events and writes its counters as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading

from messaging.settings import KafkaSettings
from tests.messaging.harness import consumer_loop, make_database


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--crash", action="store_true")
    parser.add_argument("--expect", type=int, default=0)
    parser.add_argument("--stats", default="")
    args = parser.parse_args()

    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    engine = make_database(args.database_url)
    loop = consumer_loop(
        engine, KafkaSettings.embedded(args.bootstrap), on_db_commit=die if args.crash else None
    )
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.02):
            if args.expect and loop.stats.processed + loop.stats.duplicates >= args.expect:
                stop.set()

    threading.Thread(target=watch, daemon=True).start()
    loop.run(stop)
    engine.dispose()
    if args.stats:
        with open(args.stats, "w") as out:
            json.dump(loop.stats.as_dict(), out)


if __name__ == "__main__":
    main()
