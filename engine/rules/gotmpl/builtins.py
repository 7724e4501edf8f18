"""The built-in functions of Go's ``text/template`` (``funcs.go``).

Comparisons follow Go: ``eq`` takes one or more candidates; numbers compare only with
numbers of the same kind (an ``int`` constant against a ``float64`` value is
``incompatible types for comparison``); NaN is unequal to everything and unordered, so
``lt``/``le``/``eq`` are false and ``gt``/``ge`` (defined as ``not le``/``not lt``)
are true.

>>> eq(1.5, 2.0, 1.5), lt("a", "b"), gt(float("nan"), 1.0), ge(float("nan"), 1.0)
(True, True, True, True)
>>> lt(1, 2.0)
Traceback (most recent call last):
  ...
engine.rules.gotmpl.values.GoError: incompatible types for comparison
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus

from .gofmt import fmt_value, sprint, sprintf, sprintln
from .values import (
    EMPTY_INTERFACE,
    GoError,
    GoInt,
    GoMethod,
    GoPtr,
    GoSlice,
    GoStruct,
    kind_of,
    type_of,
    zero_of,
)

__all__ = ["BUILTINS", "eq", "ge", "gt", "is_true", "le", "lt", "ne", "truth"]


def is_true(v: Any) -> tuple[bool, bool]:
    """text/template's isTrue: (truth, whether the value has a truth value)."""
    if v is None:
        return False, True
    k = kind_of(v)
    if k in ("string", "map", "slice"):
        return len(v) > 0, True
    if k == "bool":
        return bool(v), True
    if k in ("int", "uint"):
        return int(v) != 0, True
    if k in ("float", "complex"):
        return v != 0, True
    if k == "ptr":
        return not v.is_nil, True
    if k == "struct":
        return True, True
    return False, False


def truth(v: Any) -> bool:
    return is_true(v)[0]


# ---- comparisons -------------------------------------------------------------------------

_BASIC = {"bool": "bool", "int": "int", "uint": "uint", "float": "float",
          "complex": "complex", "string": "string"}


def _basic_kind(v: Any) -> str | None:
    return _BASIC.get(kind_of(v))


def _comparable(v: Any) -> bool:
    if isinstance(v, (dict, list)):
        return False
    if isinstance(v, GoStruct):
        return all(_comparable(x) for x in v.fields.values())
    return True


def eq(arg1: Any, *arg2: Any) -> bool:
    """a == b || a == c || ..."""
    if arg1 is not None and not _comparable(arg1):
        raise GoError(f"uncomparable type {type_of(arg1)}: {fmt_value(arg1, 'v', _flags())}")
    if not arg2:
        raise GoError("missing argument for comparison")
    k1 = _basic_kind(arg1)
    for a in arg2:
        k2 = _basic_kind(a)
        t = False
        if k1 != k2:
            if arg1 is not None and a is not None:
                raise GoError("incompatible types for comparison")
        elif k1 is None:
            if a is None or arg1 is None:
                t = a is arg1
            else:
                if not _comparable(a):
                    raise GoError(f"uncomparable type {type_of(a)}: {fmt_value(a, 'v', _flags())}")
                t = type_of(a) == type_of(arg1) and (a is arg1 or _same(a, arg1))
        elif k1 == "string":
            t = str(arg1) == str(a)
        else:
            t = arg1 == a
        if t:
            return True
    return False


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, GoPtr) and isinstance(b, GoPtr):
        return a.elem is b.elem
    return bool(a == b)


def _flags() -> Any:
    from .gofmt import _Flags

    return _Flags()


def ne(arg1: Any, arg2: Any) -> bool:
    return not eq(arg1, arg2)


def lt(arg1: Any, arg2: Any) -> bool:
    k1 = _basic_kind(arg1)
    if k1 is None:
        raise GoError("invalid type for comparison")
    k2 = _basic_kind(arg2)
    if k2 is None:
        raise GoError("invalid type for comparison")
    if k1 != k2:
        raise GoError("incompatible types for comparison")
    if k1 in ("bool", "complex"):
        raise GoError("invalid type for comparison")
    if k1 == "string":
        return str(arg1) < str(arg2)
    return bool(arg1 < arg2)


def le(arg1: Any, arg2: Any) -> bool:
    return lt(arg1, arg2) or eq(arg1, arg2)


def gt(arg1: Any, arg2: Any) -> bool:
    return not le(arg1, arg2)


def ge(arg1: Any, arg2: Any) -> bool:
    return not lt(arg1, arg2)


# ---- len, index, slice ---------------------------------------------------------------------


def length(item: Any) -> int:
    if item is None:
        raise GoError("len of untyped nil")
    if isinstance(item, GoPtr):
        if item.is_nil:
            raise GoError("len of nil pointer")
        item = item.elem
    k = kind_of(item)
    if k == "string":
        return len(str(item).encode("utf-8", "surrogateescape"))
    if k in ("map", "slice"):
        return len(item)
    raise GoError(f"len of type {type_of(item)}")


def _index_arg(index: Any, cap: int) -> int:
    k = kind_of(index)
    if k in ("int", "uint"):
        x = int(index)
    elif k == "invalid":
        raise GoError("cannot index slice/array with nil")
    else:
        raise GoError(f"cannot index slice/array with type {type_of(index)}")
    if x < 0 or x > cap:
        raise GoError(f"index out of range: {x}")
    return x


