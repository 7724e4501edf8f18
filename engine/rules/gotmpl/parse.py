"""The parser of Go's ``text/template/parse`` (``parse.go``), with its error texts.

:func:`parse` turns template text into named trees: the top-level template plus one
per ``{{define}}``/``{{block}}``. Errors read as Go's do:
``template: NAME:LINE: message`` (LINE is that of the last token read).

>>> trees = parse("t", '{{define "x"}}[{{.}}]{{end}}{{template "x" 1}}', {"print"})
>>> sorted(trees), str(trees["t"].root)
(['t', 'x'], '{{template "x" 1}}')
>>> parse("t", "{{if .a}}x", set())
Traceback (most recent call last):
  ...
engine.rules.gotmpl.parse.TemplateParseError: template: t:1: unexpected EOF
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass

from ...gostrconv import parse_float as parse_go_float
from ...gostrconv import parse_int
from .lex import Item, describe, lex
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
    ElseNode,
    EndNode,
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

__all__ = ["TemplateParseError", "Tree", "go_unquote", "parse"]

MAX_STACK_DEPTH = 10000


class TemplateParseError(Exception):
    """A template syntax error; ``str()`` is Go's message."""


@dataclass(eq=False)
class Tree:
    """One named template: ``root`` is its body; ``text`` the whole parsed text."""

    name: str
    parse_name: str
    root: ListNode | None
    text: str


class _Stream:
    """The lexer's items, read one at a time (shared by the trees of one parse)."""

    def __init__(self, items: list[Item]) -> None:
        if items and items[-1].typ == "ERROR":
            last = items[-1]
            items = items + [Item("EOF", last.pos, "EOF", last.line)]
        self.items = items
        self.i = 0

    def next_item(self) -> Item:
        it = self.items[min(self.i, len(self.items) - 1)]
        self.i += 1
        return it


_NONE = Item("EOF", 0, "", 0)


