"""The executor of Go's ``text/template`` (``exec.go``), with its error texts.

It walks the trees of a parsed template set over a data value, evaluating pipelines,
fields, methods and function calls with Go's rules: the result of one pipeline stage is
the last argument of the next; arguments are checked against the parameter types
(``wrong type for value; expected string; got float64``); numeric constants take the
type their spelling gives (``1`` is an ``int``, ``1.0`` a ``float64``); a function's
error stops execution (``error calling first: first() called on vector with no
elements``). Errors read ``template: NAME:LINE:COL: executing "NAME" at <NODE>: ...``
where COL is the 0-based byte offset in the line, as Go prints it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from .builtins import BUILTINS, is_true, truth
from .gofmt import _Flags, fmt_value, go_quote_string, top_level_print
from .nodes import (
    ActionNode,
    BoolNode,
    BranchNode,
    BreakNode,
    ChainNode,
    CommandNode,
    CommentNode,
    ContinueNode,
    DotNode,
    FieldNode,
    IdentifierNode,
    ListNode,
    NilNode,
    Node,
    NumberNode,
    PipeNode,
    StringNode,
    TemplateNode,
    TextNode,
    VariableNode,
)
from .parse import Tree
from .values import (
    EMPTY_INTERFACE,
    GoError,
    GoInt,
    GoMethod,
    GoPtr,
    GoStruct,
    can_be_nil,
    kind_of,
    type_of,
    zero_of,
)

__all__ = ["MAX_EXEC_DEPTH", "TemplateExecError", "TemplateSet", "execute"]

MAX_EXEC_DEPTH = 100000
_RV = "reflect.Value"

#: exported fields of the struct types pointers may point to (for nil-pointer messages)
_STRUCT_FIELDS = {"template.sample": ("Labels", "Value")}


class TemplateExecError(Exception):
    """A template execution error; ``str()`` is Go's message."""


class _Missing:
    """No value: the pipeline has no previous stage to pass on."""


MISSING: Any = _Missing()


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


@dataclass
class TemplateSet:
    """Parsed trees by name, the functions they may call, and the ``missingkey`` option
    (``zero``: a missing map key reads as the element's zero value; ``default``/
    ``invalid``: as no value; ``error``: stop)."""

    trees: dict[str, Tree]
    funcs: Mapping[str, GoMethod] = field(default_factory=dict)
    missingkey: str = "zero"


def execute(tset: TemplateSet, name: str, data: Any,
            funcs: Mapping[str, GoMethod] | None = None) -> str:
    """Execute template ``name`` of ``tset`` over ``data``; raises TemplateExecError."""
    tree = tset.trees[name]
    out: list[str] = []
    st = _State(tset, tree, out, funcs if funcs is not None else tset.funcs, 0, [["$", data]])
    if tree.root is None:
        st.errorf(f"{go_quote_string(name)} is an incomplete or empty template")
    st.walk(data, tree.root)
    return "".join(out)


def _error_context(tree: Tree, node: Node) -> tuple[str, str]:
    """parse.Tree.ErrorContext: ("NAME:LINE:COL", node text); COL in bytes, 0-based."""
    text = tree.text[:node.pos]
    nl = text.rfind("\n")
    col = len(text[nl + 1:].encode("utf-8", "surrogateescape"))
    line = 1 + text.count("\n")
    return f"{tree.parse_name}:{line}:{col}", str(node)


def _is_hex_int(s: str) -> bool:
    return len(s) > 2 and s[0] == "0" and s[1] in "xX" and not any(c in s for c in "pP")


