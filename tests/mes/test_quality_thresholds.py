"""Every ``threshold_type``: its signature is checked, and ``outside_threshold`` follows it."""

from __future__ import annotations

import pytest

from threadline.errors import Invalid
from threadline.mes.quality.models import ReportType, ThresholdType
from threadline.mes.quality.thresholds import check_threshold, outside_threshold

N, R, X = ReportType.number, ReportType.range, ReportType.text
CASES = [
    # (report type, threshold type, threshold, report, outside)
    (N, "between", {"min": 1, "max": 2}, "1.5", False),
    (N, "between", {"min": 1, "max": 2}, "2", False),
    (N, "between", {"min": 1, "max": 2}, "2.01", True),
    (N, "not-between", {"min": 1, "max": 2}, "1.5", True),
    (N, "not-between", {"min": 1, "max": 2}, "3", False),
    (N, "tolerance", {"value": 10, "tolerance": 0.1}, "10.05", False),
    (N, "tolerance", {"value": 10, "tolerance": 0.1}, "9.8", True),
    (N, "less-than", {"value": 5}, "4.9", False),
    (N, "less-than", {"value": 5}, "5", True),
    (N, "less-than-or-equals-to", {"value": 5}, "5", False),
    (N, "less-than-or-equals-to", {"value": 5}, "5.1", True),
    (N, "greater-than", {"value": 5}, "5", True),
    (N, "greater-than", {"value": 5}, "6", False),
    (N, "greater-than-or-equals-to", {"value": 5}, "5", False),
    (N, "greater-than-or-equals-to", {"value": 5}, "4", True),
    (X, "contains", {"value": "OK"}, "all ok here", False),
    (X, "contains", {"value": "OK"}, "cracked", True),
    (X, "not-contains", {"value": "crack"}, "Crack at edge", True),
    (X, "not-contains", {"value": "crack"}, "clean", False),
    (N, "equals-to", {"value": 3}, "3.0", False),
    (N, "equals-to", {"value": 3}, "3.1", True),
    (X, "equals-to", {"value": "pass"}, " pass ", False),
    (X, "not-equals-to", {"value": "fail"}, "fail", True),
    (X, "not-equals-to", {"value": "fail"}, "pass", False),
    (R, "between", {"min": 1, "max": 10}, "2,9", False),
    (R, "between", {"min": 1, "max": 10}, "[2, 11]", True),
    (N, "less-than", {"value": 5}, "not a number", True),
    (N, "less-than", {"value": 5}, None, False),
]


def test_every_threshold_type_is_covered() -> None:
    assert {case[1] for case in CASES} == {t.value for t in ThresholdType}


@pytest.mark.parametrize(("report_type", "kind", "threshold", "report", "outside"), CASES)
def test_outside_threshold(report_type, kind, threshold, report, outside) -> None:
    check_threshold(ThresholdType(kind), threshold)
    assert outside_threshold(report_type, ThresholdType(kind), threshold, report) is outside


def test_no_threshold_is_never_outside() -> None:
    assert outside_threshold(N, None, None, "1e9") is False


@pytest.mark.parametrize(
    ("kind", "threshold"),
    [
        ("between", {"min": 2, "max": 1}),
        ("between", {"min": 1}),
        ("between", [1, 2]),
        ("tolerance", {"value": 1, "tolerance": -1}),
        ("less-than", {"value": "five"}),
        ("less-than", {"value": 5, "extra": 1}),
        ("contains", {"value": 3}),
        ("equals-to", {"value": [1]}),
        ("not-between", None),
    ],
)
def test_a_threshold_of_the_wrong_shape_is_refused(kind, threshold) -> None:
    with pytest.raises(Invalid) as caught:
        check_threshold(ThresholdType(kind), threshold)
    assert caught.value.code == "INVALID_THRESHOLD"


def test_a_threshold_needs_a_type() -> None:
    with pytest.raises(Invalid):
        check_threshold(None, {"value": 1})
