"""Blame from tracebacks and from coverage, on made-up spans."""

from __future__ import annotations

from mge.validate.blame import (
    WRONG_VALUE,
    AtomSpan,
    Binding,
    SpanIndex,
    absent_dependency,
    blame_coverage,
    blame_missing,
    blame_signature,
    blame_traceback,
    frames,
    import_time_scores,
    mismatched_callees,
    missing_names,
    ochiai_scores,
    top_suspects,
)

INDEX = SpanIndex(
    [
        AtomSpan("shop/cart.py::<module>#0", "shop/cart.py", 1, 4),
        AtomSpan("shop/cart.py::Cart.add#0", "shop/cart.py", 5, 12),
        AtomSpan("shop/cart.py::Cart.total#0", "shop/cart.py", 13, 20),
        AtomSpan("shop/tax.py::rate#0", "shop/tax.py", 1, 9),
    ]
)

PYTEST_FAILURE = """
    def test_total(cart):
>       assert cart.total() == 10
tests/test_cart.py:8:
_ _ _ _ _
shop/cart.py:15: in total
    return sum(self.prices) * rate(self.region)
_ _ _ _ _
shop/tax.py:4: in rate
    return TABLE[region]
E   KeyError: 'eu'
shop/tax.py:4: KeyError
"""

PLAIN_TRACEBACK = """Traceback (most recent call last):
  File "/tmp/work/tests/test_cart.py", line 8, in test_total
  File "/tmp/work/shop/cart.py", line 7, in add
    self.items.append(itme)
NameError: name 'itme' is not defined
"""


def test_frames_are_read_in_order() -> None:
    assert frames(PYTEST_FAILURE) == [
        ("tests/test_cart.py", 8),
        ("shop/cart.py", 15),
        ("shop/tax.py", 4),
        ("shop/tax.py", 4),
    ]


def test_the_innermost_project_frame_is_the_first_suspect() -> None:
    suspects = blame_traceback(PYTEST_FAILURE, INDEX)
    assert [s.atom_id for s in suspects] == ["shop/tax.py::rate#0", "shop/cart.py::Cart.total#0"]
    assert suspects[0].score > suspects[1].score
    assert suspects[0].source == "traceback"


def test_absolute_paths_in_plain_tracebacks_map_onto_project_files() -> None:
    (suspect,) = blame_traceback(PLAIN_TRACEBACK, INDEX)
    assert suspect.atom_id == "shop/cart.py::Cart.add#0"


def test_a_traceback_outside_the_project_blames_nothing() -> None:
    assert blame_traceback('File "/usr/lib/python3/json.py", line 3, in x', INDEX) == []


def test_coverage_ranks_the_atom_only_failing_tests_ran() -> None:
    coverage = {
        "t_pass_1": {"shop/cart.py": [6, 14], "shop/tax.py": [2]},
        "t_pass_2": {"shop/cart.py": [6]},
        "t_fail_1": {"shop/cart.py": [6, 14]},
        "t_fail_2": {"shop/cart.py": [14], "shop/tax.py": [3]},
    }
    verdicts = {"t_pass_1": True, "t_pass_2": True, "t_fail_1": False, "t_fail_2": False}
    ranked = blame_coverage(coverage, verdicts, INDEX)
    assert ranked[0].atom_id == "shop/cart.py::Cart.total#0"
    scores = {s.atom_id: s.score for s in ranked}
    # total: 2 failing, 1 passing -> 2 / sqrt(2 * 3); add: 1 failing, 2 passing -> 1 / sqrt(2 * 3)
    assert scores["shop/cart.py::Cart.total#0"] == round(2 / (6**0.5), 4)
    assert scores["shop/cart.py::Cart.add#0"] == round(1 / (6**0.5), 4)
    ochiai, ran = ochiai_scores(coverage, verdicts, INDEX)
    assert ran["t_fail_2"] == {"shop/cart.py::Cart.total#0", "shop/tax.py::rate#0"}
    assert ochiai == scores


def test_no_failing_test_means_no_suspect() -> None:
    assert blame_coverage({"t": {"shop/cart.py": [6]}}, {"t": True}, INDEX) == []


