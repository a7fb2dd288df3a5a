"""References between resources: finding them in a resource's specifications, and what they
make of a spec (dangling or mistyped ones, cycles, dependency order)."""

from __future__ import annotations

import difflib
import functools
import types
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, get_args, get_origin

import attrs

from atlas.exceptions import Problem
from atlas.model.fields import FieldInfo, field_info, nested_fields
from atlas.model.infrastructure import ResourceSpec

__all__ = [
    "Reference",
    "dependencies",
    "find_cycles",
    "iter_references",
    "ordering",
    "raw_references",
    "reference_problems",
]

#: Values that hold no references (bool is an int).
_PLAIN = (str, int, float)


@attrs.frozen
class Reference:
    """``path`` (relative to the specification) names resource ``target`` of kind ``kind``."""

    path: str
    kind: str
    target: str
    #: A reference that may close a cycle (see :func:`atlas.model.fields.spec_field`).
    weak: bool = False


def iter_references(spec: Any, prefix: str = "") -> Iterator[Reference]:
    """Every reference inside a specification object, nested classes and lists included."""
    found: list[Reference] = []
    _collect(spec, prefix, found)
    return iter(found)


@functools.cache
def _walked_fields(cls: Any) -> tuple[FieldInfo, ...]:
    """The fields that may hold references: references, and those that may nest objects."""
    nested = nested_fields(cls)
    return tuple(f for f in field_info(cls) if f.ref is not None or f.name in nested)


def _collect(spec: Any, prefix: str, out: list[Reference]) -> None:
    # One plain recursive walk (no generator per object and field): validation walks every
    # resource of a spec.
    cls: type = type(spec)
    if not attrs.has(cls):
        return
    for info in _walked_fields(cls):
        value = getattr(spec, info.name)
        if value is None or (info.ref is None and isinstance(value, _PLAIN)):
            continue
        path = f"{prefix}.{info.name}" if prefix else info.name
        if info.ref is not None:
            if isinstance(value, str):
                out.append(Reference(path, info.ref, value, info.weak))
            elif isinstance(value, tuple):
                for i, item in enumerate(value):
                    if isinstance(item, str):
                        out.append(Reference(f"{path}[{i}]", info.ref, item, info.weak))
        elif isinstance(value, tuple):
            for i, item in enumerate(value):
                if not isinstance(item, _PLAIN):
                    _collect(item, f"{path}[{i}]", out)
        else:
            _collect(value, path, out)


def raw_references(data: Any, cls: Any, prefix: str = "") -> list[Reference]:
    """Every reference in ``data``, a specification document of class ``cls`` that could not
    be structured: the names it holds where ``cls`` declares references, whatever else in it is
    wrong (a value of the wrong type holds no reference; the type error says so)."""
    found: list[Reference] = []
    if not (isinstance(data, Mapping) and attrs.has(cls)):
        return found
    nested = _nested_classes(cls)
    for info in field_info(cls):
        value = data.get(info.name)
        path = f"{prefix}.{info.name}" if prefix else info.name
        if info.ref is not None:
            if isinstance(value, str):
                found.append(Reference(path, info.ref, value, info.weak))
            elif isinstance(value, list):
                found.extend(
                    Reference(f"{path}[{i}]", info.ref, item, info.weak)
                    for i, item in enumerate(value)
                    if isinstance(item, str)
                )
        elif info.name in nested:
            inner = nested[info.name]
            if isinstance(value, list):
                for i, item in enumerate(value):
                    found.extend(raw_references(item, inner, f"{path}[{i}]"))
            else:
                found.extend(raw_references(value, inner, path))
    return found


