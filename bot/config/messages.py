"""Pydantic's validation errors, retold as "path.to.key: what is wrong" in plain words."""

from __future__ import annotations

import difflib
import types
from collections.abc import Mapping
from inspect import isclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from bot.config.source import Loc, dotted


def schema_problems(
    exc: ValidationError, root: type[BaseModel], origins: Mapping[str, str] | None = None
) -> list[str]:
    """One line per error; a key set from the environment names the variable that set it."""
    problems: list[str] = []
    for error in exc.errors(include_url=False):
        # "[key]" marks an error in a mapping's key; the key itself is already in the path
        loc: Loc = tuple(p for p in error["loc"] if p != "[key]")
        path = dotted(loc) or "(top level)"
        message = _message(error, loc, root)
        if "[key]" in error["loc"]:
            message = f"the key {message}"
        if origins and path in origins:
            message += f" (set by {origins[path]})"
        problems.append(f"{path}: {message}")
    return problems


def _message(error: ErrorDetails, loc: Loc, root: type[BaseModel]) -> str:
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    got = _describe(error["input"])
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return _unknown_key(loc, root)
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", error["msg"]))
    if kind in ("literal_error", "enum"):
        return f"must be {ctx['expected']} (got {got})"
    if kind == "string_too_short":
        n = ctx["min_length"]
        return "must not be empty" if n == 1 else f"must be at least {n} characters long"
    if kind == "too_short":
        n = ctx["min_length"]
        return f"needs at least {n} item{'s' if n != 1 else ''}"
    if kind in _BOUNDS:
        return _BOUNDS[kind].format(**{k: _describe(v) for k, v in ctx.items()})
    if kind in _SHAPES:
        return f"must be {_SHAPES[kind]} (got {got})"
    return str(error["msg"]).replace("Input should be", "must be").replace("should", "must")


_SHAPES = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping of keys to values",
    "model_type": "a mapping of keys to values",
    "model_attributes_type": "a mapping of keys to values",
}

_BOUNDS = {
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
}


def _describe(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _unknown_key(loc: Loc, root: type[BaseModel]) -> str:
    model = _model_at(root, loc[:-1])
    if model is None:
        return "unknown key"
    allowed = [f.alias or name for name, f in model.model_fields.items()]
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    if close:
        return f"unknown key (did you mean {close[0]!r}?)"
    return f"unknown key (allowed: {', '.join(allowed)})"


def _model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model that validated the mapping at loc, found by walking the type annotations."""
    hint: Any = root
    for part in loc:
        hint = _unwrap(hint)
        if isinstance(part, int):
            args = get_args(hint)
            hint = args[0] if args else None
        elif isclass(hint) and issubclass(hint, BaseModel):
            fields = {f.alias or name: f for name, f in hint.model_fields.items()}
            hint = fields[part].annotation if part in fields else None
        elif get_origin(hint) in (dict, Mapping):
            hint = get_args(hint)[1]
        else:
            return None
    hint = _unwrap(hint)
    return hint if isclass(hint) and issubclass(hint, BaseModel) else None


def _unwrap(hint: Any) -> Any:
    """Strip Annotated[...] and "X | None" down to X."""
    while True:
        origin = get_origin(hint)
        if origin is Annotated:
            hint = get_args(hint)[0]
        elif origin in (Union, types.UnionType):
            rest = [a for a in get_args(hint) if a is not type(None)]
            if len(rest) != 1:
                return hint
            hint = rest[0]
        else:
            return hint
