"""Reconciliation: what was received against what was issued, per tenant and day."""
