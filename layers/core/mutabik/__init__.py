"""mutabik: sales, refunds, payments and payroll into accounting and e-document providers, exactly once."""

__version__ = "0.1.0"
