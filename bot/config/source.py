"""From config text to plain data: YAML parsing, ${VAR} interpolation and GONGDAN_* overrides.

Each step returns the problems it found instead of raising, so the loader can report every problem
in one go.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, ScalarNode

ENV_PREFIX = "GONGDAN_"

# Short names for the settings operators change most often.
NAMED_OVERRIDES: Mapping[str, tuple[str, ...]] = {
    "GONGDAN_DATABASE_URL": ("database", "url"),
    "GONGDAN_HOST": ("service", "host"),
    "GONGDAN_PORT": ("service", "port"),
    "GONGDAN_LOG_LEVEL": ("logging", "level"),
    "GONGDAN_BASE_URL": ("service", "base_url"),
}

_REFERENCE = re.compile(
    r"\$(?:(?P<escaped>\$\{)|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}|(?P<bad>\{))"
)

Loc = tuple[str | int, ...]


def dotted(loc: Loc) -> str:
    """("teams", 1, "lead") -> "teams[1].lead"."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys, which plain YAML silently resolves to the last one."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.value == "<<":
                continue
            if key_node.value in seen:
                raise ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"duplicate key {key_node.value!r}",
                    key_node.start_mark,
                )
            seen.add(key_node.value)
        return super().construct_mapping(node, deep)


def read_yaml(text: str, source: str) -> tuple[object, list[str]]:
    try:
        return yaml.load(text, Loader=_StrictLoader), []  # a SafeLoader: builds plain data only
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return None, [f"{source}: invalid YAML{where}: {problem}"]
    except yaml.YAMLError as exc:
        return None, [f"{source}: invalid YAML: {exc}"]


@dataclass
class Interpolation:
    data: object
    problems: list[str] = field(default_factory=list)
    # keys whose value could not be resolved; schema errors there would only repeat the problem
    unresolved: set[str] = field(default_factory=set)


def interpolate(data: object, env: Mapping[str, str]) -> Interpolation:
    """Resolve ${VAR} and ${VAR:-default} in every string value; $${ stands for a literal ${."""
    result = Interpolation(None)
    result.data = _walk(data, (), env, result)
    return result


def _walk(value: object, loc: Loc, env: Mapping[str, str], result: Interpolation) -> object:
    if isinstance(value, str):
        return _substitute(value, loc, env, result)
    if isinstance(value, dict):
        return {k: _walk(v, (*loc, str(k)), env, result) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, (*loc, i), env, result) for i, v in enumerate(value)]
    return value


def _substitute(text: str, loc: Loc, env: Mapping[str, str], result: Interpolation) -> str:
    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "${"
        path = dotted(loc)
        if match["bad"]:
            result.problems.append(
                f"{path}: '${{' must be followed by a variable name and '}}' "
                "(write '$${' for a literal '${')"
            )
            result.unresolved.add(path)
            return ""
        name, default = match["name"], match["default"]
        found = env.get(name)
        if default is not None:
            # like the shell's ${VAR:-default}: an empty variable also takes the default
            return found or default
        if found is None:
            result.problems.append(f"{path}: environment variable {name} is not set")
            result.unresolved.add(path)
            return ""
        return found

    return _REFERENCE.sub(replace, text)


@dataclass
class Overrides:
    problems: list[str] = field(default_factory=list)
    # dotted key -> the variable that set it, so a bad value can name its real source
    origins: dict[str, str] = field(default_factory=dict)


def apply_overrides(
    data: dict[str, Any], env: Mapping[str, str], sections: Collection[str]
) -> Overrides:
    """Set GONGDAN_<SECTION>__<KEY>[__<KEY>...] and the short named variables in data, in place.

    The generic form is applied first, so the short names win when both set the same key.
    """
    result = Overrides()
    generic = sorted(
        name for name in env if name.startswith(ENV_PREFIX) and "__" in name[len(ENV_PREFIX) :]
    )
    for name in generic:
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        if not all(parts):
            result.problems.append(f"{name}: empty key between '__' separators")
            continue
        if parts[0] not in sections:
            result.problems.append(
                f"{name}: {parts[0]!r} is not a config section (sections: {', '.join(sections)})"
            )
            continue
        _set(data, tuple(parts), env[name], name, result)
    for name, path in NAMED_OVERRIDES.items():
        if name in env:
            _set(data, path, env[name], name, result)
    return result


def _set(
    data: dict[str, Any], path: tuple[str, ...], value: str, name: str, result: Overrides
) -> None:
    node: Any = data
    loc: list[str | int] = []
    for i, part in enumerate(path):
        last = i == len(path) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                result.problems.append(f"{name}: {dotted(tuple(loc))} has no item {part}")
                return
            index = int(part)
            loc.append(index)
            if last:
                node[index] = value
            else:
                node = node[index]
            continue
        if not isinstance(node, dict):
            result.problems.append(f"{name}: {dotted(tuple(loc))} is not a mapping")
            return
        key = next((k for k in node if str(k).lower() == part), part)
        loc.append(key)
        if last:
            node[key] = value
        elif node.get(key) is None:
            # an empty section (`service:` with nothing under it) reads as null
            child: dict[str, Any] = {}
            node[key] = child
            node = child
        else:
            node = node[key]
    result.origins[dotted(tuple(loc))] = name
