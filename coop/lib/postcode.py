import re

_POSTCODE = re.compile(r"^\s*([1-9][0-9]{3})\s*([A-Za-z]{2})\s*$")
_POSTCODE_PREFIX = re.compile(r"^\s*([1-9][0-9]{3})\s*([A-Za-z]{0,2})\s*$")
# SA, SD and SS are not issued in the Netherlands.
_UNUSED_LETTERS = {"SA", "SD", "SS"}


class InvalidPostcode(ValueError):
    pass


def normalise_postcode(value: str) -> str:
    """'1234ab', ' 1234 AB ' -> '1234 AB'; raises InvalidPostcode for anything else."""
    match = _POSTCODE.match(value or "")
    if not match or match.group(2).upper() in _UNUSED_LETTERS:
        raise InvalidPostcode(value)
    return f"{match.group(1)} {match.group(2).upper()}"


def postcode_prefix(value: str) -> str | None:
    """A search term that looks like (the start of) a postcode, normalised; else None."""
    match = _POSTCODE_PREFIX.match(value or "")
    if not match:
        return None
    digits, letters = match.groups()
    return f"{digits} {letters.upper()}".strip()
