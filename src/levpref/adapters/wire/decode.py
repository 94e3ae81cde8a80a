"""Strict decoding: JSON or TOML bytes → plain values → typed Structs, every refusal naming its field.

Rules:
- JSON and TOML decode into the same plain values (numbers through ``numbers.number_literal``, so never a float),
  then ``msgspec.convert(..., strict=True)`` makes the typed value: no ``"false"`` for a boolean, no unknown key.
- No string anywhere (key or value) may hold a NUL.
- Every refusal is ``InvalidInput("path: expected …")`` with the path in the document's own terms
  (``accounts[0].collateral.USD``), so the admin API and the CLI print the same sentence.
"""

from __future__ import annotations

import re
import tomllib
import types
import typing
from typing import Any, TypeVar

import msgspec

from levpref.adapters.wire.numbers import decimal_hook, number_literal
from levpref.errors import InvalidInput

T = TypeVar("T")
Segment = str | int | None  # a field, an index, or msgspec's "[...]" (a key it does not name)

_JSON = msgspec.json.Decoder(float_hook=number_literal)
_PATH = re.compile(r"^(?P<message>.*?)(?: - at (?P<key>`key` in )?`\$(?P<path>.*)`)?$", re.DOTALL)
_SEGMENT = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[\.\.\.\]")
_NAMES = {"bool": "a boolean", "str": "a string", "int": "an integer", "array": "a list", "object": "an object"}
_EXPECTED = re.compile(r"Expected `([a-z]+)`, got `[^`]+`")
_FIELD = re.compile(r"Object (contains unknown|missing required) field `(.*)`")
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")
PATTERNS: dict[str, str] = {}  # regex → what it means, filled in by the modules that declare the patterns


def loads_json(data: bytes | str) -> object:
    """Plain values of a JSON document, numbers as Decimal (or ``Spelled``)."""
    try:
        return _JSON.decode(data)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError) as exc:  # deep nesting and bad UTF-8 too
        raise InvalidInput(f"body: not valid JSON ({_first_line(exc)})") from None


def loads_toml(text: str) -> object:
    """Plain values of a TOML document, numbers as Decimal (or ``Spelled``)."""
    try:
        return tomllib.loads(text, parse_float=number_literal)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        raise InvalidInput(f"body: not valid TOML ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__


def convert(value: object, kind: type[T], where: str = "") -> T:
    """``value`` as the typed ``kind``, or ``InvalidInput`` naming the field (prefixed with ``where``)."""
    try:
        _refuse_nul(value, where)
        return msgspec.convert(value, kind, strict=True, dec_hook=decimal_hook)
    except msgspec.ValidationError as error:
        raise InvalidInput(_describe(error, value, kind, where)) from None
    except RecursionError:
        raise InvalidInput(f"{where or 'body'}: nested too deeply") from None


def _refuse_nul(value: object, path: str) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidInput(f"{path or 'body'}: must not contain NUL")
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(key, path)
            _refuse_nul(item, _join(path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_nul(item, f"{path}[{index}]")


def _join(path: str, key: object) -> str:
    text = str(key)
    name = text if _PLAIN_KEY.fullmatch(text) else f"[{text[:40]!r}]"
    return f"{path}.{name}" if path and not name.startswith("[") else f"{path}{name}"


def _describe(error: msgspec.ValidationError, value: object, kind: type, where: str) -> str:
    match = _PATH.match(str(error))
    message = match["message"] if match else str(error)
    raw = match["path"] if match and match["path"] else ""
    segments: list[Segment] = [
        m[1] if m[1] is not None else int(m[2]) if m[2] is not None else None for m in _SEGMENT.finditer(raw)
    ]
    path, leaf = _locate(segments, value, kind, where)
    if match and match["key"]:
        return f"{path or 'body'}: each key: {_sentence(message, None)}"
    field = _FIELD.fullmatch(message)
    if field:
        path = _join(path, field[2])
        return f"{path}: {'unknown key' if field[1] == 'contains unknown' else 'required'}"
    return f"{path or 'body'}: {_sentence(message, leaf)}"


def _sentence(message: str, leaf: object) -> str:
    """msgspec's message in the house's words."""
    if typing.get_origin(leaf) is typing.Literal:
        return "expected one of " + ", ".join(repr(choice) for choice in typing.get_args(leaf))
    expected = _EXPECTED.fullmatch(message)
    if expected:
        return f"expected {_NAMES.get(expected[1], expected[1])}"
    for pattern, meaning in PATTERNS.items():
        if pattern in message:
            return f"expected {meaning}"
    if message.startswith("Expected"):
        words = message[len("Expected") :].replace("`", "").replace(" int ", " an integer ")
        return "expected" + words.replace(">=", "≥").replace("<=", "≤")
    return message


def _locate(segments: list[Segment], value: object, kind: object, where: str) -> tuple[str, object]:
    """The path of ``segments`` with each unnamed dict key found again, and the type at its end."""
    path = where
    for segment in segments:
        kind = _unwrap(kind, value)
        if isinstance(segment, str):
            kind = typing.get_type_hints(kind, include_extras=True).get(segment, Any) if isinstance(kind, type) else Any
            value = value.get(segment) if isinstance(value, dict) else None
            path = _join(path, segment)
        elif isinstance(segment, int):
            kind = (typing.get_args(kind) or (Any,))[0]
            value = value[segment] if isinstance(value, list) and segment < len(value) else None
            path = f"{path}[{segment}]"
        else:
            key, value, kind = _bad_entry(value, kind)
            path = _join(path, key)
    return path, _unwrap(kind, value)


def _bad_entry(value: object, kind: object) -> tuple[object, object, object]:
    """The first entry of a dict that does not convert, with its value and the dict's value type."""
    args = typing.get_args(kind)
    item = args[1] if len(args) == 2 else Any
    if isinstance(value, dict):
        for key, entry in value.items():
            try:
                msgspec.convert({key: entry}, kind, strict=True, dec_hook=decimal_hook)
            except msgspec.ValidationError:
                return key, entry, item
    return "[...]", None, item


def _unwrap(kind: object, value: object) -> object:
    """``Annotated[T, …]`` → T; ``T | None`` (or ``| UnsetType``) → the arm that is not None."""
    for _ in range(2):
        if typing.get_origin(kind) is typing.Annotated:
            kind = typing.get_args(kind)[0]
        if typing.get_origin(kind) in (typing.Union, types.UnionType):
            arms = [a for a in typing.get_args(kind) if a not in (type(None), msgspec.UnsetType)]
            kind = arms[0] if len(arms) == 1 else kind
    return kind


__all__ = ["PATTERNS", "convert", "loads_json", "loads_toml"]
