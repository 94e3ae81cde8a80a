"""The exception tree and the categories drawn in ``levpref.errors``'s docstring are the classes' real bases."""

from __future__ import annotations

import inspect
import re

import pytest

from levpref import errors
from levpref.adapters.http import render
from levpref.errors import EndpointRefusal, GateRefusal, LevprefError

CATEGORIES = (GateRefusal, EndpointRefusal)


def _drawn_tree() -> dict[str, str]:
    """``{class: parent}`` from the indented tree of the docstring."""
    doc = errors.__doc__ or ""
    block = doc.split("The shapes")[1].split("The categories")[0]
    parents: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for line in block.splitlines():
        match = re.fullmatch(r"( +)([A-Z][A-Za-z]+)", line.rstrip())
        if match is None:
            continue
        depth, name = len(match[1]), match[2]
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            parents[name] = stack[-1][1]
        stack.append((depth, name))
    return parents


def _drawn_categories() -> dict[str, set[str]]:
    block = (errors.__doc__ or "").split("The categories")[1]
    found = re.findall(r"^ +([A-Z][A-Za-z]+): (.+)$", block, re.MULTILINE)
    return {name: {n.strip() for n in members.split(",")} for name, members in found}


def _shape_parent(cls: type) -> type:
    """A class's place in the tree: its first base that is not a category (``LevprefError`` if all are)."""
    shaped = [b for b in cls.__bases__ if b not in CATEGORIES]
    return shaped[0] if shaped else LevprefError


def _classes() -> dict[str, type[LevprefError]]:
    return {
        name: cls
        for name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, LevprefError) and cls.__name__ == name and cls not in CATEGORIES  # not aliases
    }


def test_the_drawn_tree_is_the_real_tree_of_shapes() -> None:
    real = {name: _shape_parent(cls).__name__ for name, cls in _classes().items() if cls is not LevprefError}
    assert _drawn_tree() == real


def test_the_drawn_categories_are_the_real_direct_subclasses() -> None:
    real = {c.__name__: {s.__name__ for s in c.__subclasses__()} for c in CATEGORIES}
    assert _drawn_categories() == real


def test_every_kraken_refusal_but_the_internal_failure_has_exactly_one_category() -> None:
    kraken = [c for c in _classes().values() if issubclass(c, (errors.KrakenError, errors.BusinessError))]
    for cls in kraken:
        if cls is errors.ServerError or cls in (errors.KrakenError, errors.BusinessError):
            continue
        assert sum(issubclass(cls, category) for category in CATEGORIES) == 1, cls.__name__


@pytest.mark.parametrize(
    ("error", "status", "label"),
    [
        (errors.InsufficientMargin(), 500, "92"),
        (errors.LeverageAboveCap(), 200, "invalidArgument"),
        (errors.FailedAuthLimitExceeded(), 200, "apiLimitExceeded"),
        (errors.InvalidInput("x: y"), 200, "Server Error"),  # not a Kraken refusal: answered as an internal failure
    ],
)
def test_the_renderer_finds_each_shape_by_walking_the_mro(error: LevprefError, status: int, label: str) -> None:
    answered, body = render.kraken_error(error, "2026-12-02T00:00:00.000Z")
    assert (answered, render.outcome_of(error)) == (status, label)
    assert label.encode() in body
