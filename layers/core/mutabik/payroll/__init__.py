"""Payroll pulls: a period's payroll from the tenant's HR system (Elektraweb's "veri al") posted as one
balanced journal entry (its "muhasebeleştir"), exactly once.

- `period`     — YYYY-MM periods;
- `settings`   — the tenant's `payroll` section (HR system, options, Tekdüzen accounts);
- `elektraweb` — the Elektraweb HR client;
- `run`        — the payroll run and the checks that it adds up;
- `accrual`    — the accrual entry (bordro tahakkuk fişi);
- `pull`       — one pull, idempotent by period;
- `exceptions` — what can go wrong.

This package's `__init__` imports nothing: the tenant configuration imports `settings`, and `pull` imports the
pipeline, which imports the tenant configuration. docs/payroll.md is the guide.
"""