def test_only_the_best_scored_suspects_are_taken() -> None:
    suspects = blame_coverage(
        {"f": {"shop/cart.py": [6, 14]}, "p": {"shop/cart.py": [6]}},
        {"f": False, "p": True},
        INDEX,
    )
    assert [s.atom_id for s in top_suspects(suspects, 3)] == ["shop/cart.py::Cart.total#0"]


# What the plan says each atom binds: a class split into a header and two body
# statements, a method, a module header, a second class with a same-named constant.
BINDINGS = [
    Binding("shop/cart.py::<module>#0", "shop/cart.py", "<module>", ("TAX", "rate")),
    Binding("shop/cart.py::Cart#0", "shop/cart.py", "Cart", ("Cart", "LIMIT")),
    Binding("shop/cart.py::Cart#1", "shop/cart.py", "Cart", ("EMPTY", "ALIASES")),
    Binding("shop/cart.py::Cart.add#0", "shop/cart.py", "Cart.add", ("add", "self", "items")),
    Binding("shop/tax.py::Table#0", "shop/tax.py", "Table", ("Table", "EMPTY")),
    Binding("shop/tax.py::<module>#0", "shop/tax.py", "<module>", ("TABLE",)),
    Binding("shop/tax.py::rate#0", "shop/tax.py", "rate", ("rate", "region")),
]


def test_missing_names_are_read_from_each_kind_of_message() -> None:
    text = (
        "E   AttributeError: type object 'Parser' has no attribute 'EMPTY_VALUES'\n"
        "E   AttributeError: 'Cart' object has no attribute 'items'\n"
        "E   AttributeError: module 'shop.tax' has no attribute 'rate'\n"
        "E   ImportError: cannot import name 'TABLE' from 'shop.tax' (/x/shop/tax.py)\n"
        "E   NameError: name 'itme' is not defined\n"
    )
    assert missing_names(text) == [
        ("class", "Parser", "EMPTY_VALUES"),
        ("class", "Cart", "items"),
        ("module", "shop.tax", "rate"),
        ("module", "shop.tax", "TABLE"),
        ("scope", "", "itme"),
    ]


def test_a_missing_class_attribute_blames_the_class_piece_planned_to_bind_it() -> None:
    # Only the piece of Cart that binds EMPTY, not Table's EMPTY nor Cart's header.
    text = "E   AttributeError: type object 'Cart' has no attribute 'EMPTY'"
    assert [s.atom_id for s in blame_missing(text, BINDINGS)] == ["shop/cart.py::Cart#1"]
    # A nested class is printed by its own name only.
    nested = [Binding("m.py::Spec.Parser#3", "m.py", "Spec.Parser", ("EMPTY",))]
    text = "AttributeError: type object 'Parser' has no attribute 'EMPTY'"
    assert [s.atom_id for s in blame_missing(text, nested)] == ["m.py::Spec.Parser#3"]


def test_a_missing_instance_attribute_blames_the_method_that_assigns_it() -> None:
    text = "AttributeError: 'Cart' object has no attribute 'items'"
    assert [s.atom_id for s in blame_missing(text, BINDINGS)] == ["shop/cart.py::Cart.add#0"]


def test_a_missing_module_name_blames_that_module_top_level_code_only() -> None:
    text = "ImportError: cannot import name 'rate' from 'shop.tax' (/tmp/w/shop/tax.py)"
    # shop/cart.py's header also binds `rate` (it imports it): not the module named.
    assert [s.atom_id for s in blame_missing(text, BINDINGS)] == ["shop/tax.py::rate#0"]


def test_an_undefined_name_prefers_the_files_in_the_traceback() -> None:
    text = PLAIN_TRACEBACK.replace("itme", "TAX")
    assert [s.atom_id for s in blame_missing(text, BINDINGS, INDEX)] == ["shop/cart.py::<module>#0"]


