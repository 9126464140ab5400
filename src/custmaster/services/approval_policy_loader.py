"""Load the approval policy from its YAML file and validate it.

The default policy ships with the package (``custmaster/approval_policy.yaml``); an
operator may point a setting at another file, which :func:`load_policy` reads instead.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from custmaster.domain.approvals import Policy, PolicyError
from custmaster.domain.errors import FieldError

DEFAULT_POLICY_RESOURCE = "approval_policy.yaml"


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice in one mapping."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_policy_text(text: str, source: str = "<policy>") -> Policy:
    """Parse and validate a policy given as YAML text; errors name ``source``."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise PolicyError([FieldError("", "yaml", str(exc))], source) from exc
    try:
        return Policy.from_dict(data)
    except PolicyError as exc:
        raise PolicyError(exc.problems, source) from None


def default_policy_text() -> str:
    return resources.files("custmaster").joinpath(DEFAULT_POLICY_RESOURCE).read_text("utf-8")


def load_policy(path: Path | None = None) -> Policy:
    """The policy from ``path``, or the one shipped with the package when ``None``.

    Raises :class:`PolicyError` (with every problem and the file name) when the file is
    missing, is not valid YAML, or describes an invalid policy.
    """
    if path is None:
        return parse_policy_text(default_policy_text(), f"<package>/{DEFAULT_POLICY_RESOURCE}")
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise PolicyError([FieldError("", "unreadable", str(exc))], str(path)) from exc
    return parse_policy_text(text, str(path))
