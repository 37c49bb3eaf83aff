"""Micro benchmarks of the hot path's unavoidable stages; prints its figures.

    .venv/bin/python -m bench.micro [--seconds 3]

- parse + XSD + field rules + extract of one CEB311 order, per core;
- signature verification per core: RSA-SHA256 and SM2-SM3 over that order;
- producer throughput to the embedded broker (the project's producer settings);
- consumer loop throughput into SQLite (inbox + one row per event, batched transactions).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from lxml import etree

from clearway.broker import free_port, start_broker
from clearway.processes import stop
from customs.ceb.documents import extract, kind_of
from customs.ceb.parsing import parse_untrusted
from customs.ceb.schema import validate_against_xsd, warm_up
from customs.ceb.signature import (
    ALL_ALGORITHMS,
    RSA_SHA256,
    SM2_SM3,
    generate_test_identity,
    sign_enveloped,
    verify_enveloped,
)
from customs.validation import check_formats
from messaging.admin import ensure_topics
from messaging.producer import build_producer
from messaging.settings import KafkaSettings
from schemas.topics import CUSTOMS_INBOUND, TOPICS
from tests.messaging.harness import consumer_loop, make_database, received, running
from tests.support import sample, unsigned


def rate(label: str, action: Callable[[], object], seconds: float) -> float:
    """Run `action` repeatedly for about `seconds`; print and return the rate per second."""
    action()
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        action()
        count += 1
    per_second = count / elapsed
    print(f"{label:<48} {per_second:>10,.0f}/s   {1e6 / per_second:>8,.1f} µs each")
    return per_second


def one_order() -> bytes:
    root = etree.fromstring(unsigned(sample("import", "CEB311Message")))
    for extra in root.findall("{http://www.chinaport.gov.cn/ceb}Order")[1:]:
        root.remove(extra)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def codec(body: bytes, seconds: float) -> None:
    def check() -> None:
        root = parse_untrusted(body)
        message_type = validate_against_xsd(root)
        check_formats(extract(root, kind_of(message_type, root)))

    rate("parse + XSD + field rules + extract (1 order)", check, seconds)


def signatures(body: bytes, seconds: float) -> None:
    for algorithm in (RSA_SHA256, SM2_SM3):
        key, der = generate_test_identity(algorithm, "bench")
        root = etree.fromstring(body)
        sign_enveloped(root, private_key=key, certificate_der=der, algorithm=algorithm)
        signed = etree.tostring(root)
        name = algorithm.rsplit("#", 1)[1]

        def verify(body: bytes = signed) -> object:
            return verify_enveloped(parse_untrusted(body), allowed_algorithms=ALL_ALGORITHMS)

        rate(f"signature verify {name} (parse included)", verify, seconds)


def kafka(seconds: float) -> None:
    port = free_port()
    broker = start_broker(port)
    try:
        settings = KafkaSettings.embedded(f"127.0.0.1:{port}")
        ensure_topics(settings, TOPICS)
        producer = build_producer(settings, client_id="bench")
        values = [received(key=f"order-{n % 97}").model_dump_json().encode() for n in range(50_000)]
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds and count < len(values):
            for value in values[count : count + 1000]:
                producer.send(CUSTOMS_INBOUND.name, key=str(count % 97).encode(), value=value)
                count += 1
            producer.flush()
        elapsed = time.perf_counter() - started
        producer.close()
        print(f"{'producer (acks=all, idempotent)':<48} {count / elapsed:>10,.0f}/s")

        with tempfile.TemporaryDirectory() as folder:
            engine = make_database(f"sqlite:///{Path(folder) / 'bench.db'}")
            loop = consumer_loop(engine, settings, group_id=f"bench-{uuid.uuid4()}")
            started = time.perf_counter()
            with running(loop):
                while loop.stats.processed + loop.stats.duplicates < count:
                    time.sleep(0.05)
                    if time.perf_counter() - started > 120:
                        break
            elapsed = time.perf_counter() - started
            done = loop.stats.processed
            print(
                f"{'consumer loop into SQLite (incl. ~1 s group join)':<48} "
                f"{done / elapsed:>10,.0f}/s   ({done} events, {loop.stats.batches} batches)"
            )
            engine.dispose()
    finally:
        stop(broker)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    args = parser.parse_args()
    warm_up()
    body = one_order()
    print(f"one core, {threading.active_count()} thread(s); each figure over ~{args.seconds:g} s")
    codec(body, args.seconds)
    signatures(body, args.seconds)
    kafka(args.seconds)


if __name__ == "__main__":
    main()
