"""Helpers for the problems tests: raise a problem the way the app does, and move its deadline."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from carenet.problems import services
from carenet.problems.models import Problem


@pytest.fixture
def raise_problem(personas, children):
    """raise_problem(child=children.own, severity="general", actor=personas.city_admin, ...) -> Problem"""

    def make(child=None, *, actor=None, severity="general", category="schooling", **kwargs) -> Problem:
        return services.problem_raise(
            actor=actor or personas.city_admin,
            child=child or children.own,
            category=category,
            severity=severity,
            description=kwargs.pop("description", "孩子已两周没有上学"),
            **kwargs,
        )

    return make


def overdue_by(problem: Problem, days: int) -> Problem:
    """Put the problem's deadline `days` before today (as if its owner had let it pass)."""
    Problem.objects.filter(pk=problem.pk).update(deadline=timezone.localdate() - dt.timedelta(days=days))
    problem.refresh_from_db()
    return problem
