"""Payroll batches, the ledger and its proof, standards, enrolments and bank accounts (issue #5)."""

from django.urls import path

from carenet.web.views import benefits

urlpatterns: list = [
    path("benefits/payroll/", benefits.payroll_list, name="payroll_list"),
    path("benefits/payroll/generate/", benefits.payroll_generate, name="payroll_generate"),
    path("benefits/payroll/<int:pk>/", benefits.payroll_detail, name="payroll_detail"),
    path("benefits/payroll/<int:pk>/review/", benefits.payroll_review, name="payroll_review"),
    path("benefits/payroll/<int:pk>/return/", benefits.payroll_return, name="payroll_return"),
    path("benefits/payroll/<int:pk>/approve/", benefits.payroll_approve, name="payroll_approve"),
    path("benefits/payroll/<int:pk>/bank-file/", benefits.payroll_bank_file, name="payroll_bank_file"),
    path("benefits/payroll/<int:pk>/bank-return/", benefits.payroll_bank_return, name="payroll_bank_return"),
    path(
        "benefits/payroll/<int:pk>/insurance-list/",
        benefits.payroll_insurance_list,
        name="payroll_insurance_list",
    ),
    path(
        "benefits/payroll/<int:pk>/insurance-confirm/",
        benefits.payroll_insurance_confirm,
        name="payroll_insurance_confirm",
    ),
    path("benefits/proof/", benefits.benefit_proof, name="benefit_proof"),
    path("benefits/totals/", benefits.benefit_totals, name="benefit_totals"),
    path("benefits/totals/export.xlsx", benefits.benefit_totals_export, name="benefit_totals_export"),
    path("benefits/standards/", benefits.standard_list, name="standard_list"),
    path("children/<int:pk>/benefits/", benefits.benefit_child, name="benefit_child"),
    path("children/<int:pk>/benefits/account/", benefits.benefit_account, name="benefit_account"),
    path("children/<int:pk>/benefits/suspend/", benefits.benefit_suspend, name="benefit_suspend"),
    path("children/<int:pk>/benefits/resume/", benefits.benefit_resume, name="benefit_resume"),
]
