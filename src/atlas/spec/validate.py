"""Spec validation: a document in; a typed spec or *every* problem out.

One call reports all problems at once, each with its exact path
(``resources[2].specifications.size``): unknown or missing fields, wrong types, unknown resource
types, duplicate names, dangling or mistyped references, reference cycles, and whatever the
provider would refuse (names, regions, sizes, images). Nothing is sent anywhere: validation uses
only what plugins registered, offline.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from atlas.exceptions import Problem, ProviderNotFoundError, SpecValidationError
from atlas.model.fields import FieldInfo, field_info, nested_fields
from atlas.model.infrastructure import (
    DEFAULT_THRESHOLDS,
    Budget,
    InfrastructureSpec,
    ResourceSpec,
)
from atlas.portable.kinds import ANY
from atlas.portable.placement import parse_placement
from atlas.portable.record import PLACED, read_placed
from atlas.portable.resolve import (
    PlacementDecision,
    concrete_problems,
    is_portable,
    resolve_document,
)
from atlas.providers.declarations import CheckContext, ProviderInfo, Purpose, ResourceKind
from atlas.providers.registry import ProviderRegistry
from atlas.spec.converter import describe as _kind
from atlas.spec.converter import make_converter, problems_from_cattrs
from atlas.spec.load import load_document
from atlas.spec.references import Reference, raw_references, reference_problems

__all__ = ["NAME_PATTERN", "validate_native", "validate_spec"]

#: Names of infrastructures and resources: what every provider can build a name from.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9])?$")
#: Budgets are checked against bills, which never come near this.
_BUDGET_CEILING = Decimal(10**15)
_PLAIN = (str, int, float, bool)
_TOP_FIELDS = (
    "name",
    "provider",
    "region",
    "placement",
    "resources",
    "tags",
    "budget",
    PLACED,
)
_RESOURCE_FIELDS = ("type", "name", "specifications", "import")

_converter = make_converter()


def validate_spec(
    source: Mapping[str, Any] | str | bytes | os.PathLike[str],
    *,
    registry: ProviderRegistry,
    purpose: Purpose = "create",
    pin: tuple[str, str] | None = None,
) -> InfrastructureSpec:
    """Load and validate a spec, raising :class:`SpecValidationError` with every problem found.

    A portable spec (``provider: any``, or portable kinds its provider has no kind of its
    own for) is resolved first (:func:`atlas.portable.resolve.resolve`) and the concrete spec
    validated; the result carries the :class:`~atlas.portable.resolve.PlacementDecision`
    (:attr:`InfrastructureSpec.placement`), and problems keep their paths in the document
    as written.

    :param purpose: ``"estimate"`` asks only for what prices depend on; ``"create"`` (the
        default) also asks for what creating the resources needs (a server's image, say).
    :param pin: ``(provider, region)``, a placement recorded earlier, which a ``provider:
        any`` spec keeps while its constraints allow it.
    """
    doc = load_document(source)
    if is_portable(doc, registry):
        if PLACED in doc:
            message = (
                "atlas writes this in the spec it records once it has placed a spec; a spec "
                "still to be placed or translated leaves it out"
            )
            raise SpecValidationError([Problem(PLACED, message)])
        return _validate_portable(doc, registry, purpose, pin)
    return validate_native(doc, registry=registry, purpose=purpose)


def validate_native(
    doc: Any, *, registry: ProviderRegistry, purpose: Purpose
) -> InfrastructureSpec:
    """Validate a loaded document as it is written: its kinds are its provider's own."""
    problems: list[Problem] = []
    spec = _Validator(registry, purpose, problems).run(doc)
    if problems or spec is None:
        raise SpecValidationError(sorted(problems, key=_document_order))
    return spec


def _validate_portable(
    doc: Mapping[str, Any],
    registry: ProviderRegistry,
    purpose: Purpose,
    pin: tuple[str, str] | None,
) -> InfrastructureSpec:
    resolved = resolve_document(doc, registry=registry, purpose=purpose, pin=pin)
    try:
        spec = validate_native(resolved.doc, registry=registry, purpose=purpose)
    except SpecValidationError as exc:
        problems = concrete_problems(exc.problems, resolved)
        raise SpecValidationError(sorted(problems, key=_document_order)) from None
    return attrs.evolve(spec, placement=resolved.decision)


def _document_order(problem: Problem) -> tuple[int, int, int]:
    """Top-level fields in their usual order, resources by index, then type, name and
    specifications; otherwise the order found (sorting is stable)."""
    match = re.match(r"(\w*)(?:\[(\d+)\])?\.?(\w*)", problem.path)
    head, index, field = match.groups() if match else ("", None, "")
    rank = _TOP_FIELDS.index(head) if head in _TOP_FIELDS else -1
    within = _RESOURCE_FIELDS.index(field) if field in _RESOURCE_FIELDS else -1
    return rank, int(index) if index is not None else -1, within


class _Validator:
    def __init__(self, registry: ProviderRegistry, purpose: Purpose, out: list[Problem]) -> None:
        self.registry = registry
        self.purpose = purpose
        self.out = out

    def problem(self, path: str, message: str) -> None:
        self.out.append(Problem(path, message))

    def run(self, doc: Any) -> InfrastructureSpec | None:
        if not isinstance(doc, Mapping):
            hint = " (to read a file, pass a pathlib.Path)" if isinstance(doc, str) else ""
            self.problem("", f"a spec must be a mapping (JSON object), not {_kind(doc)}{hint}")
            return None
        self._unknown_keys(doc, _TOP_FIELDS, "")
        if "placement" in doc:
            self._placement(doc)
        name = self._name(doc, "name", "")
        provider = self._provider(doc)
        region = self._string(doc, "region", "", required=True)
        tags = self._tags(doc.get("tags", {}))
        # A budget without a currency is in the provider's (the one its prices are in).
        budget = self._budget(doc.get("budget"), provider.currency if provider else "USD")
        entries = self._resources(doc, provider)
        placed = self._placed(doc, provider, region)
        if provider is None:
            return None
        # With a broken name or region, check the rest against stand-ins, so that one
        # mistake does not hide the others; problems about the stand-ins are dropped.
        placeholders = {k for k, v in (("name", name), ("region", region)) if v is None}
        resources = [e.resource() for e in entries]
        spec = InfrastructureSpec(
            name=name or "a",
            provider=provider.name,
            region=region or "",
            resources=tuple(r for r in resources if r is not None),
            tags=tags,
            budget=budget,
            placement=placed,
        )
        self._semantics(spec, entries, resources, provider, placeholders)
        return None if placeholders else spec

    # -- top level ---------------------------------------------------------------------------

    def _placement(self, doc: Mapping[str, Any]) -> None:
        if doc.get("provider") == ANY:  # (the pseudo-provider's registry: portable kinds as is)
            self.out.extend(parse_placement(doc["placement"])[1])
        else:
            provider = doc.get("provider")
            self.problem(
                "placement",
                f"only a spec with provider: any is placed; this one names {provider!r}",
            )

    def _placed(
        self, doc: Mapping[str, Any], provider: ProviderInfo | None, region: str | None
    ) -> PlacementDecision | None:
        """The placement a recorded spec carries (``placed``, :mod:`atlas.portable.record`)."""
        if PLACED not in doc:
            return None
        if doc.get("provider") == ANY:  # (the pseudo-provider's registry)
            self.problem(PLACED, "a spec with provider: any is placed by atlas, not recorded")
            return None
        decision, problems = read_placed(
            doc[PLACED], provider=provider.name if provider else None, region=region
        )
        self.out.extend(problems)
        return decision

    def _unknown_keys(self, doc: Mapping[str, Any], allowed: tuple[str, ...], prefix: str) -> None:
        for key in doc:
            if key not in allowed:
                self.problem(_join(prefix, str(key)), "unknown field" + _did_you_mean(key, allowed))

    def _string(
        self, doc: Mapping[str, Any], key: str, prefix: str, *, required: bool
    ) -> str | None:
        path = _join(prefix, key)
        if key not in doc:
            if required:
                self.problem(path, "required field missing")
            return None
        value = doc[key]
        if not isinstance(value, str):
            self.problem(path, f"expected a string, got {_kind(value)}")
            return None
        if not value:
            self.problem(path, "must not be empty")
            return None
        return value

    def _name(self, doc: Mapping[str, Any], key: str, prefix: str) -> str | None:
        value = self._string(doc, key, prefix, required=True)
        if value is not None and not NAME_PATTERN.match(value):
            self.problem(
                _join(prefix, key),
                f"{value!r} is not a valid name: use 1 to 64 letters, digits, '-', '_' or '.', "
                "starting and ending with a letter or digit",
            )
            return None
        return value

    def _provider(self, doc: Mapping[str, Any]) -> ProviderInfo | None:
        name = self._string(doc, "provider", "", required=True)
        if name is None:
            return None
        try:
            return self.registry.get(name)
        except ProviderNotFoundError as exc:  # its message says what to install
            self.problem("provider", str(exc) + _did_you_mean(name, self.registry.names()))
            return None

    def _tags(self, value: Any) -> dict[str, str]:
        if not isinstance(value, Mapping):
            self.problem("tags", f"expected a mapping of tag names to values, got {_kind(value)}")
            return {}
        tags: dict[str, str] = {}
        for key, item in value.items():
            if not isinstance(item, str):
                self.problem(f"tags.{key}", f"a tag value must be a string, got {_kind(item)}")
            else:
                tags[str(key)] = item
        return tags

    def _budget(self, value: Any, default_currency: str) -> Budget | None:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.problem("budget", f"expected a mapping with monthly_limit, got {_kind(value)}")
            return None
        keys = ("monthly_limit", "currency", "thresholds", "include_forecast")
        self._unknown_keys(value, keys, "budget")
        limit = _decimal(value.get("monthly_limit"))
        if limit is None or not limit.is_finite() or limit <= 0:
            self.problem("budget.monthly_limit", "required: a positive amount, such as 100")
            return None
        if limit >= _BUDGET_CEILING:  # beyond any bill, and beyond what JSON numbers carry
            self.problem("budget.monthly_limit", f"must be less than {_BUDGET_CEILING:,}")
            return None
        currency = value.get("currency", default_currency)
        if not (isinstance(currency, str) and re.fullmatch(r"[A-Z]{3}", currency)):
            self.problem("budget.currency", "must be an ISO 4217 code such as 'USD'")
            return None
        return self._budget_alerts(value, Budget(limit, currency))

    def _budget_alerts(self, value: Mapping[str, Any], budget: Budget) -> Budget | None:
        """``budget`` with the thresholds and forecast setting ``value`` gives."""
        thresholds = self._thresholds(value.get("thresholds", DEFAULT_THRESHOLDS))
        forecast = value.get("include_forecast", False)
        if not isinstance(forecast, bool):
            self.problem("budget.include_forecast", f"must be true or false, got {_kind(forecast)}")
            return None
        if thresholds is None:
            return None
        return attrs.evolve(budget, thresholds=thresholds, include_forecast=forecast)

    def _thresholds(self, value: Any) -> tuple[int, ...] | None:
        problem = budget_thresholds_problem(value)
        if problem is not None:
            self.problem(f"budget.thresholds{problem[0]}", problem[1])
            return None
        return tuple(sorted({int(t) for t in value}))  # (JSON may write 50 as 50.0)

    # -- resources ---------------------------------------------------------------------------

    def _resources(self, doc: Mapping[str, Any], provider: ProviderInfo | None) -> list[_Entry]:
        raw = doc.get("resources")
        if raw is None:
            self.problem("resources", "required field missing (a list of resources)")
            return []
        if not isinstance(raw, list):
            self.problem("resources", f"expected a list of resources, got {_kind(raw)}")
            return []
        kinds = self.registry.kinds(provider.name) if provider is not None else None
        entries = (self._resource(item, i, provider, kinds) for i, item in enumerate(raw))
        return [e for e in entries if e is not None]

    def _resource(
        self,
        item: Any,
        index: int,
        provider: ProviderInfo | None,
        kinds: Mapping[str, ResourceKind] | None,
    ) -> _Entry | None:
        """``kinds`` are the provider's resource kinds (``None`` without a provider)."""
        path = f"resources[{index}]"
        if not _is_mapping(item):
            self.problem(path, f"a resource must be a mapping, got {_kind(item)}")
            return None
        self._unknown_keys(item, _RESOURCE_FIELDS, path)
        entry = _Entry(
            index, self._name(item, "name", path), self._string(item, "type", path, required=True)
        )
        if "import" in item:
            raw = item["import"]
            entry.import_ids = self._import_ids(raw, f"{path}.import")
            entry.import_given = len(raw) if isinstance(raw, list) else 1
            entry.importing = True
        specs = item.get("specifications", {})
        if not _is_mapping(specs):
            self.problem(f"{path}.specifications", f"expected a mapping, got {_kind(specs)}")
            return entry
        if provider is None or kinds is None or entry.type is None:
            return entry
        if entry.type not in kinds:
            known = ", ".join(sorted(kinds)) or "none"
            self.problem(
                f"{path}.type",
                f"unknown resource type {entry.type!r} for provider {provider.name!r}"
                f"{_did_you_mean(entry.type, tuple(kinds))} (known: {known})",
            )
            return entry
        self._structure(entry, specs, kinds[entry.type].spec_class, f"{path}.specifications")
        return entry

    def _import_ids(self, value: Any, path: str) -> tuple[str, ...]:
        """``import:`` is one provider id, or a list of them (a counted resource)."""
        items = value if isinstance(value, list) else [value]
        if isinstance(value, list) and not value:
            self.problem(path, "must not be empty: give the provider id(s) to import")
            return ()
        ids: list[str] = []
        for i, item in enumerate(items):
            where = f"{path}[{i}]" if isinstance(value, list) else path
            if isinstance(item, int) and not isinstance(item, bool):
                self.problem(where, f"write the provider id in quotes: {str(item)!r}")
            elif not isinstance(item, str):
                self.problem(where, f"expected a provider id (a string), got {_kind(item)}")
            elif not item.strip():
                self.problem(where, "must not be empty")
            elif item in ids:
                self.problem(where, f"{item!r} is listed twice")
            else:
                ids.append(item)
        return tuple(ids)

    def _structure(self, entry: _Entry, data: Mapping[str, Any], cls: type, path: str) -> None:
        """Structure ``data``; when that fails, report why and retry without the broken keys,
        so the rest of the resource can still be checked."""
        try:
            # (a copy only of what is not a dict already: cattrs reads it, and changes nothing)
            entry.spec = _converter.structure(data if type(data) is dict else dict(data), cls)
        except Exception as exc:  # cattrs raises groups; each leaf becomes one problem
            problems = list(problems_from_cattrs(exc, path))
            self.out.extend(problems)
            entry.broken |= {_first_key(p.path, path) for p in problems}
            # Read from the document itself: a resource with a type error still has its
            # references checked, however much of it the retry below can structure.
            entry.raw_refs = tuple(raw_references(data, cls))
            try:
                entry.spec = _converter.structure(
                    {k: v for k, v in data.items() if k not in entry.broken}, cls
                )
            except Exception:  # a required field is broken: nothing more to check here
                return
        before = len(self.out)
        # An import creates nothing: what only a create needs (an image) is not asked for.
        creating = self.purpose == "create" and not entry.importing
        self._field_checks(entry.spec, path, skip=entry.broken, creating=creating)
        if len(self.out) > before:
            entry.broken |= {_first_key(p.path, path) for p in self.out[before:]}

    def _field_checks(
        self, obj: Any, path: str, skip: frozenset[str] = frozenset(), *, creating: bool = True
    ) -> None:
        # Run for every object of every resource: paths are only built when they are needed.
        cls: type = type(obj)
        for info in _checked_fields(cls):
            if info.name in skip:
                continue
            value = getattr(obj, info.name)
            if value is None:
                if info.create_only and creating:
                    missing = "required to create this resource (an estimate can omit it)"
                    self.problem(f"{path}.{info.name}", missing)
                continue
            if info.check is not None:
                message = info.check(value)
                if message:
                    self.problem(f"{path}.{info.name}", message)
            if isinstance(value, _PLAIN):
                continue  # nothing nested to check (and the common case: skip it cheaply)
            if isinstance(value, tuple):
                for i, item in enumerate(value):
                    if not isinstance(item, _PLAIN) and attrs.has(type(item)):
                        self._field_checks(item, f"{path}.{info.name}[{i}]", creating=creating)
            elif attrs.has(type(value)):
                self._field_checks(value, f"{path}.{info.name}", creating=creating)

    # -- across resources --------------------------------------------------------------------

    def _semantics(
        self,
        spec: InfrastructureSpec,
        entries: list[_Entry],
        resources: list[ResourceSpec | None],
        provider: ProviderInfo,
        placeholders: set[str],
    ) -> None:
        """``resources`` are the entries' resources (``None`` where one is incomplete)."""
        named = [
            (e.index, res if res is not None else ResourceSpec(e.type or "", e.name, e.spec))
            for e, res in zip(entries, resources, strict=True)
            if e.name
        ]
        raw = {e.index: e.raw_refs for e in entries if e.raw_refs is not None}
        self.out.extend(reference_problems(named, raw))
        ctx = CheckContext(spec, self.purpose, self.registry.catalog(provider.name))
        budget, catalog = spec.budget, ctx.catalog
        if self.purpose == "create" and budget and catalog and budget.currency != catalog.currency:
            # Applying checks the budget against the prices, which it cannot do across
            # currencies (an estimate only says so).
            message = f"must be {catalog.currency}, the currency of {provider.name}'s prices"
            self.problem("budget.currency", message)
        if provider.check is not None:
            self.out.extend(p for p in provider.check(spec, ctx) if p.path not in placeholders)
        kinds = self.registry.kinds(provider.name)
        self._import_semantics(entries, kinds, provider)
        for e, res in zip(entries, resources, strict=True):
            kind = kinds.get(e.type or "")
            check = kind.check if kind is not None else None
            if check is None or res is None:
                continue
            for p in check(res, ctx):
                if not _under_broken(p.path, e.broken):
                    self.problem(_join(f"resources[{e.index}]", p.path), p.message)

    def _import_semantics(
        self, entries: list[_Entry], kinds: Mapping[str, ResourceKind], provider: ProviderInfo
    ) -> None:
        """Only importable kinds import, and one object is adopted by one resource only."""
        importable = ", ".join(sorted(t for t, k in kinds.items() if k.importable)) or "none"
        claimed: dict[str, int] = {}
        for e in entries:
            if not e.importing:
                continue
            path = f"resources[{e.index}].import"
            kind = kinds.get(e.type or "")
            if kind is not None and not kind.importable:
                self.problem(
                    path,
                    f"{provider.name} cannot import {kind.type} resources; "
                    f"importable: {importable}",
                )
            count = getattr(e.spec, "count", None)
            if isinstance(count, int) and e.import_given and count != e.import_given:
                self.problem(
                    path,
                    f"{e.import_given} id(s) to import for count {count}: "
                    "an import adopts exactly the objects of the resource",
                )
            for object_id in e.import_ids:
                first = claimed.setdefault(object_id, e.index)
                if first != e.index:
                    self.problem(
                        path,
                        f"{object_id!r} is imported by resources[{first}] already; "
                        "one object belongs to one resource",
                    )


@functools.cache
def _checked_fields(cls: Any) -> tuple[FieldInfo, ...]:
    """The fields :meth:`_Validator._field_checks` has anything to do with: those with a check,
    those required to create, and those that may nest objects (with fields of their own)."""
    nested = nested_fields(cls)
    return tuple(
        f for f in field_info(cls) if f.check is not None or f.create_only or f.name in nested
    )


@attrs.define
class _Entry:
    """One resource as validation sees it, however much of it could be read."""

    index: int
    name: str | None
    type: str | None
    spec: Any = None
    #: Top-level specification fields with problems; checks built on them are skipped.
    broken: frozenset[str] = frozenset()
    #: The references of specifications that could not be structured whole, read raw.
    raw_refs: tuple[Reference, ...] | None = None
    #: The provider ids of ``import:``, those that are valid.
    import_ids: tuple[str, ...] = ()
    #: How many ids ``import:`` lists, valid or not (0 without ``import:``).
    import_given: int = 0
    #: Whether the resource has ``import:`` at all (valid or not): it creates nothing.
    importing: bool = False

    def resource(self) -> ResourceSpec | None:
        if self.name is None or self.type is None or self.spec is None:
            return None
        return ResourceSpec(self.type, self.name, self.spec, self.import_ids)


def _first_key(problem_path: str, prefix: str) -> str:
    rest = problem_path[len(prefix) :].lstrip(".")
    return re.split(r"[.\[]", rest, maxsplit=1)[0]


def _under_broken(path: str, broken: frozenset[str]) -> bool:
    """A kind check's problem that may only follow from a field already reported."""
    if not broken:
        return False
    if path == "specifications":
        return True
    key = _first_key(path, "specifications") if path.startswith("specifications.") else None
    return key in broken


def _is_mapping(value: Any) -> bool:
    # A JSON or YAML document's mappings are dicts: asked first, it spares the slower
    # isinstance of an abstract class, twice for every resource.
    return type(value) is dict or isinstance(value, Mapping)


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _did_you_mean(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        # str() first: a YAML or JSON float becomes the decimal a person wrote, not its binary.
        return Decimal(str(value))
    except InvalidOperation:
        return None


def budget_thresholds_problem(value: Any) -> tuple[str, str] | None:
    """Why ``value`` is not a list of thresholds (whole percentages from 1 to 1000, at least
    one): ``(path suffix, message)``; ``None`` when it is one."""
    if not isinstance(value, (list, tuple)) or not value:
        return "", "must be a non-empty list of percentages, such as [50, 80, 100]"
    for i, item in enumerate(value):
        whole = isinstance(item, int) or (isinstance(item, float) and item.is_integer())
        if isinstance(item, bool) or not whole or not 1 <= item <= 1000:
            return f"[{i}]", f"must be a whole percentage from 1 to 1000, got {item!r}"
    return None


def validate_budget(
    value: Any, registry: ProviderRegistry, *, default_currency: str = "USD"
) -> Budget:
    """A budget as a spec writes it (``monthly_limit``, ``currency``, ``thresholds``,
    ``include_forecast``), for the workspace's own (the CLI and the HTTP API set it);
    :class:`SpecValidationError` naming each field (``budget.thresholds[1]``) otherwise."""
    problems: list[Problem] = []
    if value is None:
        problems.append(Problem("budget", "required: a mapping with monthly_limit"))
        raise SpecValidationError(problems)
    budget = _Validator(registry, "estimate", problems)._budget(value, default_currency)
    if budget is None or problems:
        raise SpecValidationError(problems)
    return budget