class _Parser:
    def __init__(self, tree: Tree, stream: _Stream, funcs: Collection[str],
                 treeset: dict[str, Tree]) -> None:
        self.tree = tree
        self.lex = stream
        self.funcs = funcs
        self.treeset = treeset
        self.token = [_NONE, _NONE, _NONE]
        self.peek_count = 0
        self.vars = ["$"]
        self.action_line = 0
        self.range_depth = 0
        self.stack_depth = 0

    # -- token buffer (three-token look-ahead, as Go's Tree)
    def next(self) -> Item:
        if self.peek_count > 0:
            self.peek_count -= 1
        else:
            self.token[0] = self.lex.next_item()
        return self.token[self.peek_count]

    def backup(self) -> None:
        self.peek_count += 1

    def backup2(self, t1: Item) -> None:
        self.token[1] = t1
        self.peek_count = 2

    def backup3(self, t2: Item, t1: Item) -> None:
        self.token[1] = t1
        self.token[2] = t2
        self.peek_count = 3

    def peek(self) -> Item:
        if self.peek_count > 0:
            return self.token[self.peek_count - 1]
        self.peek_count = 1
        self.token[0] = self.lex.next_item()
        return self.token[0]

    def next_non_space(self) -> Item:
        while True:
            tok = self.next()
            if tok.typ != "SPACE":
                return tok

    def peek_non_space(self) -> Item:
        tok = self.next_non_space()
        self.backup()
        return tok

    # -- errors
    def errorf(self, msg: str) -> None:
        self.tree.root = None
        raise TemplateParseError(f"template: {self.tree.parse_name}:{self.token[0].line}: {msg}")

    def expect(self, typ: str, context: str) -> Item:
        tok = self.next_non_space()
        if tok.typ != typ:
            self.unexpected(tok, context)
        return tok

    def expect_one_of(self, t1: str, t2: str, context: str) -> Item:
        tok = self.next_non_space()
        if tok.typ not in (t1, t2):
            self.unexpected(tok, context)
        return tok

    def unexpected(self, tok: Item, context: str) -> None:
        if tok.typ == "ERROR":
            extra = ""
            if self.action_line != 0 and self.action_line != tok.line:
                extra = f" in action started at {self.tree.parse_name}:{self.action_line}"
                if tok.val.endswith(" action"):
                    extra = extra[len(" in action"):]
            self.errorf(f"{tok.val}{extra}")
        self.errorf(f"unexpected {describe(tok)} in {context}")

    # -- trees
    def add(self) -> None:
        name = self.tree.name
        old = self.treeset.get(name)
        if old is None or is_empty_tree(old.root):
            self.treeset[name] = self.tree
            return
        if not is_empty_tree(self.tree.root):
            from .gofmt import go_quote_string

            self.errorf(f"template: multiple definition of template {go_quote_string(name)}")

    def sub_parser(self, name: str) -> _Parser:
        t = Tree(name, self.tree.parse_name, None, self.tree.text)
        return _Parser(t, self.lex, self.funcs, self.treeset)

    def parse(self) -> None:
        self.tree.root = ListNode(self.peek().pos)
        while self.peek().typ != "EOF":
            if self.peek().typ == "LEFT_DELIM":
                delim = self.next()
                if self.next_non_space().typ == "DEFINE":
                    sub = self.sub_parser("definition")
                    sub.parse_definition()
                    continue
                self.backup2(delim)
            n = self.text_or_action()
            if isinstance(n, (EndNode, ElseNode)):
                self.errorf(f"unexpected {n}")
            else:
                self.tree.root.nodes.append(n)

    def parse_definition(self) -> None:
        context = "define clause"
        name = self.expect_one_of("STRING", "RAW_STRING", context)
        try:
            self.tree.name = go_unquote(name.val)
        except ValueError as e:
            self.errorf(str(e))
        self.expect("RIGHT_DELIM", context)
        root, end = self.item_list()
        self.tree.root = root
        if not isinstance(end, EndNode):
            self.errorf(f"unexpected {end} in {context}")
        self.add()

    def item_list(self) -> tuple[ListNode, Node]:
        lst = ListNode(self.peek_non_space().pos)
        while self.peek_non_space().typ != "EOF":
            n = self.text_or_action()
            if isinstance(n, (EndNode, ElseNode)):
                return lst, n
            lst.nodes.append(n)
        self.errorf("unexpected EOF")
        raise AssertionError  # not reached

    def text_or_action(self) -> Node:
        tok = self.next_non_space()
        if tok.typ == "TEXT":
            return TextNode(tok.pos, tok.val)
        if tok.typ == "LEFT_DELIM":
            self.action_line = tok.line
            try:
                return self.action()
            finally:
                self.action_line = 0
        if tok.typ == "COMMENT":
            return CommentNode(tok.pos, tok.val)
        self.unexpected(tok, "input")
        raise AssertionError

    def action(self) -> Node:
        tok = self.next_non_space()
        typ = tok.typ
        if typ == "BLOCK":
            return self.block_control()
        if typ == "BREAK":
            return self.break_control(tok, "break")
        if typ == "CONTINUE":
            return self.break_control(tok, "continue")
        if typ == "ELSE":
            return self.else_control()
        if typ == "END":
            return EndNode(self.expect("RIGHT_DELIM", "end").pos)
        if typ in ("IF", "RANGE", "WITH"):
            return self.branch({"IF": "if", "RANGE": "range", "WITH": "with"}[typ])
        if typ == "TEMPLATE":
            return self.template_control()
        self.backup()
        tok = self.peek()
        return ActionNode(tok.pos, tok.line, self.pipeline("command", "RIGHT_DELIM"))

    def break_control(self, tok: Item, word: str) -> Node:
        nxt = self.next_non_space()
        if nxt.typ != "RIGHT_DELIM":
            self.unexpected(nxt, "{{" + word + "}}")
        if self.range_depth == 0:
            self.errorf("{{" + word + "}} outside {{range}}")
        return (BreakNode if word == "break" else ContinueNode)(tok.pos, tok.line)

    def pipeline(self, context: str, end: str) -> PipeNode:
        tok = self.peek_non_space()
        pipe = PipeNode(tok.pos, tok.line)
        while True:  # declarations ("goto decls" in Go)
            v = self.peek_non_space()
            if v.typ != "VARIABLE":
                break
            self.next()
            after = self.peek()
            nxt = self.peek_non_space()
            if nxt.typ in ("ASSIGN", "DECLARE"):
                pipe.is_assign = nxt.typ == "ASSIGN"
                self.next_non_space()
                pipe.decl.append(VariableNode(v.pos, v.val.split(".")))
                self.vars.append(v.val)
                break
            if nxt.typ == "CHAR" and nxt.val == ",":
                self.next_non_space()
                pipe.decl.append(VariableNode(v.pos, v.val.split(".")))
                self.vars.append(v.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().typ in ("VARIABLE", "RIGHT_DELIM", "RIGHT_PAREN"):
                        continue
                    self.errorf("range can only initialize variables")
                self.errorf(f"too many declarations in {context}")
            if after.typ == "SPACE":
                self.backup3(v, after)
            else:
                self.backup2(v)
            break
        while True:
            tok = self.next_non_space()
            if tok.typ == end:
                self.check_pipeline(pipe, context)
                return pipe
            if tok.typ in ("BOOL", "CHAR_CONSTANT", "COMPLEX", "DOT", "FIELD", "IDENTIFIER",
                           "NUMBER", "NIL", "RAW_STRING", "STRING", "VARIABLE", "LEFT_PAREN"):
                self.backup()
                pipe.cmds.append(self.command())
            else:
                self.unexpected(tok, context)

    def check_pipeline(self, pipe: PipeNode, context: str) -> None:
        if not pipe.cmds:
            self.errorf(f"missing value for {context}")
        for i, c in enumerate(pipe.cmds[1:]):
            if isinstance(c.args[0], (BoolNode, DotNode, NilNode, NumberNode, StringNode)):
                self.errorf(f"non executable command in pipeline stage {i + 2}")

    def branch(self, context: str) -> BranchNode:
        mark = len(self.vars)
        try:
            pipe = self.pipeline(context, "RIGHT_DELIM")
            if context == "range":
                self.range_depth += 1
            lst, nxt = self.item_list()
            if context == "range":
                self.range_depth -= 1
            else_list = None
            if isinstance(nxt, ElseNode):
                if context == "if" and self.peek().typ == "IF":
                    self.next()
                    else_list = ListNode(nxt.pos, [self.branch("if")])
                elif context == "with" and self.peek().typ == "WITH":
                    self.next()
                    else_list = ListNode(nxt.pos, [self.branch("with")])
                else:
                    else_list, nxt = self.item_list()
                    if not isinstance(nxt, EndNode):
                        self.errorf(f"expected end; found {nxt}")
            return BranchNode(context, pipe.pos, pipe.line, pipe, lst, else_list)
        finally:
            del self.vars[mark:]

    def else_control(self) -> ElseNode:
        peek = self.peek_non_space()
        if peek.typ in ("IF", "WITH"):
            return ElseNode(peek.pos, peek.line)
        tok = self.expect("RIGHT_DELIM", "else")
        return ElseNode(tok.pos, tok.line)

    def parse_template_name(self, tok: Item, context: str) -> str:
        if tok.typ in ("STRING", "RAW_STRING"):
            try:
                return go_unquote(tok.val)
            except ValueError as e:
                self.errorf(str(e))
        self.unexpected(tok, context)
        raise AssertionError

    def block_control(self) -> TemplateNode:
        context = "block clause"
        tok = self.next_non_space()
        name = self.parse_template_name(tok, context)
        pipe = self.pipeline(context, "RIGHT_DELIM")
        sub = self.sub_parser(name)
        root, end = sub.item_list()
        sub.tree.root = root
        if not isinstance(end, EndNode):
            self.errorf(f"unexpected {end} in {context}")
        sub.add()
        return TemplateNode(tok.pos, tok.line, name, pipe)

    def template_control(self) -> TemplateNode:
        context = "template clause"
        tok = self.next_non_space()
        name = self.parse_template_name(tok, context)
        pipe = None
        if self.next_non_space().typ != "RIGHT_DELIM":
            self.backup()
            pipe = self.pipeline(context, "RIGHT_DELIM")
        return TemplateNode(tok.pos, tok.line, name, pipe)

    def command(self) -> CommandNode:
        cmd = CommandNode(self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            tok = self.next()
            if tok.typ == "SPACE":
                continue
            if tok.typ in ("RIGHT_DELIM", "RIGHT_PAREN"):
                self.backup()
            elif tok.typ == "PIPE":
                pass
            else:
                self.unexpected(tok, "operand")
            break
        if not cmd.args:
            self.errorf("empty command")
        return cmd

    def operand(self) -> Node | None:
        node = self.term()
        if node is None:
            return None
        if self.peek().typ == "FIELD":
            chain = ChainNode(self.peek().pos, node)
            while self.peek().typ == "FIELD":
                chain.fields.append(self.next().val[1:])
            if isinstance(node, FieldNode):
                node = FieldNode(chain.pos, str(chain)[1:].split("."))
            elif isinstance(node, VariableNode):
                node = VariableNode(chain.pos, str(chain).split("."))
            elif isinstance(node, (BoolNode, StringNode, NumberNode, NilNode, DotNode)):
                from .gofmt import go_quote_string

                self.errorf(f"unexpected . after term {go_quote_string(str(node))}")
            else:
                node = chain
        return node

    def term(self) -> Node | None:
        tok = self.next_non_space()
        typ = tok.typ
        if typ == "IDENTIFIER":
            if tok.val not in self.funcs:
                from .gofmt import go_quote_string

                self.errorf(f"function {go_quote_string(tok.val)} not defined")
            return IdentifierNode(tok.pos, tok.val)
        if typ == "DOT":
            return DotNode(tok.pos)
        if typ == "NIL":
            return NilNode(tok.pos)
        if typ == "VARIABLE":
            return self.use_var(tok.pos, tok.val)
        if typ == "FIELD":
            return FieldNode(tok.pos, tok.val[1:].split("."))
        if typ == "BOOL":
            return BoolNode(tok.pos, tok.val == "true")
        if typ in ("CHAR_CONSTANT", "COMPLEX", "NUMBER"):
            try:
                return new_number(tok.pos, tok.val, typ)
            except ValueError as e:
                self.errorf(str(e))
        if typ == "LEFT_PAREN":
            if self.stack_depth >= MAX_STACK_DEPTH:
                self.errorf("max expression depth exceeded")
            self.stack_depth += 1
            try:
                return self.pipeline("parenthesized pipeline", "RIGHT_PAREN")
            finally:
                self.stack_depth -= 1
        if typ in ("STRING", "RAW_STRING"):
            try:
                s = go_unquote(tok.val)
            except ValueError as e:
                self.errorf(str(e))
            return StringNode(tok.pos, tok.val, s)
        self.backup()
        return None

    def use_var(self, pos: int, name: str) -> VariableNode:
        v = VariableNode(pos, name.split("."))
        if v.ident[0] not in self.vars:
            from .gofmt import go_quote_string

            self.errorf(f"undefined variable {go_quote_string(v.ident[0])}")
        return v


def is_empty_tree(n: Node | None) -> bool:
    """parse.IsEmptyTree: nothing but white space and comments."""
    if n is None or isinstance(n, CommentNode):
        return True
    if isinstance(n, ListNode):
        return all(is_empty_tree(c) for c in n.nodes)
    if isinstance(n, TextNode):
        return n.text.strip() == ""
    return False


def parse(name: str, text: str, funcs: Collection[str]) -> dict[str, Tree]:
    """Parse ``text`` as template ``name``; the trees by name. ``funcs`` are the names
    of the functions the template may call (Go checks them at parse time)."""
    treeset: dict[str, Tree] = {}
    tree = Tree(name, name, None, text)
    p = _Parser(tree, _Stream(lex(text)), funcs, treeset)
    p.parse()
    p.add()
    return treeset


# ---- constants ---------------------------------------------------------------------------

_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
                   "v": "\v", "\\": "\\"}


def _unquote_char(s: str, i: int, quote: str) -> tuple[int | str, int]:
    """strconv.UnquoteChar at ``s[i]``: (rune as str, or a raw byte as int; next index)."""
    c = s[i]
    if c == quote and quote in "'\"":
        raise ValueError("invalid syntax")
    if c != "\\":
        return c, i + 1
    if i + 1 >= len(s):
        raise ValueError("invalid syntax")
    e = s[i + 1]
    i += 2
    if e in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[e], i
    if e in "xuU":
        n = {"x": 2, "u": 4, "U": 8}[e]
        digits = s[i:i + n]
        if len(digits) < n or any(d not in "0123456789abcdefABCDEF" for d in digits):
            raise ValueError("invalid syntax")
        v = int(digits, 16)
        if e == "x":
            return v, i + n
        if v > 0x10FFFF or 0xD800 <= v <= 0xDFFF:
            raise ValueError("invalid syntax")
        return chr(v), i + n
    if e in "01234567":
        digits = s[i - 1:i + 2]
        if len(digits) < 3 or any(d not in "01234567" for d in digits):
            raise ValueError("invalid syntax")
        v = int(digits, 8)
        if v > 255:
            raise ValueError("invalid syntax")
        return v, i + 2
    if e in "'\"":
        if e != quote:
            raise ValueError("invalid syntax")
        return e, i
    raise ValueError("invalid syntax")


def go_unquote(q: str) -> str:
    """strconv.Unquote for "..." and `...` literals (ValueError("invalid syntax")).

    >>> go_unquote('"a\\\\tb\\\\u00e9"'), go_unquote('`x\\\\n`')
    ('a\\tbé', 'x\\\\n')
    """
    if len(q) < 2 or q[0] != q[-1] or q[0] not in "\"`'":
        raise ValueError("invalid syntax")
    body = q[1:-1]
    if q[0] == "`":
        if "`" in body:
            raise ValueError("invalid syntax")
        return body.replace("\r", "")
    if q[0] == "'":
        raise ValueError("invalid syntax")
    if "\n" in body:
        raise ValueError("invalid syntax")
    out = bytearray()
    i = 0
    while i < len(body):
        r, i = _unquote_char(body, i, '"')
        if isinstance(r, int):
            out.append(r)
        else:
            out.extend(r.encode("utf-8", "surrogatepass"))
    return out.decode("utf-8", "surrogateescape")


def _parse_go_int(text: str, unsigned: bool) -> int | None:
    """strconv.ParseInt/ParseUint(text, 0, 64), or None."""
    try:
        return parse_int(text, unsigned=unsigned)
    except ValueError:
        return None


def new_number(pos: int, text: str, typ: str) -> NumberNode:
    """parse.newNumber: every Go type the constant fits (ValueError with Go's text)."""
    n = NumberNode(pos, text)
    if typ == "CHAR_CONSTANT":
        r, i = _unquote_char(text, 1, "'")
        if text[i:] != "'":
            raise ValueError(f"malformed character constant: {text}")
        v = r if isinstance(r, int) else ord(r)
        n.is_int = n.is_uint = n.is_float = True
        n.int64 = n.uint64 = v
        n.float64 = float(v)
        return n
    if typ == "COMPLEX":
        try:
            c = complex(text.replace("_", "").replace("i", "j"))
        except ValueError:
            raise ValueError(f"illegal number syntax: {_q(text)}") from None
        n.is_complex = True
        n.complex128 = c
        _simplify_complex(n)
        return n
    if text.endswith("i"):
        try:
            f = parse_go_float(text[:-1])
        except ValueError:
            pass
        else:
            n.is_complex = True
            n.complex128 = complex(0, f)
            _simplify_complex(n)
            return n
    u = _parse_go_int(text, unsigned=True)
    if u is not None:
        n.is_uint, n.uint64 = True, u
    i = _parse_go_int(text, unsigned=False)
    if i is not None:
        n.is_int, n.int64 = True, i
        if i == 0:
            n.is_uint, n.uint64 = True, 0
    if n.is_int:
        n.is_float, n.float64 = True, float(n.int64)
    elif n.is_uint:
        n.is_float, n.float64 = True, float(n.uint64)
    else:
        try:
            f = parse_go_float(text)
        except ValueError:
            pass
        else:
            if not any(c in text for c in ".eEpP"):
                raise ValueError(f"integer overflow: {_q(text)}")
            n.is_float, n.float64 = True, f
            if math.isfinite(f) and f == int(f):
                iv = int(f)
                if -(1 << 63) <= iv < (1 << 63):
                    n.is_int, n.int64 = True, iv
                if 0 <= iv < (1 << 64):
                    n.is_uint, n.uint64 = True, iv
    if not (n.is_int or n.is_uint or n.is_float):
        raise ValueError(f"illegal number syntax: {_q(text)}")
    return n


def _simplify_complex(n: NumberNode) -> None:
    if n.complex128.imag == 0:
        n.is_float, n.float64 = True, n.complex128.real
        if n.float64 == int(n.float64):
            iv = int(n.float64)
            n.is_int, n.int64 = True, iv
            if iv >= 0:
                n.is_uint, n.uint64 = True, iv


def _q(s: str) -> str:
    from .gofmt import go_quote_string

    return go_quote_string(s)
