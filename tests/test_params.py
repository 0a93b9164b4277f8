import pytest

from pain_lib.params import (
    ParameterError,
    check_constraint,
    check_type,
    describe_constraint,
    parse_cli_value,
    validate_parameters,
)
from pain_lib.registry import (
    NotebookEntry,
    Parameter,
    declared_parameters,
    get_entry,
    load_registry,
)


@pytest.mark.parametrize(
    "value, ann, ok",
    [
        (1, "int", True), (True, "int", False), (1.5, "int", False), (1, "float", True),
        ("a", "str", True), (1, "str", False), (None, "int | None", True), (3, "int | None", True),
        ([3, 5, 9], "list[int]", True), ([3, "5"], "list[int]", False), ((1, 2), "tuple[int, ...]", True),
        (False, "bool", True), (0, "bool", False), ({"a": 1}, "dict", True),
    ],
)
def test_check_type(value, ann, ok):
    assert check_type(value, ann) is ok


DECLARED = {
    p.name: p
    for p in [
        Parameter("dataset", "str", "synth-unbc", "dataset"),
        Parameter("profile", "str", "standard", "tiny | standard | paper"),
        Parameter("device", "str", "auto", "device"),
        Parameter("seed", "int", 0, "seed"),
        Parameter("depths", "list[int]", [26, 50], "network depths"),
        Parameter("mode", "str", "a", "mode"),
    ]
}
ENTRY = NotebookEntry("x/01", None, "scn", ("Table 1",), ("synth-unbc", "unbc"), {"mode": ("a", "b")})


def test_defaults_fill_in():
    out = validate_parameters({"seed": 3}, DECLARED, ENTRY)
    assert out["seed"] == 3 and out["profile"] == "standard" and out["depths"] == [26, 50]


def test_unknown_parameter_lists_valid_ones():
    with pytest.raises(ParameterError) as err:
        validate_parameters({"bogus": 1}, DECLARED, ENTRY)
    msg = str(err.value)
    assert "'bogus'" in msg and all(name in msg for name in DECLARED)


@pytest.mark.parametrize(
    "given, match",
    [
        ({"profile": "fast"}, "'profile': 'fast'; allowed: tiny, standard, full, paper"),
        ({"seed": "1"}, "'seed' .* must be int, got '1'"),
        ({"seed": -2}, "'seed'"),
        ({"device": "gpu"}, "'device': 'gpu'; allowed: auto, cpu"),
        ({"dataset": "biovid"}, "'dataset': 'biovid'; allowed: synth-unbc, unbc"),
        ({"mode": "c"}, "'mode': 'c'; allowed: 'a', 'b'"),
        ({"depths": [26, "x"]}, "'depths' .* must be list\\[int\\]"),
    ],
)
def test_bad_values_name_parameter_value_and_allowed(given, match):
    with pytest.raises(ParameterError, match=match):
        validate_parameters(given, DECLARED, ENTRY)


def test_cli_values_parse_as_literals():
    assert parse_cli_value("3") == 3
    assert parse_cli_value("[3, 5]") == [3, 5]
    assert parse_cli_value("'tiny'") == "tiny"
    assert parse_cli_value("tiny") == "tiny"  # bare words stay strings
    assert parse_cli_value("True") is True


# --------------------------------------------------------------------------- constraints

SIZES = {"non_empty": True, "unique": True, "same": [[39, 41]], "each": {"allowed": [26, 39, 41, 50, 101, 152]}}


