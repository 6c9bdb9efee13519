"""The scenario format's own rules as pydantic errors, each at its field path with what is allowed.

pydantic checks types and bounds by itself; a rule it cannot express (dates in order, shares that
sum to 1, a field required by another) is raised here as an error of type `RULE`, whose context
carries the message and what would be allowed. Raised inside a validator, the error's path is
relative to the model being validated (pydantic prefixes the rest), so the loader reports it at
its field and line like any other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, NoReturn

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

RULE = "scenario_rule"
"""pydantic error type of the format's own rules; its context says what would be allowed."""

Loc = tuple[str | int, ...]
"""A field path as pydantic gives it: field names, list indices and mapping keys."""


class RuleProblem(NamedTuple):
    """A broken rule of the format at a field path relative to the model that checks it (a tuple,
    so code that unpacks `loc, message, allowed` reads it as it is)."""

    loc: Loc
    message: str
    allowed: str | None = None


def rule_error(message: str, allowed: str | None = None) -> PydanticCustomError:
    """A pydantic error for one of the format's own rules, carrying what would be allowed."""
    context = {"message": message} if allowed is None else {"message": message, "allowed": allowed}
    return PydanticCustomError(RULE, "{message}", context)


def duplicate_problems(names: Sequence[str], allowed: str, at: Loc = ()) -> list[RuleProblem]:
    """A problem at each name that an earlier item of the list already gave (at `at + (i,)`):
    lists of channels, cohorts or signals in which a name counts once."""
    return [
        RuleProblem((*at, i), f"{name} is listed twice", allowed)
        for i, name in enumerate(names)
        if name in names[:i]
    ]


def raise_rules(title: str, problems: list[RuleProblem], value: Any) -> None:
    """Raise every broken rule at once, each at its own field path, so a file gets one message per
    problem and its line; nothing when `problems` is empty. `title` names the model in pydantic's
    message when this is raised outside a validator (inside one, pydantic names its own)."""
    if problems:
        raise _validation_error(title, problems, value)


def raise_rule(loc: Loc, message: str, allowed: str | None = None, value: Any = None) -> NoReturn:
    """Raise one broken rule at `loc`, from a validator; `value` is the input pydantic shows
    beside the message to a Python caller."""
    raise _validation_error("scenario rule", [RuleProblem(loc, message, allowed)], value)


def _validation_error(title: str, problems: list[RuleProblem], value: Any) -> ValidationError:
    return ValidationError.from_exception_data(
        title,
        [
            InitErrorDetails(type=rule_error(p.message, p.allowed), loc=p.loc, input=value)
            for p in problems
        ],
    )


def relocate(exc: ValidationError, title: str, origins: dict[Loc, Loc]) -> ValidationError:
    """`exc` with each error's path replaced by where its value was written: the longest prefix
    of the path found in `origins` (a merged document's paths -> the override's, see
    `merge.merge_located`) is replaced by its origin, so a window a variant changed by name is
    reported at `windows.surge.end`, not at its index in the merged list."""
    details: list[InitErrorDetails] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        cut = next(n for n in range(len(loc), -1, -1) if n == 0 or loc[:n] in origins)
        moved = (*origins.get(loc[:cut], loc[:cut]), *loc[cut:])
        context = err.get("ctx")
        if err["type"] == RULE and context is not None:
            details.append(
                InitErrorDetails(
                    type=rule_error(context["message"], context.get("allowed")),
                    loc=moved,
                    input=err["input"],
                )
            )
        elif context is not None:
            details.append(
                InitErrorDetails(type=err["type"], loc=moved, input=err["input"], ctx=context)
            )
        else:
            details.append(InitErrorDetails(type=err["type"], loc=moved, input=err["input"]))
    return ValidationError.from_exception_data(title, details)
