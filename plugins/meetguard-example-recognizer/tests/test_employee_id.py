from __future__ import annotations

import pytest
from meetguard_example_recognizer import EmployeeIdRecognizer
from presidio_analyzer import EntityRecognizer
from presidio_analyzer.nlp_engine import NlpArtifacts


def _spans(text: str) -> list[tuple[str, str]]:
    rec = EmployeeIdRecognizer()
    results = rec.analyze(text, ["EMPLOYEE_ID"], NlpArtifacts([], [], [], [], None, "en"))
    return [(r.entity_type, text[r.start:r.end]) for r in results]


def test_is_a_presidio_recognizer_for_employee_id() -> None:
    rec = EmployeeIdRecognizer()
    assert isinstance(rec, EntityRecognizer)
    assert rec.get_supported_entities() == ["EMPLOYEE_ID"]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("badge EMP-123456 lost", ["EMP-123456"]),
        ("emp 654321 and EMP000001.", ["emp 654321", "EMP000001"]),
        ("EMP-12345 is too short", []),
        ("TEMP-123456 is not a badge", []),
        ("EMP-1234567 is too long", []),
    ],
)
def test_finds_badge_ids_only(text: str, found: list[str]) -> None:
    assert [v for _, v in _spans(text)] == found


def test_entry_point_is_declared() -> None:
    import importlib.metadata as md

    eps = [ep for ep in md.entry_points(group="meetguard.recognizers") if ep.name == "employee_id"]
    assert eps and eps[0].load() is EmployeeIdRecognizer