@pytest.mark.parametrize(
    "value, spec, problem",
    [
        ([26, 50], SIZES, None),
        ([], SIZES, "the list is empty"),
        ([26, 26], SIZES, "26 is given twice"),
        ([39, 41], SIZES, "39 and 41 are the same (39, 41 count as one)"),
        ([26, 27], SIZES, "item 27: 27 is not one of 26, 39, 41, 50, 101, 152"),
        ([3, 5], {"each": {"min": 1, "odd": True}}, None),
        ([3, 4], {"each": {"min": 1, "odd": True}}, "item 4: 4 is not odd"),
        ([0], {"each": {"min": 1, "odd": True}}, "item 0: 0 is below 1"),
        ([[3, 5], [3, 4]], {"each": {"non_empty": True, "each": {"odd": True}}}, "item [3, 4]: item 4: 4 is not odd"),
        ([[3, 5], []], {"each": {"non_empty": True}}, "item []: the list is empty"),
        (3, {"min": 1, "max": 2}, "3 is above 2"),
        (2, {"allowed": [1, 2]}, None),
        ("4-4", {"pattern": r"(all-all|(?!(\d)-\2$)[0-4]-[0-4])", "means": "a pair"}, "'4-4' does not match a pair"),
        ("4-0", {"pattern": r"(all-all|(?!(\d)-\2$)[0-4]-[0-4])"}, None),
    ],
)
def test_check_constraint(value, spec, problem):
    assert check_constraint(value, spec) == problem


def test_describe_constraint():
    assert describe_constraint(SIZES) == (
        "a non-empty list of unique items (39, 41 count as one), each one of 26, 39, 41, 50, 101, 152"
    )
    assert describe_constraint({"min": 1, "odd": True}) == ">= 1 and odd"
    assert describe_constraint({"pattern": "x", "means": "the letter x"}) == "the letter x"


@pytest.mark.parametrize(
    "value, match",
    [
        ([], r"'network_sizes': \[\] \(the list is empty\); allowed: a non-empty list"),
        ([26, 26], r"'network_sizes': \[26, 26\] \(26 is given twice\); allowed: .*26, 39, 41, 50, 101, 152"),
        ([27], r"'network_sizes': \[27\] \(item 27: 27 is not one of 26, 39, 41, 50, 101, 152\)"),
    ],
)
def test_registered_constraints_name_parameter_value_and_allowed(value, match):
    entry = get_entry("scn/01_table1_depth")
    with pytest.raises(ParameterError, match=match):
        validate_parameters({"network_sizes": value}, declared_parameters(entry.path), entry)


def test_a_scalar_knob_given_where_a_list_is_declared_is_a_type_error():
    entry = get_entry("scn/01_table1_depth")
    with pytest.raises(ParameterError, match=r"'network_sizes' .* must be list\[int\], got 27"):
        validate_parameters({"network_sizes": 27}, declared_parameters(entry.path), entry)


@pytest.mark.parametrize("entry", load_registry().notebooks, ids=lambda e: e.id)
def test_registered_constraints_name_declared_knobs_and_defaults_satisfy_them(entry):
    declared = declared_parameters(entry.path)
    for name, spec in entry.constraints.items():
        assert name in declared, f"{entry.id}: constraint on undeclared parameter {name!r}"
        assert check_constraint(declared[name].default, spec) is None, f"{entry.id}: default of {name!r}"


def test_unknown_constraint_key_is_a_registry_error(tmp_path):
    from pain_lib.registry import RegistryError

    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "registry.yaml").write_text(
        "notebooks:\n  - {id: a/1, path: a.ipynb, paper: a, artifacts: [], datasets: [none],\n"
        "     constraints: {n: {each: {minimum: 1}}}}\n"
    )
    with pytest.raises(RegistryError, match=r"constraint of 'n items' has unknown keys \['minimum'\]"):
        load_registry(tmp_path)


def test_notebook_start_checks_constraints_before_anything_runs(monkeypatch):
    import pain_lib.notebook as nb

    monkeypatch.setattr(nb, "Run", lambda *a, **k: pytest.fail("Run created despite an invalid knob"))
    ns = {"network_sizes": [26, 26], "profile": "tiny"}
    with pytest.raises(ParameterError, match="26 is given twice"):
        nb.start(ns, notebook="scn/01_table1_depth")
