from __future__ import annotations

import pytest

from levpref.auth.nonces import NonceVerdict, NonceWindow, nonce_key, parse_nonce
from levpref.ratelimit import MICRO, Bucket, has_room, take


@pytest.mark.parametrize("text", ["", "abc", "-1", "1.0", " 1", "1" * 21, "１２３", "0x10"])
def test_malformed_nonces_are_refused(text: str) -> None:
    assert parse_nonce(text) is None


@pytest.mark.parametrize("text", ["0", "1656427738711", "179549057107379744", "1656427738711000000", "9" * 20])
def test_nonces_of_every_client_scale_parse(text: str) -> None:
    assert parse_nonce(text) == int(text)


def test_nonce_keys_sort_like_numbers() -> None:
    values = [5, 1656427738711, 179549057107379744, 10**19 + 3, 99]
    assert sorted(values) == [int(k) for k in sorted(nonce_key(v) for v in values)]


def test_a_nonce_already_in_the_window_is_a_duplicate() -> None:
    window = NonceWindow(window=3)
    assert window.offer(10) is NonceVerdict.ACCEPT
    assert window.offer(10) is NonceVerdict.DUPLICATE


def test_the_window_accepts_out_of_order_nonces_until_it_is_full() -> None:
    window = NonceWindow(window=3)
    assert [window.offer(n) for n in (30, 10, 20)] == [NonceVerdict.ACCEPT] * 3
    assert window.offer(5) is NonceVerdict.BELOW_THRESHOLD
    assert window.offer(15) is NonceVerdict.ACCEPT_AND_EVICT
    assert window.kept == {15, 20, 30}
    assert window.offer(10) is NonceVerdict.BELOW_THRESHOLD  # evicted, and now below the smallest kept


def test_mixed_scales_are_compared_as_integers() -> None:
    window = NonceWindow(window=2)
    window.offer(179549057107379744)
    window.offer(1656427738711000000)
    assert window.offer(1656427738711) is NonceVerdict.BELOW_THRESHOLD


def test_a_fresh_budget_of_500_takes_50_puts_and_refuses_the_51st_without_charging_it() -> None:
    bucket = Bucket.full(500, now_ms=0)
    for _ in range(50):
        fits, bucket = take(bucket, 10, 500, 10_000, now_ms=0)
        assert fits
    fits, after = take(bucket, 10, 500, 10_000, now_ms=0)
    assert not fits
    assert after.level == bucket.level == 0


def test_the_budget_refills_continuously_at_50_per_second() -> None:
    empty = Bucket(0, 0)
    assert not has_room(empty, 10, 500, 10_000, now_ms=199)
    assert has_room(empty, 10, 500, 10_000, now_ms=200)
    fits, bucket = take(empty, 2, 500, 10_000, now_ms=100)
    assert fits
    assert bucket.level == 3 * MICRO


def test_the_budget_never_refills_above_capacity() -> None:
    fits, bucket = take(Bucket(0, 0), 0, 500, 10_000, now_ms=10**9)
    assert fits
    assert bucket.level == 500 * MICRO


def test_a_clock_that_goes_backwards_does_not_refill() -> None:
    bucket = Bucket(0, 1000)
    assert not has_room(bucket, 1, 500, 10_000, now_ms=0)
