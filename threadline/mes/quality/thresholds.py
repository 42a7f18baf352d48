"""Thresholds of work instructions: the signature each ``threshold_type`` takes and whether a
reported value lies outside it (``outside_threshold``, computed by the server).

The reference names the types and says the JSON blob depends on them ("See
THRESHOLD_SIGNATURES") without printing the signatures; Threadline's are:

| threshold_type | threshold | the report is inside when |
|---|---|---|
| between | {"min": a, "max": b} | a <= x <= b |
| not-between | {"min": a, "max": b} | x < a or x > b |
| tolerance | {"value": v, "tolerance": t} | abs(x - v) <= t |
| less-than | {"value": v} | x < v |
| less-than-or-equals-to | {"value": v} | x <= v |
| greater-than | {"value": v} | x > v |
| greater-than-or-equals-to | {"value": v} | x >= v |
| contains | {"value": "s"} | "s" is in the report (case-insensitive) |
| not-contains | {"value": "s"} | "s" is not in the report (case-insensitive) |
| equals-to | {"value": v} | x == v (numbers when v is a number, else trimmed text) |
| not-equals-to | {"value": v} | x != v |

A ``range`` report is two numbers, ``"low,high"`` (or ``"[low, high]"``); it is inside a numeric
threshold when both ends are.
"""

from __future__ import annotations

import math
from typing import Any

from threadline.errors import Invalid
from threadline.mes.quality.models import ReportType, ThresholdType

T = ThresholdType
NUMERIC = frozenset(
    {
        T.between,
        T.not_between,
        T.tolerance,
        T.less_than,
        T.less_than_or_equals_to,
        T.greater_than,
        T.greater_than_or_equals_to,
    }
)
TEXT = frozenset({T.contains, T.not_contains})
NUMERIC_REPORTS = frozenset({ReportType.number, ReportType.range})


def _invalid(message: str) -> Invalid:
    return Invalid(message, code="INVALID_THRESHOLD", field="threshold")


def _number(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def check_threshold(threshold_type: ThresholdType | str | None, threshold: Any) -> None:
    """400 INVALID_THRESHOLD unless ``threshold`` has the signature of ``threshold_type``."""
    if threshold_type is not None:
        threshold_type = ThresholdType(threshold_type)
    if threshold_type is None:
        if threshold is not None:
            raise _invalid("A threshold needs a threshold_type.")
        return
    if not isinstance(threshold, dict):
        raise _invalid(f"threshold_type {threshold_type.value} needs a threshold object.")
    if threshold_type in (T.between, T.not_between):
        low, high = threshold.get("min", 0), threshold.get("max", 0)
        if set(threshold) != {"min", "max"} or not (_number(low) and _number(high)):
            raise _invalid(f'threshold of type {threshold_type.value} is {{"min": a, "max": b}}.')
        if float(low) > float(high):
            raise _invalid("threshold min must not exceed max.")
    elif threshold_type == T.tolerance:
        value, tolerance = threshold.get("value", 0), threshold.get("tolerance", 0)
        if set(threshold) != {"value", "tolerance"} or not (_number(value) and _number(tolerance)):
            raise _invalid('threshold of type tolerance is {"value": v, "tolerance": t}.')
        if float(tolerance) < 0:
            raise _invalid("threshold tolerance must not be negative.")
    else:
        value = threshold.get("value")
        if set(threshold) != {"value"}:
            raise _invalid(f'threshold of type {threshold_type.value} is {{"value": v}}.')
        if threshold_type in NUMERIC and not _number(value):
            raise _invalid(f"threshold value of type {threshold_type.value} must be a number.")
        if threshold_type in TEXT and not (isinstance(value, str) and value):
            raise _invalid(f"threshold value of type {threshold_type.value} must be a text.")
        if threshold_type in (T.equals_to, T.not_equals_to) and not (
            _number(value) or isinstance(value, str)
        ):
            raise _invalid(f"threshold value of type {threshold_type.value} is a number or text.")


def report_numbers(report_type: ReportType, report: str) -> list[float] | None:
    """The number(s) of a ``number`` or ``range`` report; None when it is not one."""
    text = report.strip()
    parts = text.strip("[]").split(",") if report_type == ReportType.range else [text]
    if report_type == ReportType.range and len(parts) != 2:
        return None
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return None
    return numbers if all(math.isfinite(n) for n in numbers) else None


def _inside_number(threshold_type: ThresholdType, threshold: dict[str, Any], x: float) -> bool:
    if threshold_type == T.between:
        return float(threshold["min"]) <= x <= float(threshold["max"])
    if threshold_type == T.not_between:
        return not float(threshold["min"]) <= x <= float(threshold["max"])
    if threshold_type == T.tolerance:
        return abs(x - float(threshold["value"])) <= float(threshold["tolerance"])
    value = float(threshold["value"])
    if threshold_type == T.less_than:
        return x < value
    if threshold_type == T.less_than_or_equals_to:
        return x <= value
    if threshold_type == T.greater_than:
        return x > value
    if threshold_type == T.greater_than_or_equals_to:
        return x >= value
    raise AssertionError(threshold_type)


def outside_threshold(
    report_type: ReportType,
    threshold_type: ThresholdType | None,
    threshold: dict[str, Any] | None,
    report: str | None,
) -> bool:
    """Whether ``report`` lies outside the instruction's threshold (no threshold or no report:
    never). A numeric threshold on a report that is no number is outside."""
    if threshold_type is None or threshold is None or report is None:
        return False
    if threshold_type in NUMERIC:
        numbers = report_numbers(
            ReportType.range if report_type == ReportType.range else ReportType.number, report
        )
        if numbers is None:
            return True
        return not all(_inside_number(threshold_type, threshold, x) for x in numbers)
    value = threshold["value"]
    if threshold_type in TEXT:
        found = str(value).casefold() in report.casefold()
        return not found if threshold_type == T.contains else found
    if _number(value):
        numbers = report_numbers(ReportType.number, report)
        equal = numbers is not None and numbers[0] == float(value)
    else:
        equal = report.strip() == str(value).strip()
    return not equal if threshold_type == T.equals_to else equal
