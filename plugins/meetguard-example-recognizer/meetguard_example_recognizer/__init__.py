"""An example meetguard recognizer plugin: employee badge ids.

"EMP-123456" (or "emp 123456", "EMP123456") is an EMPLOYEE_ID. The entry
point ``meetguard.recognizers: employee_id`` points at the class; meetguard
instantiates it with no arguments.
"""

from __future__ import annotations

from presidio_analyzer import Pattern, PatternRecognizer

__all__ = ["EmployeeIdRecognizer"]


class EmployeeIdRecognizer(PatternRecognizer):
    ENTITY = "EMPLOYEE_ID"

    def __init__(self) -> None:
        super().__init__(
            supported_entity=self.ENTITY,
            patterns=[Pattern("employee badge id", r"(?i)\bEMP[- ]?\d{6}\b", 0.9)],
            context=["employee", "badge", "staff"],
            name="EmployeeIdRecognizer",
            supported_language="en",
        )