def index(item: Any, *indexes: Any) -> Any:
    v = item
    if v is None:
        raise GoError("index of untyped nil")
    for i in indexes:
        if isinstance(v, GoPtr):
            if v.is_nil:
                raise GoError("index of nil pointer")
            v = v.elem
        k = kind_of(v)
        if k in ("slice", "string"):
            seq = str(v).encode("utf-8", "surrogateescape") if k == "string" else v
            x = _index_arg(i, len(seq))
            if x >= len(seq):
                raise GoError("reflect: slice index out of range" if k == "slice"
                              else "reflect: string index out of range")
            v = GoInt(seq[x], "uint8") if k == "string" else seq[x]
        elif k == "map":
            if i is None:
                raise GoError("value is nil; should be of type string")
            if kind_of(i) != "string" or type_of(i) != "string":
                raise GoError(f"value has type {type_of(i)}; should be string")
            elem = getattr(v, "elem", EMPTY_INTERFACE)
            v = v[i] if i in v else zero_of(elem)
        else:
            raise GoError(f"can't index item of type {type_of(v)}")
    return v


def slice_(item: Any, *indexes: Any) -> Any:
    v = item
    if v is None:
        raise GoError("slice of untyped nil")
    if len(indexes) > 3:
        raise GoError(f"too many slice indexes: {len(indexes)}")
    k = kind_of(v)
    if k == "string":
        if len(indexes) == 3:
            raise GoError("cannot 3-index slice a string")
        data: Any = str(v).encode("utf-8", "surrogateescape")
    elif k == "slice":
        data = v
    else:
        raise GoError(f"can't slice item of type {type_of(v)}")
    cap = len(data)
    idx = [0, len(data), 0]
    for n, i in enumerate(indexes):
        idx[n] = _index_arg(i, cap)
    if idx[0] > idx[1]:
        raise GoError(f"invalid slice index: {idx[0]} > {idx[1]}")
    if len(indexes) == 3 and idx[1] > idx[2]:
        raise GoError(f"invalid slice index: {idx[1]} > {idx[2]}")
    part = data[idx[0]:idx[1]]
    if k == "string":
        return type(v)(part.decode("utf-8", "surrogateescape")) if type(v) is not str \
            else part.decode("utf-8", "surrogateescape")
    if isinstance(v, GoSlice):
        out = type(v).__new__(type(v))
        GoSlice.__init__(out, part, v.elem, v.name)
        return out
    return list(part)


# ---- escaping ---------------------------------------------------------------------------------


def _eval_args(args: tuple[Any, ...]) -> str:
    if len(args) == 1 and type(args[0]) is str:
        return args[0]
    return sprint(*[_printable(a) for a in args])


def _printable(a: Any) -> Any:
    if isinstance(a, GoPtr) and not a.is_nil:
        return a.elem
    return a


def html_escape(s: str) -> str:
    """template.HTMLEscapeString."""
    return (s.replace("&", "&amp;").replace("'", "&#39;").replace("<", "&lt;")
            .replace(">", "&gt;").replace('"', "&#34;").replace("\x00", "\ufffd"))


def js_escape(s: str) -> str:
    """template.JSEscapeString."""
    from .gofmt import _is_print

    out = []
    for c in s:
        o = ord(c)
        if c == "\\":
            out.append("\\\\")
        elif c == "'":
            out.append("\\'")
        elif c == '"':
            out.append('\\"')
        elif c in "<>&=":
            out.append(f"\\u{o:04X}")
        elif o < 0x20:
            out.append(f"\\u{o:04X}")
        elif o < 0x80 or _is_print(c):
            out.append(c)
        else:
            out.append(f"\\u{o:04X}")
    return "".join(out)


def _not_a_function(fn: Any, *args: Any) -> Any:
    if fn is None:
        raise GoError("call of nil")
    raise GoError(f"non-function of type {type_of(fn)}")


_RV = "reflect.Value"

#: name -> signature and implementation; ``and``/``or`` short-circuit in the executor
BUILTINS: dict[str, GoMethod] = {
    "and": GoMethod((_RV, _RV), lambda *a: a[-1], variadic=True),
    "or": GoMethod((_RV, _RV), lambda *a: a[-1], variadic=True),
    "not": GoMethod((_RV,), lambda a: not truth(a)),
    "call": GoMethod((_RV, _RV), _not_a_function, variadic=True),
    "html": GoMethod((EMPTY_INTERFACE,), lambda *a: html_escape(_eval_args(a)), variadic=True),
    "js": GoMethod((EMPTY_INTERFACE,), lambda *a: js_escape(_eval_args(a)), variadic=True),
    "urlquery": GoMethod((EMPTY_INTERFACE,), lambda *a: quote_plus(_eval_args(a), safe=""),
                         variadic=True),
    "index": GoMethod((_RV, _RV), index, variadic=True),
    "slice": GoMethod((_RV, _RV), slice_, variadic=True),
    "len": GoMethod((EMPTY_INTERFACE,), length),
    "print": GoMethod((EMPTY_INTERFACE,), sprint, variadic=True),
    "printf": GoMethod(("string", EMPTY_INTERFACE), sprintf, variadic=True),
    "println": GoMethod((EMPTY_INTERFACE,), sprintln, variadic=True),
    "eq": GoMethod((_RV, _RV), eq, variadic=True),
    "ne": GoMethod((_RV, _RV), ne),
    "lt": GoMethod((_RV, _RV), lt),
    "le": GoMethod((_RV, _RV), le),
    "gt": GoMethod((_RV, _RV), gt),
    "ge": GoMethod((_RV, _RV), ge),
}
