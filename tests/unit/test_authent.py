"""SPEC §2.1 Authent vectors (verified against ccxt 4.5.90 and python-kraken-sdk 3.5.1)."""

from __future__ import annotations

import base64

import pytest

from levpref.auth.authent import endpoint_path, sign_b64, verify

SECRET = "c3VwZXItc2VjcmV0LWtleS1mb3ItcHJvYmluZy0wMTIzNDU2Nzg5"
PATH = "/derivatives/api/v3/leveragepreferences"
VECTORS = [
    (
        "maxLeverage=10&symbol=PF_XBTUSD",
        "",
        "6z4GgrSZ/jWESLdgAnrepLlEQA3uhq/z149bxB2tipiJPuSYsntYdKMxWlOG6G3xnuTJd2XJv7KDQ9AiXi4BnQ==",
    ),
    ("", "", "i6HJqsoBKw0rMucLFQDRVv5BRz/3Fb4PiCTgkM7SUZ2kIweU5CAAceAPeA8M5lpn8vYUEvBsXjE3LxMp0rOkLA=="),
    (
        "symbol=PF_XBTUSD",
        "",
        "doohlODd22mkXjPDBn9b7aYnBZ9IobqcVJH7SrvCHxh1Qork86hE2RG2Fs/SctOANK4uqjdad4EI598M/cbpcA==",
    ),
    (
        "symbol=PF_XBTUSD&maxLeverage=10",
        "1656427738711000000",
        "lFpofLQGz2PZ0Y266snIWcaEh3VqK+8FyFNsbJ90Nl17+2+HyphkKs6skoS6ttLZSA3nVtPvyUq+YIAXlOeaNA==",
    ),
    (
        "",
        "1656427738711000000",
        "P6HVzJIVS/fJ7qPWxugW0dErwybAocllhQHHga/eE8DcBDobqOxWvHRDNBcJ/cQE5sPJC5uMKCXSVMabIejShw==",
    ),
]


@pytest.mark.parametrize(("query", "nonce", "authent"), VECTORS)
def test_signing_reproduces_the_spec_vectors(query: str, nonce: str, authent: str) -> None:
    assert sign_b64(SECRET, query, nonce, PATH) == authent


@pytest.mark.parametrize(("query", "nonce", "authent"), VECTORS)
def test_verification_accepts_the_spec_vectors(query: str, nonce: str, authent: str) -> None:
    assert verify(base64.b64decode(SECRET), query, "", nonce, PATH, authent)


def test_a_signature_over_another_nonce_is_refused() -> None:
    authent = VECTORS[3][2]
    assert not verify(base64.b64decode(SECRET), VECTORS[3][0], "", "1656427738711000001", PATH, authent)


def test_a_signature_over_reordered_parameters_is_refused() -> None:
    authent = VECTORS[0][2]
    assert not verify(base64.b64decode(SECRET), "symbol=PF_XBTUSD&maxLeverage=10", "", "", PATH, authent)


def test_the_legacy_decoded_query_form_is_accepted() -> None:
    raw = "symbol=PF_XBT%20USD%2Fx&maxLeverage=3"
    legacy = sign_b64(SECRET, "symbol=PF_XBT USD/x&maxLeverage=3", "", PATH)
    assert verify(base64.b64decode(SECRET), raw, "", "", PATH, legacy)
    encoded = sign_b64(SECRET, raw, "", PATH)
    assert verify(base64.b64decode(SECRET), raw, "", "", PATH, encoded)


@pytest.mark.parametrize("authent", ["", "not base64!", "AAAA", "=" * 88, "é" * 10])
def test_malformed_authent_never_verifies(authent: str) -> None:
    assert not verify(base64.b64decode(SECRET), "", "", "", PATH, authent)


def test_the_body_is_part_of_the_signed_data() -> None:
    authent = sign_b64(SECRET, "symbol=PF_XBTUSD", "", PATH)
    assert verify(base64.b64decode(SECRET), "", "symbol=PF_XBTUSD", "", PATH, authent)
    assert not verify(base64.b64decode(SECRET), "", "symbol=PF_ETHUSD", "", PATH, authent)


def test_the_derivatives_prefix_is_not_signed() -> None:
    assert endpoint_path(PATH) == "/api/v3/leveragepreferences"
    assert endpoint_path("/api/v3/x") == "/api/v3/x"
