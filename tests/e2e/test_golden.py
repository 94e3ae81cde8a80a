"""Golden responses: the exact bytes a fixed world answers to a broad set of Kraken and admin requests.

A fresh server (fresh database, so audit ids are deterministic) loads ``GOLDEN_WORLD`` and then receives every
step of ``STEPS`` in order; each answer's status, content type and body must equal the one recorded in
``tests/golden/responses.json``. Only what no server can repeat is masked: ``serverTime``, audit ``at`` and
``request_id``, the fill time of a position opened "now", and the public key and secret of a generated key.

Re-record on purpose, never by habit: ``LEVPREF_GOLDEN_RECORD=1`` rewrites every entry,
``LEVPREF_GOLDEN_RECORD=name,name`` only the named steps (say which, and why, in the commit message).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.golden import GOLDEN_WORLD, STEPS, Step
from tests.support.postgres import PostgresCluster
from tests.support.server import ServerProcess
from tests.support.signing import signed_headers

FIXTURE = Path(__file__).resolve().parents[1] / "golden" / "responses.json"
_MASKED = re.compile(
    rb'"(serverTime|at|request_id)":"[^"]*"|"(fill_time|fillTime)":"(?!2026-01-01T00:00:00\.000Z)[^"]*"'
)


def _mask(body: bytes, generated: dict[str, str]) -> str:
    masked = _MASKED.sub(lambda m: b'"' + (m[1] or m[2]) + b'":"<masked>"', body).decode("utf-8")
    for value, placeholder in generated.items():
        masked = masked.replace(value, placeholder)
    return masked


def _send(client: httpx.Client, step: Step, generated: dict[str, str]) -> httpx.Response:
    path = step.path
    for value, placeholder in generated.items():
        path = path.replace(placeholder, value)
    headers: dict[str, str] = {}
    if step.key is not None:
        headers.update(signed_headers(step.key, path, step.query, step.body.decode()))
    if step.token is not None:
        headers["Authorization"] = f"Bearer {step.token}"
    if step.content_type is not None:
        headers["Content-Type"] = step.content_type
    url = httpx.URL(path if not step.query else f"{path}?{step.query}")
    return client.request(step.method, url, content=step.body or None, headers=headers)


def _answers(server: ServerProcess) -> Iterator[tuple[Step, dict[str, object]]]:
    generated: dict[str, str] = {}
    with httpx.Client(base_url=server.base, timeout=30) as client:
        for step in STEPS:
            response = _send(client, step, generated)
            if step.generates_key:
                issued = response.json()
                generated[issued["public"]] = "<generated-public>"
                generated[issued["secret"]] = "<generated-secret>"
            yield (
                step,
                {
                    "request": step.describe(),
                    "status": response.status_code,
                    "content_type": response.headers.get("content-type"),
                    "body": _mask(response.content, generated),
                },
            )


@pytest.fixture
def golden_server(store: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of its own on a fresh database, loaded with the golden world at start."""
    if store == "sqlite":
        url = f"sqlite:///{tmp_path / 'golden.db'}"
    else:
        cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
        url = cluster.create_database("levpref_golden")
    server = ServerProcess(url, scenario=GOLDEN_WORLD).start()
    yield server
    server.stop()


def _record(answers: dict[str, dict[str, object]], which: str) -> None:
    recorded = json.loads(FIXTURE.read_text()) if FIXTURE.exists() else {}
    names = set(answers) if which in ("1", "all") else {name.strip() for name in which.split(",")}
    unknown = names - set(answers)
    assert not unknown, f"no such golden steps: {sorted(unknown)}"
    merged = {name: (answers[name] if name in names else recorded.get(name, answers[name])) for name in answers}
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(json.dumps(merged, indent=1, ensure_ascii=False) + "\n")


def test_every_golden_request_answers_exactly_the_recorded_bytes(golden_server: ServerProcess, store: str) -> None:
    answers = {step.name: answer for step, answer in _answers(golden_server)}
    which = os.environ.get("LEVPREF_GOLDEN_RECORD", "")
    if which and store == "sqlite":
        _record(answers, which)
    recorded = json.loads(FIXTURE.read_text())
    assert list(recorded) == list(answers), "the recorded steps differ from STEPS: re-record on purpose"
    differing = [name for name in answers if answers[name] != recorded[name]]
    assert not differing, f"{len(differing)} steps differ: {', '.join(differing)}\n" + "\n".join(
        f"{name}:\n  recorded {recorded[name]}\n  answered {answers[name]}" for name in differing[:5]
    )
