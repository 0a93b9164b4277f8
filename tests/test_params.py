import pytest

from pain_lib.params import ParameterError, check_type, parse_cli_value, validate_parameters
from pain_lib.registry import NotebookEntry, Parameter


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
