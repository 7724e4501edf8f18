"""Go's ``text/template`` in Python: lexer, parser, executor, ``fmt`` verbs, the built-in
functions, and the value model they share. :mod:`engine.rules.gotemplate` is the
public face (with Prometheus' template functions); these modules mirror the Go packages:

- :mod:`.lex`, :mod:`.nodes`, :mod:`.parse`: ``text/template/parse``;
- :mod:`.values`: Go values as Python objects (types, kinds, nil, maps, pointers);
- :mod:`.gofmt`: ``fmt.Sprint``/``Sprintf``/``Sprintln`` and ``%v``;
- :mod:`.gotime`: ``time.Time``/``time.Duration`` with their methods and layouts;
- :mod:`.builtins`: ``and or not len index slice print printf println html js urlquery
  call eq ne lt le gt ge``;
- :mod:`.execute`: ``text/template``'s executor (``exec.go``).
"""