# node's report of two failing tests of a JavaScript project (as the TAP parser
# keeps it): the message on a line of its own, then node's YAML fields.
NODE_FAILURES = """renders arrays
isList is not a function
error: 'isList is not a function'
code: 'ERR_TEST_FAILURE'
name: 'TypeError'
stack: |-
html (file:///w/out/src/html.js:51:13)
TestContext.<anonymous> (file:///w/out/test/index.js:68:9)

escapes
escapeText is not defined
error: 'escapeText is not defined'
name: 'ReferenceError'
"""
NODE_BINDINGS = [
    Binding("src/html.js::<module>#1", "src/html.js", "<module>", ("isList",), "statement"),
    Binding("src/html.js::html#0", "src/html.js", "html", ("html",), "function"),
    Binding("src/html.js::escapeText#0", "src/html.js", "escapeText", ("escapeText",)),
]


def test_a_javascript_name_bound_to_the_wrong_value_blames_its_binding() -> None:
    """`isList is not a function`: the name is there, its binding holds the wrong
    value (`Array.isArrray`, undefined), so the binder is the suspect, marked as
    such (the reader in the stack is then left alone); `is not defined` is
    JavaScript's NameError."""
    assert missing_names(NODE_FAILURES) == [("value", "", "isList"), ("scope", "", "escapeText")]
    suspects = blame_missing(NODE_FAILURES, NODE_BINDINGS)
    assert [(s.atom_id, s.source) for s in suspects] == [
        ("src/html.js::<module>#1", WRONG_VALUE),
        ("src/html.js::escapeText#0", "missing name"),
    ]
    # Prose that merely says something is not defined is no binding's fault.
    assert missing_names("expected value: 3\nthe limit is not defined here\n") == []


def test_a_name_no_plan_binds_blames_nothing() -> None:
    assert blame_missing(PLAIN_TRACEBACK, BINDINGS, INDEX) == []
    assert blame_missing("AssertionError: 3 != 4", BINDINGS, INDEX) == []


def test_calls_that_do_not_fit_a_signature_name_their_callee() -> None:
    text = (
        "TypeError: TableFormat.__new__() got an unexpected keyword argument 'padding'\n"
        "E   TypeError: rate() missing 1 required positional argument: 'region'\n"
        "E   TypeError: Cart.add() takes 2 positional arguments but 3 were given\n"
        "E   TypeError: build.<locals>.inner() got multiple values for argument 'x'\n"
        "E   TypeError: rate() takes from 1 to 2 positional arguments but 4 were given\n"
        "E   TypeError: unsupported operand type(s) for +: 'int' and 'str'\n"
    )
    assert mismatched_callees(text) == [
        "TableFormat.__new__",
        "rate",
        "Cart.add",
        "build.inner",
    ]


def test_a_call_against_a_signature_blames_what_binds_the_callee() -> None:
    """The call's frame is blamed by the traceback; the definition it did not fit
    is a suspect too: a namedtuple's field list, a method's or function's `def`."""
    bindings = [
        Binding(b.atom_id, b.file, b.qualname, b.defines, "module_header")
        if b.atom_id == "shop/cart.py::<module>#0"
        else b
        for b in BINDINGS
    ] + [Binding("shop/tax.py::<module>#1", "shop/tax.py", "<module>", ("Row", "namedtuple"))]
    text = "TypeError: Row.__new__() got an unexpected keyword argument 'with_header_hide'"
    assert [s.atom_id for s in blame_signature(text, bindings)] == ["shop/tax.py::<module>#1"]
    assert blame_signature(text, bindings)[0].source == "signature"
    text = "TypeError: Cart.add() takes 2 positional arguments but 3 were given"
    assert [s.atom_id for s in blame_signature(text, bindings)] == ["shop/cart.py::Cart.add#0"]
    # A class without its own __init__ is blamed where its name is bound.
    text = "TypeError: Table.__init__() missing 1 required positional argument: 'x'"
    assert [s.atom_id for s in blame_signature(text, bindings)] == ["shop/tax.py::Table#0"]
    # shop/cart.py's header imports `rate`: only the `def` defines its signature.
    text = "TypeError: rate() missing 1 required positional argument: 'region'"
    assert [s.atom_id for s in blame_signature(text, bindings)] == ["shop/tax.py::rate#0"]
    # A builtin's signature is no atom's.
    text = "TypeError: str.join() takes exactly one argument (2 given)"
    assert blame_signature(text, bindings) == []