class _State:
    def __init__(self, tset: TemplateSet, tree: Tree, out: list[str],
                 funcs: Mapping[str, GoMethod], depth: int, vars_: list[list[Any]]) -> None:
        self.tset = tset
        self.tree = tree
        self.out = out
        self.funcs = funcs
        self.depth = depth
        self.vars = vars_
        self.node: Node | None = None

    # -- errors and variables
    def at(self, node: Node) -> None:
        self.node = node

    def errorf(self, msg: str) -> NoReturn:
        name = self.tree.name
        if self.node is None:
            raise TemplateExecError(f"template: {name}: {msg}")
        loc, ctx = _error_context(self.tree, self.node)
        raise TemplateExecError(
            f"template: {loc}: executing {go_quote_string(name)} at <{ctx}>: {msg}")

    def push(self, name: str, value: Any) -> None:
        self.vars.append([name, value])

    def pop(self, mark: int) -> None:
        del self.vars[mark:]

    def set_var(self, name: str, value: Any) -> None:
        for v in reversed(self.vars):
            if v[0] == name:
                v[1] = value
                return
        self.errorf(f"undefined variable: {name}")

    def var_value(self, name: str) -> Any:
        for v in reversed(self.vars):
            if v[0] == name:
                return v[1]
        self.errorf(f"undefined variable: {name}")

    # -- walking
    def walk(self, dot: Any, node: Node) -> None:
        self.node = node
        typ = type(node)
        if typ is TextNode:
            self.out.append(node.text)  # type: ignore[attr-defined]
        elif typ is ActionNode:
            pipe = node.pipe  # type: ignore[attr-defined]
            val = self.eval_pipeline(dot, pipe)
            if not pipe.decl:
                self.node = node
                self.out.append(top_level_print(val))
        elif typ is ListNode:
            for n in node.nodes:  # type: ignore[attr-defined]
                self.walk(dot, n)
        elif isinstance(node, BranchNode):
            if node.kind == "range":
                self.walk_range(dot, node)
            else:
                self.walk_if_or_with(node, dot)
        elif isinstance(node, TemplateNode):
            self.walk_template(dot, node)
        elif isinstance(node, BreakNode):
            raise _Break
        elif isinstance(node, ContinueNode):
            raise _Continue
        elif isinstance(node, CommentNode):
            pass
        else:  # pragma: no cover - the parser makes no other nodes
            self.errorf(f"unknown node: {node}")

    def walk_if_or_with(self, node: BranchNode, dot: Any) -> None:
        mark = len(self.vars)
        try:
            val = self.eval_pipeline(dot, node.pipe)
            t, ok = is_true(val)
            if not ok:
                self.errorf(f"if/with can't use {fmt_value(val, 'v', _Flags())}")
            if t:
                self.walk(val if node.kind == "with" else dot, node.list)
            elif node.else_list is not None:
                self.walk(dot, node.else_list)
        finally:
            self.pop(mark)

    def walk_range(self, dot: Any, r: BranchNode) -> None:
        self.at(r)
        mark0 = len(self.vars)
        decl = r.pipe.decl
        try:
            val = self.eval_pipeline(dot, r.pipe)
            if isinstance(val, GoPtr) and not val.is_nil:
                val = val.elem
            mark = len(self.vars)

            def one(index: Any, elem: Any) -> None:
                if decl:
                    if r.pipe.is_assign:
                        self.set_var(decl[0].ident[0], index if len(decl) > 1 else elem)
                    else:
                        self.vars[-1][1] = elem
                if len(decl) > 1:
                    if r.pipe.is_assign:
                        self.set_var(decl[1].ident[0], elem)
                    else:
                        self.vars[-2][1] = index
                try:
                    self.walk(elem, r.list)
                except _Continue:
                    pass
                finally:
                    self.pop(mark)

            k = kind_of(val)
            ran = False
            try:
                if k in ("int", "uint"):
                    if len(decl) > 1:
                        self.errorf(f"can't use {fmt_value(val, 'v', _Flags())} to iterate over "
                                    "more than one variable")
                    for i in range(int(val)):
                        ran = True
                        one(None, i)
                elif k == "slice":
                    for i, e in enumerate(list(val)):
                        ran = True
                        one(i, e)
                elif k == "map":
                    for key in sorted(val):
                        ran = True
                        one(key, val[key])
                elif k != "invalid":
                    self.errorf(f"range can't iterate over {fmt_value(val, 'v', _Flags())}")
            except _Break:
                return
            if not ran and r.else_list is not None:
                self.walk(dot, r.else_list)
        finally:
            self.pop(mark0)

    def walk_template(self, dot: Any, t: TemplateNode) -> None:
        self.at(t)
        tree = self.tset.trees.get(t.name)
        if tree is None or tree.root is None:
            self.errorf(f"template {go_quote_string(t.name)} not defined")
        if self.depth >= MAX_EXEC_DEPTH:
            self.errorf(f"exceeded maximum template depth ({MAX_EXEC_DEPTH})")
        dot = self.eval_pipeline(dot, t.pipe) if t.pipe is not None else None
        sub = _State(self.tset, tree, self.out, self.funcs, self.depth + 1, [["$", dot]])
        try:
            sub.walk(dot, tree.root)
        except RecursionError:
            self.errorf(f"exceeded maximum template depth ({MAX_EXEC_DEPTH})")

    # -- evaluation
    def eval_pipeline(self, dot: Any, pipe: PipeNode | None) -> Any:
        if pipe is None:
            return None
        self.at(pipe)
        value = MISSING
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
        for v in pipe.decl:
            if pipe.is_assign:
                self.set_var(v.ident[0], value)
            else:
                self.push(v.ident[0], value)
        return value

    def not_a_function(self, args: list[Node], final: Any) -> None:
        if len(args) > 1 or final is not MISSING:
            self.errorf(f"can't give argument to non-function {args[0]}")

    def eval_command(self, dot: Any, cmd: CommandNode, final: Any) -> Any:
        first = cmd.args[0]
        if type(first) is VariableNode:
            return self.eval_variable_node(dot, first, cmd.args, final)
        if isinstance(first, FieldNode):
            return self.eval_field_node(dot, first, cmd.args, final)
        if isinstance(first, ChainNode):
            return self.eval_chain_node(dot, first, cmd.args, final)
        if isinstance(first, IdentifierNode):
            return self.eval_function(dot, first, cmd, cmd.args, final)
        if isinstance(first, PipeNode):
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)
        if isinstance(first, VariableNode):
            return self.eval_variable_node(dot, first, cmd.args, final)
        self.at(first)
        self.not_a_function(cmd.args, final)
        if isinstance(first, BoolNode):
            return first.true
        if isinstance(first, DotNode):
            return dot
        if isinstance(first, NilNode):
            self.errorf("nil is not a command")
        if isinstance(first, NumberNode):
            return self.ideal_constant(first)
        if isinstance(first, StringNode):
            return first.text
        self.errorf(f"can't evaluate command {go_quote_string(str(first))}")

    def ideal_constant(self, c: NumberNode) -> Any:
        self.at(c)
        if c.is_complex:
            return c.complex128
        if (c.is_float and not _is_hex_int(c.text) and not c.text.startswith("'")
                and any(ch in c.text for ch in ".eEpP")):
            return c.float64
        if c.is_int:
            return c.int64
        if c.is_uint:
            self.errorf(f"{c.text} overflows int")
        return None

    def eval_field_node(self, dot: Any, f: FieldNode, args: list[Node] | None, final: Any) -> Any:
        self.at(f)
        return self.eval_field_chain(dot, dot, f, f.ident, args, final)

    def eval_chain_node(self, dot: Any, chain: ChainNode, args: list[Node] | None,
                        final: Any) -> Any:
        self.at(chain)
        if not chain.fields:
            self.errorf("internal error: no fields in evalChainNode")
        if isinstance(chain.node, NilNode):
            self.errorf(f"indirection through explicit nil in {chain}")
        pipe = self.eval_arg(dot, None, chain.node)
        return self.eval_field_chain(dot, pipe, chain, chain.fields, args, final)

    def eval_variable_node(self, dot: Any, v: VariableNode, args: list[Node] | None,
                           final: Any) -> Any:
        self.at(v)
        value = self.var_value(v.ident[0])
        if len(v.ident) == 1:
            self.not_a_function(args or [v], final)
            return value
        return self.eval_field_chain(dot, value, v, v.ident[1:], args, final)

    def eval_field_chain(self, dot: Any, receiver: Any, node: Node, ident: list[str],
                         args: list[Node] | None, final: Any) -> Any:
        for name in ident[:-1]:
            receiver = self.eval_field(dot, name, node, None, MISSING, receiver)
        return self.eval_field(dot, ident[-1], node, args, final, receiver)

    def eval_function(self, dot: Any, node: IdentifierNode, cmd: Node, args: list[Node] | None,
                      final: Any) -> Any:
        self.at(node)
        name = node.ident
        fn = self.funcs.get(name)
        builtin = False
        if fn is None:
            fn = BUILTINS.get(name)
            builtin = fn is not None
        if fn is None:
            self.errorf(f"{go_quote_string(name)} is not a defined function")
        return self.eval_call(dot, fn, builtin, cmd, name, args, final)

    def eval_field(self, dot: Any, name: str, node: Node, args: list[Node] | None, final: Any,
                   receiver: Any) -> Any:
        if receiver is None:
            if self.tset.missingkey == "error":
                self.errorf(f"nil data; no entry for key {go_quote_string(name)}")
            return None
        typ = type_of(receiver)
        r = receiver
        is_nil = False
        if isinstance(r, GoPtr):
            if r.is_nil:
                is_nil = True
            else:
                r = r.elem
        if not is_nil:
            method = getattr(r, "go_methods", {}).get(name)
            if method is not None:
                return self.eval_call(dot, method, False, node, name, args, final, receiver=r)
        has_args = (args is not None and len(args) > 1) or final is not MISSING
        if isinstance(r, GoStruct):
            if name in r.fields:
                if has_args:
                    self.errorf(f"{name} has arguments but cannot be invoked as function")
                return r.fields[name]
        elif isinstance(r, dict):
            if has_args:
                self.errorf(f"{name} is not a method but has arguments")
            if name in r:
                return r[name]
            mk = self.tset.missingkey
            if mk == "error":
                self.errorf(f"map has no entry for key {go_quote_string(name)}")
            if mk == "zero":
                return zero_of(getattr(r, "elem", EMPTY_INTERFACE))
            return None
        elif is_nil:
            if name in _STRUCT_FIELDS.get(r.elem_type, ()):
                self.errorf(f"nil pointer evaluating {typ}.{name}")
        self.errorf(f"can't evaluate field {name} in type {typ}")

    def eval_call(self, dot: Any, fn: GoMethod, builtin: bool, node: Node, name: str,
                  args: list[Node] | None, final: Any, receiver: Any = None) -> Any:
        call_args = args[1:] if args is not None else []
        params = fn.params
        num_in = len(call_args) + (0 if final is MISSING else 1)
        if fn.variadic:
            num_fixed = len(params) - 1
            if num_in < num_fixed:
                self.errorf(f"wrong number of args for {name}: want at least {len(params) - 1} "
                            f"got {len(call_args)}")
        else:
            num_fixed = len(call_args)
            if num_in != len(params):
                self.errorf(f"wrong number of args for {name}: want {len(params)} got {num_in}")
        if builtin and name in ("and", "or"):
            v: Any = None
            for a in call_args:
                v = self.eval_arg(dot, _RV, a)
                if truth(v) == (name == "or"):
                    return v
            if final is not MISSING:
                v = self.validate_type(final, _RV)
            return v
        argv = []
        for i in range(min(num_fixed, len(call_args))):
            argv.append(self.eval_arg(dot, params[i], call_args[i]))
        if fn.variadic:
            for a in call_args[len(argv):]:
                argv.append(self.eval_arg(dot, params[-1], a))
        if final is not MISSING:
            t = params[-1]
            if fn.variadic and num_in - 1 < num_fixed:
                t = params[num_in - 1]
            argv.append(self.validate_type(final, t))
        try:
            if receiver is not None:
                return fn.fn(receiver, *argv)
            return fn.fn(*argv)
        except GoError as e:
            self.at(node)
            self.errorf(f"error calling {name}: {e}")
        except (TemplateExecError, RecursionError):
            raise
        except Exception as e:  # a panic in the function: Go reports it as its error
            self.at(node)
            self.errorf(f"error calling {name}: {e}")

    def validate_type(self, value: Any, typ: str | None) -> Any:
        if value is None:
            if typ is None:
                return None
            if can_be_nil(typ):
                return zero_of(typ)
            self.errorf(f"invalid value; expected {typ}")
        if typ is None or typ in (_RV, EMPTY_INTERFACE):
            return value
        vt = type_of(value)
        if vt == typ:
            return value
        if isinstance(value, GoPtr) and value.elem_type == typ:
            if value.is_nil:
                self.errorf(f"dereference of nil pointer of type {typ}")
            return value.elem
        self.errorf(f"wrong type for value; expected {typ}; got {vt}")

    def eval_arg(self, dot: Any, typ: str | None, n: Node) -> Any:
        self.at(n)
        if isinstance(n, DotNode):
            return self.validate_type(dot, typ)
        if isinstance(n, NilNode):
            if typ is not None and can_be_nil(typ):
                return zero_of(typ)
            self.errorf(f"cannot assign nil to {typ}")
        if isinstance(n, FieldNode):
            return self.validate_type(self.eval_field_node(dot, n, [n], MISSING), typ)
        if isinstance(n, VariableNode):
            return self.validate_type(self.eval_variable_node(dot, n, None, MISSING), typ)
        if isinstance(n, PipeNode):
            return self.validate_type(self.eval_pipeline(dot, n), typ)
        if isinstance(n, IdentifierNode):
            return self.validate_type(self.eval_function(dot, n, n, None, MISSING), typ)
        if isinstance(n, ChainNode):
            return self.validate_type(self.eval_chain_node(dot, n, None, MISSING), typ)
        if typ == "bool":
            if isinstance(n, BoolNode):
                return n.true
            self.errorf(f"expected bool; found {n}")
        if typ in ("float64", "float32"):
            if isinstance(n, NumberNode) and n.is_float:
                return n.float64
            self.errorf(f"expected float; found {n}")
        if typ in ("int", "int64", "time.Duration"):
            if isinstance(n, NumberNode) and n.is_int:
                return n.int64 if typ == "int" else GoInt(n.int64, typ)
            self.errorf(f"expected integer; found {n}")
        if typ in (EMPTY_INTERFACE, _RV):
            return self.eval_empty_interface(dot, n)
        if typ == "string":
            if isinstance(n, StringNode):
                return n.text
            self.errorf(f"expected string; found {n}")
        self.errorf(f"can't handle {n} for arg of type {typ}")

    def eval_empty_interface(self, dot: Any, n: Node) -> Any:
        self.at(n)
        if isinstance(n, BoolNode):
            return n.true
        if isinstance(n, DotNode):
            return dot
        if isinstance(n, FieldNode):
            return self.eval_field_node(dot, n, None, MISSING)
        if isinstance(n, IdentifierNode):
            return self.eval_function(dot, n, n, None, MISSING)
        if isinstance(n, NumberNode):
            return self.ideal_constant(n)
        if isinstance(n, StringNode):
            return n.text
        if isinstance(n, VariableNode):
            return self.eval_variable_node(dot, n, None, MISSING)
        if isinstance(n, PipeNode):
            return self.eval_pipeline(dot, n)
        self.errorf(f"can't handle assignment of {n} to empty interface argument")
