"""Schemathesis against a live server, with the schema the server serves at ``/openapi.json``.

Three bounded, deterministic passes (fixed seed, derandomized Hypothesis, ``EXAMPLES`` cases per operation and
generation mode), each over positive and negative data:

- **anonymous**: every operation as generated (Kraken private endpoints mostly answer shape A
  ``authenticationError``; admin endpoints 401);
- **signed**: the Kraken private endpoints, signed by a schemathesis ``before_call`` hook with alice's full-access key
  over the query string and body exactly as sent, so that the handlers themselves get fuzzed;
- **admin**: the admin API with the bearer token (``PUT /admin/v1/scenario`` may replace the world: the world is
  reloaded before each pass).

Every response must conform to the document (status code, content type, headers, body schema); no 5xx other than the
shape-B business errors; no shape A ``Server Error``/``unknownError``; no transport error; and the server is healthy
at the end with no unhandled error in its log. The figures are printed (``pytest -s`` shows them).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis.errors import HypothesisException
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from levpref.auth.authent import sign_b64
from tests.support import world
from tests.support.server import ADMIN_TOKEN, ServerProcess

pytestmark = pytest.mark.e2e

EXAMPLES = 30  # per operation and generation mode
SEED = 20261124
CHECKS = [status_code_conformance, content_type_conformance, response_headers_conformance, response_schema_conformance]
KRAKEN = "/derivatives/api/v3/"
BUSINESS_500 = {87, 88, 41, 92, 89, 90}
UNHANDLED_CODES = {"Server Error", "unknownError"}


@dataclass
class Figures:
    requests: int = 0
    violations: list[str] = field(default_factory=list)
    unhandled: list[str] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)  # "success", a shape A code, or a business code


def _outcome(response: schemathesis.Response) -> str:
    try:
        body = json.loads(response.content)
    except ValueError:
        return "not JSON"
    if not isinstance(body, dict):
        return "JSON"
    if body.get("result") == "success":
        return "success"
    if "errors" in body and isinstance(body["errors"], list) and body["errors"]:
        return str(body["errors"][0].get("code"))
    return str(body.get("error", "other"))


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of its own, with the failed-auth limit per client IP raised so that fuzzed authentication keeps
    reaching the verifier (at the default 20 a minute, all but the first 20 answers would be apiLimitExceeded)."""
    db = Path(tmp_path_factory.mktemp("fuzz")) / "levpref.db"
    server = ServerProcess(
        f"sqlite:///{db}", scenario=world.scenario(), env={"LEVPREF_FAILED_AUTH_LIMIT": "1000000"}
    ).start()
    yield server
    server.stop()


class KrakenAuthent(requests.auth.AuthBase):
    """Signs the prepared request: ``Authent`` over the raw query string and body exactly as they go on the wire."""

    def __init__(self, key: tuple[str, str]) -> None:
        self.key = key
        self.nonces = itertools.count(1_800_000_000_000)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        assert r.url is not None
        url = urlsplit(r.url)
        body = r.body or b""
        text = body.decode("utf-8", "surrogateescape") if isinstance(body, bytes) else body
        nonce = str(next(self.nonces))  # a fresh, valid nonce: authentication is fuzzed by the anonymous pass
        r.headers["APIKey"] = self.key[0]
        r.headers["Nonce"] = nonce
        r.headers["Authent"] = sign_b64(self.key[1], url.query + text, nonce, unquote(url.path))
        return r


@contextmanager
def signing_hook(key: tuple[str, str]) -> Iterator[None]:
    """A global schemathesis ``before_call`` hook that signs every request while active."""
    signer = KrakenAuthent(key)

    def before_call(context: schemathesis.HookContext, case: schemathesis.Case, kwargs: dict[str, Any]) -> None:
        kwargs["auth"] = signer

    schemathesis.hook(before_call)
    try:
        yield
    finally:
        schemathesis.hooks.GLOBAL_HOOK_DISPATCHER.unregister(before_call)


