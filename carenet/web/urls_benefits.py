"""Payroll batches, the ledger and its proof, standards, enrolments and bank accounts (issue #5)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
