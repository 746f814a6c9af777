"""The JSON parser of every API view: refuses what the code and the database behind it cannot take.

A body nested deeper than MAX_DEPTH would make any recursive code (serializers, json.dumps, the
exception handler) raise RecursionError; a 1,000-deep one already does inside the parser, while DRF
authenticates. A NUL character or a lone surrogate in any key or string is refused by PostgreSQL's
text and jsonb. All three are a 400 in the face's error shape, naming the field at fault.
"""

import json

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

from .guards import text_problem

MAX_DEPTH = 32


def _field(path):
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "nonFieldErrors"


def check_json(value, max_depth=MAX_DEPTH):
    """Walk ``value`` without recursion; ParseError when nested too deep, ValidationError({field: [...]})
    for a key or string the database cannot store."""
    stack = [(value, (), 1)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, dict):
            if depth > max_depth:
                raise ParseError(f"JSON nested deeper than {max_depth} levels.")
            for key, child in item.items():
                problem = text_problem(key)
                if problem:
                    raise ValidationError({_field(path + (repr(key),)): [problem]})
                stack.append((child, path + (key,), depth + 1))
        elif isinstance(item, list):
            if depth > max_depth:
                raise ParseError(f"JSON nested deeper than {max_depth} levels.")
            stack.extend((child, path + (index,), depth + 1) for index, child in enumerate(item))
        elif isinstance(item, str):
            problem = text_problem(item)
            if problem:
                raise ValidationError({_field(path): [problem]})
    return value


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding) if stream is not None else ""
            data = json.loads(text, parse_constant=_refuse_constant)
        except RecursionError:
            raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels.") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        return check_json(data)


def _refuse_constant(name):
    # NaN and Infinity are not JSON (RFC 8259) and PostgreSQL's jsonb refuses them.
    raise ValueError(f"{name} is not a JSON value")