def _unhandled(response: schemathesis.Response) -> str | None:
    """Why this response is an unhandled error, or None."""
    content_type = (response.headers.get("content-type") or [""])[0]
    body: Any = None
    if content_type.startswith("application/json"):
        try:
            body = json.loads(response.content)
        except ValueError:
            return "a JSON content type with a body that is not JSON"
    if response.status_code >= 500:
        try:
            codes = {e["code"] for e in body["errors"]}
        except (KeyError, TypeError):
            return f"HTTP {response.status_code} that is not a business error"
        if response.status_code != 500 or not codes <= BUSINESS_500:
            return f"HTTP {response.status_code} with codes {codes}"
    if isinstance(body, dict) and body.get("error") in UNHANDLED_CODES:
        return f"shape A {body['error']}"
    return None


def _fuzz_operation(
    operation: Any,
    mode: schemathesis.GenerationMode,
    session: requests.Session,
    base_url: str,
    figures: Figures,
    headers: dict[str, str] | None,
) -> None:
    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        label = f"{mode.value} {case.operation.label}"
        try:
            response = case.call(base_url=base_url, session=session, headers=headers, timeout=10)
        except requests.RequestException as exc:
            figures.unhandled.append(f"{label}: transport error {exc!r}")
            return
        figures.requests += 1
        status = f"{mode.value[:3]} {response.status_code}"
        figures.statuses[status] = figures.statuses.get(status, 0) + 1
        outcome = _outcome(response)
        figures.outcomes[outcome] = figures.outcomes.get(outcome, 0) + 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            figures.violations.append(f"{label}: {group.exceptions[0].title}\n{group}")
        why = _unhandled(response)
        if why:
            figures.unhandled.append(f"{label}: {why}: {response.content[:300]!r}")

    try:
        run()
    except HypothesisException:  # e.g. nothing to negate in an operation without parameters
        figures.skipped.append(f"{mode.value} {operation.label}")


def _fuzz(
    schema: Any,
    base_url: str,
    figures: Figures,
    include: Callable[[str], bool],
    headers: dict[str, str] | None = None,
) -> None:
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            if include(operation.path):
                for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
                    _fuzz_operation(operation, mode, session, base_url, figures, headers)


def test_the_live_server_conforms_to_its_openapi_document(fuzz_server: ServerProcess) -> None:
    base = fuzz_server.base
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json", timeout=10)
    passes: dict[str, Figures] = {}

    fuzz_server.load(world.scenario())
    passes["anonymous"] = Figures()
    _fuzz(schema, base, passes["anonymous"], lambda path: True)

    fuzz_server.load(world.scenario())
    passes["signed"] = Figures()
    with signing_hook(world.ALICE_FULL):
        _fuzz(schema, base, passes["signed"], lambda path: path.startswith(KRAKEN) and path != f"{KRAKEN}instruments")

    fuzz_server.load(world.scenario())
    passes["admin"] = Figures()
    bearer = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    _fuzz(schema, base, passes["admin"], lambda path: path.startswith("/admin/"), headers=bearer)
    fuzz_server.load(world.scenario())

    with httpx.Client(base_url=base, timeout=10) as client:
        healthy = client.get("/health").status_code == 200
    assert fuzz_server.proc is not None
    assert fuzz_server.proc.poll() is None, "the server died"
    logs = fuzz_server.logs()

    total = Figures()
    print()
    for name, figures in passes.items():
        print(
            f"schemathesis {name:9}: {figures.requests:5} requests, {len(figures.violations)} schema violations, "
            f"{len(figures.unhandled)} unhandled errors; statuses {json.dumps(dict(sorted(figures.statuses.items())))}"
        )
        total.requests += figures.requests
        total.violations += figures.violations
        total.unhandled += figures.unhandled
    print(
        f"schemathesis total    : {total.requests:5} requests generated, {len(total.violations)} schema violations, "
        f"{len(total.unhandled)} unhandled errors"
    )
    print(f"schemathesis signed outcomes: {json.dumps(dict(sorted(passes['signed'].outcomes.items())))}")
    assert passes["signed"].outcomes.get("success", 0) > 0, "signed requests never reached a handler"
    assert set(passes["signed"].outcomes) & {"87", "88", "41", "92", "89", "90"}, "no business error was reached"
    assert total.violations == [], "\n\n".join(total.violations[:5])
    assert total.unhandled == [], "\n".join(total.unhandled[:10])
    assert healthy
    assert "unhandled error" not in logs, logs[-4000:]
    assert "Traceback" not in logs, logs[-4000:]
