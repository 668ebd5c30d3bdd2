import pytest

from textkit import from_roman, to_roman


@pytest.mark.parametrize(
    "number,numeral",
    [
        (1, "I"),
        (3, "III"),
        (4, "IV"),
        (5, "V"),
        (9, "IX"),
        (10, "X"),
        (14, "XIV"),
        (40, "XL"),
        (44, "XLIV"),
        (50, "L"),
        (90, "XC"),
        (99, "XCIX"),
        (100, "C"),
        (400, "CD"),
        (500, "D"),
        (900, "CM"),
        (1000, "M"),
        (1994, "MCMXCIV"),
        (2024, "MMXXIV"),
        (3888, "MMMDCCCLXXXVIII"),
        (3999, "MMMCMXCIX"),
    ],
)
def test_to_roman(number, numeral):
    assert to_roman(number) == numeral


@pytest.mark.parametrize("number", [1, 4, 9, 14, 40, 90, 400, 444, 999, 1994, 3999])
def test_from_roman_round_trip(number):
    assert from_roman(to_roman(number)) == number


def test_from_roman_is_case_insensitive():
    assert from_roman("mcmxciv") == 1994


def test_from_roman_strips_whitespace():
    assert from_roman("  XII ") == 12


@pytest.mark.parametrize("number", [0, -1, 4000])
def test_to_roman_out_of_range(number):
    with pytest.raises(ValueError, match="defined for 1 to 3999"):
        to_roman(number)


def test_to_roman_rejects_bool_and_float():
    with pytest.raises(TypeError, match="expects an int, got bool"):
        to_roman(True)
    with pytest.raises(TypeError, match="expects an int, got float"):
        to_roman(3.0)


@pytest.mark.parametrize("numeral", ["IIII", "IIV", "VX", "IC", "MMMM", "XM", "VV"])
def test_from_roman_rejects_non_canonical(numeral):
    with pytest.raises(ValueError, match="not a canonical roman numeral"):
        from_roman(numeral)


def test_from_roman_invalid_character():
    with pytest.raises(ValueError, match="invalid roman numeral character 'A'"):
        from_roman("XAX")


def test_from_roman_empty():
    with pytest.raises(ValueError, match="empty roman numeral"):
        from_roman("  ")


def test_from_roman_non_string():
    with pytest.raises(TypeError, match="expects a str, got int"):
        from_roman(12)
