"""Go values as Python objects, as the template executor needs them.

Plain Python values stand for Go's basic types: ``str`` is ``string``, ``bool`` is
``bool``, ``int`` is ``int``, ``float`` is ``float64``, ``complex`` is ``complex128``, and
``None`` is the invalid value (an untyped nil). Everything else is one of the classes
below, each knowing its Go type name (``go_type``), its kind, and the methods a template
may call on it (``go_methods``).

>>> type_of(GoMap({"a": "b"})), type_of(GoPtr(None, "template.sample")), type_of(1.5)
('map[string]string', '*template.sample', 'float64')
>>> kind_of(HTML("<b>")), kind_of(GoPtr(None, "template.sample")), kind_of(None)
('string', 'ptr', 'invalid')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "EMPTY_INTERFACE", "GoError", "GoInt", "GoMap", "GoMethod", "GoPtr", "GoSlice",
    "GoStruct", "HTML", "NIL_DEREF", "QueryResult", "can_be_nil", "kind_of", "type_of",
    "zero_of",
]

EMPTY_INTERFACE = "interface {}"
NIL_DEREF = "runtime error: invalid memory address or nil pointer dereference"


class GoError(Exception):
    """An ``error`` returned (or a panic raised) by a function a template calls."""


@dataclass(frozen=True)
class GoMethod:
    """A method (or function) signature and its implementation.

    ``params`` are Go type names; when ``variadic`` the last one is the element type of
    the ``...`` parameter. ``fn`` raises :class:`GoError` for a non-nil error result.
    """

    params: tuple[str, ...]
    fn: Callable[..., Any]
    variadic: bool = False


class HTML(str):
    """html/template.HTML (a string type): what ``safeHtml`` returns."""

    go_type = "template.HTML"


class GoInt(int):
    """An integer of a named or sized Go type (``int64``, ``time.Month``...)."""

    go_type = "int64"

    def __new__(cls, value: int, go_type: str = "int64") -> GoInt:
        obj = super().__new__(cls, value)
        obj.go_type = go_type  # type: ignore[misc]
        return obj


class GoMap(dict):  # type: ignore[type-arg]
    """``map[string]<elem>``; a missing key reads as the element type's zero value."""

    def __init__(self, data: Any = (), elem: str = "string") -> None:
        super().__init__(data)
        self.elem = elem

    @property
    def go_type(self) -> str:
        return f"map[string]{self.elem}"


class GoSlice(list):  # type: ignore[type-arg]
    """``[]<elem>`` (or a named slice type)."""

    def __init__(self, data: Any = (), elem: str = EMPTY_INTERFACE, name: str | None = None):
        super().__init__(data)
        self.elem = elem
        self.name = name

    @property
    def go_type(self) -> str:
        return self.name or f"[]{self.elem}"


class QueryResult(GoSlice):
    """template.queryResult: what ``query`` returns, a slice of ``*template.sample``."""

    def __init__(self, data: Any = ()) -> None:
        super().__init__(data, "*template.sample", "template.queryResult")


class GoStruct:
    """A struct value: ordered fields with their Go types."""

    def __init__(self, go_type: str, fields: dict[str, Any], field_types: dict[str, str]):
        self.go_type = go_type
        self.fields = fields
        self.field_types = field_types

    go_methods: dict[str, GoMethod] = {}


class GoPtr:
    """A pointer; ``elem`` is None for a nil pointer of type ``*elem_type``."""

    __slots__ = ("elem", "elem_type")

    def __init__(self, elem: Any, elem_type: str) -> None:
        self.elem = elem
        self.elem_type = elem_type

    @property
    def go_type(self) -> str:
        return "*" + self.elem_type

    @property
    def is_nil(self) -> bool:
        return self.elem is None


def type_of(v: Any) -> str:
    """Go's ``reflect.TypeOf(v).String()``; ``<nil>`` for the invalid value."""
    if v is None:
        return "<nil>"
    t = getattr(v, "go_type", None)
    if t is not None:
        return t
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, complex):
        return "complex128"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "map[string]interface {}"
    if isinstance(v, list):
        return "[]interface {}"
    return type(v).__name__


def kind_of(v: Any) -> str:
    """Go's ``reflect.Kind`` (lower case): invalid bool int uint float complex string
    map slice struct ptr."""
    if v is None:
        return "invalid"
    k = getattr(v, "go_kind", None)
    if k is not None:
        return k
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, complex):
        return "complex"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "map"
    if isinstance(v, list):
        return "slice"
    if isinstance(v, GoPtr):
        return "ptr"
    if isinstance(v, GoStruct):
        return "struct"
    return "struct"


def can_be_nil(typ: str) -> bool:
    """canBeNil: interface, map, pointer and slice types (and reflect.Value)."""
    return (typ in (EMPTY_INTERFACE, "reflect.Value", "template.queryResult")
            or typ.startswith(("*", "map[", "[]")))


def zero_of(typ: str) -> Any:
    """reflect.Zero(typ) as our values (nil maps and slices are empty ones)."""
    if typ.startswith("*"):
        return GoPtr(None, typ[1:])
    if typ.startswith("map[string]"):
        return GoMap(elem=typ[len("map[string]"):])
    if typ == "template.queryResult":
        return QueryResult()
    if typ.startswith("[]"):
        return GoSlice(elem=typ[2:])
    return {"string": "", "bool": False, "int": 0, "int64": GoInt(0), "float64": 0.0,
            "complex128": 0j, "template.HTML": HTML("")}.get(typ)
