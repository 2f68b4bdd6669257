from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class StrictJSONParser(JSONParser):
    """JSON whose strings the database can store: a lone surrogate (``"\\ud800"``) is valid
    JSON but not UTF-8, and is refused here with a 400 rather than failing at the INSERT."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("The JSON is nested too deeply.") from None
        _check_strings(data)
        return data


def _check_strings(value, depth: int = 0) -> None:
    if depth > 50:
        raise ParseError("The JSON is nested too deeply.")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ParseError("The JSON holds text that is not valid Unicode.") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, depth + 1)
            _check_strings(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item, depth + 1)