@functools.cache
def _nested_classes(cls: Any) -> dict[str, type]:
    """The specification class each field nests, where it nests exactly one (``X``,
    ``X | None``, ``tuple[X, ...]``): what a raw document of that field is read as."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # an annotation that does not resolve: nothing is known to nest
        return {}
    out: dict[str, type] = {}
    for name in nested_fields(cls):
        classes = [t for t in _members(hints.get(name)) if attrs.has(t)]
        if len(classes) == 1:
            out[name] = classes[0]
    return out


def _members(t: Any) -> Iterator[Any]:
    if get_origin(t) in (tuple, typing.Union, types.UnionType):
        for arg in get_args(t):
            if arg is not Ellipsis:
                yield from _members(arg)
    else:
        yield t


def dependencies(resources: Iterable[ResourceSpec], *, weak: bool = False) -> dict[str, set[str]]:
    """For every resource name, the names of the resources it must follow: what it refers
    to, but for the weak references that would close a cycle (with ``weak``: everything it
    refers to, as what must change when they are replaced)."""
    return ordering(
        {res.name: list(iter_references(res.specifications)) for res in resources}, weak
    )


def ordering(refs: Mapping[str, Sequence[Reference]], weak: bool = False) -> dict[str, set[str]]:
    """The order ``refs`` (each resource's references, in document order) put the resources
    in: every strong reference, then each weak one in document order unless it would close a
    cycle (a resource naming itself, or one that follows it already): deterministic, and
    never a cycle that only weak references make."""
    out = {name: {r.target for r in rs if weak or not r.weak} for name, rs in refs.items()}
    if weak:
        return out
    for name, rs in refs.items():
        for ref in rs:
            if ref.weak and ref.target != name and not _reaches(out, ref.target, name):
                out[name].add(ref.target)
    return out


def _reaches(edges: Mapping[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = {start}, [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False


def reference_problems(
    indexed: Sequence[tuple[int, ResourceSpec]],
    found_raw: Mapping[int, Sequence[Reference]] | None = None,
) -> list[Problem]:
    """Duplicate names, references to missing or wrongly-kinded resources, and cycles.

    ``indexed`` pairs each resource with its position in the document, for the paths;
    ``found_raw`` has the references, by position, of resources whose specifications could
    not be structured (see :func:`raw_references`), which stand for theirs.
    """
    raw = found_raw or {}
    problems: list[Problem] = []
    by_name: dict[str, tuple[int, ResourceSpec]] = {}
    for i, res in indexed:
        if res.name in by_name:
            first = by_name[res.name][0]
            problems.append(
                Problem(
                    f"resources[{i}].name",
                    f"duplicate name {res.name!r}: resources[{first}] is already called that",
                )
            )
        else:
            by_name[res.name] = (i, res)
    # Only resources that refer to another have edges: a spec of thousands of networks has
    # none, and the cycle search then has nothing to walk.
    edges: dict[str, set[str]] = {}
    for i, res in indexed:
        refs = raw[i] if i in raw else iter_references(res.specifications)
        for ref in refs:
            found = by_name.get(ref.target)
            if found is not None and found[1].type == ref.kind:
                if not ref.weak:  # weak ones never make a cycle (see ordering)
                    edges.setdefault(res.name, set()).add(ref.target)
                continue
            path = f"resources[{i}].specifications.{ref.path}"
            if found is None:
                same_kind = [n for n, (_, r) in by_name.items() if r.type == ref.kind]
                close = difflib.get_close_matches(ref.target, same_kind, n=3, cutoff=0.5)
                hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
                choices = f"; {ref.kind} resources: {', '.join(same_kind) or 'none'}"
                problems.append(Problem(path, f"no resource named {ref.target!r}{hint or choices}"))
            else:
                problems.append(
                    Problem(
                        path,
                        f"{ref.target!r} is a {found[1].type}, but this must name a {ref.kind}",
                    )
                )
    for cycle in find_cycles(edges):
        where = by_name[cycle[0]][0]
        problems.append(
            Problem(f"resources[{where}]", "reference cycle: " + " -> ".join([*cycle, cycle[0]]))
        )
    return problems


def find_cycles(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """Every cycle of the graph, one per strongly connected component (Tarjan's algorithm)."""
    # A node without edges out is in no cycle, and skipping it changes neither which
    # components are found nor their order: most resources of a large spec are such leaves.
    edges = {node: targets for node, targets in edges.items() if targets}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges[node]):
            if nxt not in edges:
                continue  # a leaf (see above)
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in edges.get(node, ()):
                cycles.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return cycles