def test_import_time_code_is_scored_by_the_tests_that_read_its_names() -> None:
    sources = {"shop/cart.py": "import tax\nLIMIT = 3\nTAX = 1\n\nx = LIMIT\ny = TAX\n"}
    index = SpanIndex([AtomSpan("shop/cart.py::<module>#1", "shop/cart.py", 2, 3)])
    bindings = [Binding("shop/cart.py::<module>#1", "shop/cart.py", "<module>", ("LIMIT", "TAX"))]
    coverage = {"bad": {"shop/cart.py": [5]}, "good": {"shop/cart.py": [6]}}
    verdicts = {"bad": False, "good": True}
    scores, ran = import_time_scores(coverage, verdicts, sources, bindings, index)
    # LIMIT is read only by the failing test: its atom takes LIMIT's score, 1.0.
    assert scores == {"shop/cart.py::<module>#1": 1.0}
    assert ran == {"bad": {"shop/cart.py::<module>#1"}, "good": {"shop/cart.py::<module>#1"}}
    assert import_time_scores(coverage, {"bad": True, "good": True}, sources, bindings, index) == (
        {},
        {},
    )


def test_a_declared_dependency_that_is_not_installed_blames_no_code() -> None:
    text = "  File \"/w/pkg/fields.py\", line 7\nModuleNotFoundError: No module named 'django'"
    files = ["pkg/__init__.py", "pkg/fields.py"]
    assert absent_dependency(text, files, {"django", "models"}) == "django"
    # A misspelt import the plan never declared is the code's fault.
    misspelt = text.replace("'django'", "'djnago'")
    assert absent_dependency(misspelt, files, {"django"}) is None
    # So is a project module that is missing (a file of the plan not importable).
    own = text.replace("'django'", "'pkg.helpers'")
    assert absent_dependency(own, files, {"pkg"}) is None
    assert absent_dependency(own, ["src/pkg/fields.py"], {"pkg"}) is None
    assert absent_dependency("AssertionError", files, {"django"}) is None


TS_INDEX = SpanIndex(
    [
        AtomSpan("src/lexer.ts::<module>#0", "src/lexer.ts", 1, 3),
        AtomSpan("src/lexer.ts::tokenize#0", "src/lexer.ts", 4, 20),
        AtomSpan("src/cli.mts::<module>#0", "src/cli.mts", 1, 2),
    ]
)


def test_a_module_node_cannot_find_blames_the_imports_of_the_file_that_imported_it() -> None:
    # node names no frame of the project, only the compiled importer.
    esm = (
        "Error [ERR_MODULE_NOT_FOUND]: Cannot find module "
        "'/tmp/sb/.mge-build/src/tokes.js' imported from /tmp/sb/.mge-build/src/lexer.js\n"
        "    at finalizeResolution (node:internal/modules/esm/resolve:265:11)\n"
    )
    assert [s.atom_id for s in blame_traceback(esm, TS_INDEX)] == ["src/lexer.ts::<module>#0"]
    cjs = (
        "Error: Cannot find module './tokes'\nRequire stack:\n"
        "- /tmp/sb/.mge-build/src/cli.mjs\n- /tmp/sb/.mge-build/test/cli.test.js\n"
    )
    assert [s.atom_id for s in blame_traceback(cjs, TS_INDEX)] == ["src/cli.mts::<module>#0"]
    # A test file that cannot load a module is no project code to blame.
    from_test = (
        "Error [ERR_MODULE_NOT_FOUND]: Cannot find module "
        "'/tmp/sb/.mge-build/src/lexer.js' imported from /tmp/sb/.mge-build/test/a.test.js\n"
    )
    assert blame_traceback(from_test, TS_INDEX) == []
    # Vitest quotes the importer, a source file it loaded as it is.
    vitest = (
        "Error: Cannot find module './token.js' imported from '/tmp/out/src/lexer.ts'\n"
        "    at VitestExecutor._fetchModule (file:///nm/vite-node/dist/client.mjs:247:19)\n"
    )
    assert [s.atom_id for s in blame_traceback(vitest, TS_INDEX)] == ["src/lexer.ts::<module>#0"]
