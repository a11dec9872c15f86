"""The invoice side: Cost Management exports reconciled against the ledger.

Owns the comparison of what Azure billed (read by :mod:`azcost.azure`) with what
the ledger recorded (:mod:`azcost.ledger`), and its reports. Imports ``azure``,
``ledger`` and ``pricing``; only the CLI imports it.
"""

from __future__ import annotations

from ._compare import STATUSES, ReconcileRow, Reconciliation, Status, reconcile

__all__ = ["STATUSES", "ReconcileRow", "Reconciliation", "Status", "reconcile"]
