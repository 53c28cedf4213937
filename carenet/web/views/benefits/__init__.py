"""Benefits pages (待遇发放): payroll batches and their moves, the bank file and the bank's return file, the proof
of full payment, the ledger's totals, standards, and the benefits block of a child's file.

Views parse the request, call one service or selector and render. Batches are a district's business: scope()
shows a batch to its district and the city only, and the moves are the paying district's own (the services
refuse anyone else). Pages naming children write their access records before rendering."""

from carenet.web.views.benefits.child import benefit_account, benefit_child, benefit_resume, benefit_suspend
from carenet.web.views.benefits.payroll import (
    payroll_approve,
    payroll_bank_file,
    payroll_bank_return,
    payroll_detail,
    payroll_generate,
    payroll_insurance_confirm,
    payroll_insurance_list,
    payroll_list,
    payroll_return,
    payroll_review,
)
from carenet.web.views.benefits.reports import (
    benefit_proof,
    benefit_totals,
    benefit_totals_export,
    standard_list,
)

__all__ = [
    "benefit_child",
    "benefit_account",
    "benefit_suspend",
    "benefit_resume",
    "payroll_list",
    "payroll_generate",
    "payroll_detail",
    "payroll_review",
    "payroll_approve",
    "payroll_return",
    "payroll_bank_file",
    "payroll_insurance_list",
    "payroll_insurance_confirm",
    "payroll_bank_return",
    "benefit_proof",
    "benefit_totals",
    "benefit_totals_export",
    "standard_list",
]
