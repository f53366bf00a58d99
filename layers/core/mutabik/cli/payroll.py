"""`mutabik payroll pull --tenant T --period 2026-10`: pull a period's payroll and post its journal entry now.

Exit status: 0 posted or unchanged (or a dry run), 1 refused (the reason is printed; nothing was posted),
2 the payroll changed after it was posted (reported; the posted entry stands).
"""

from __future__ import annotations

import argparse
import json
from decimal import Decimal
from typing import Any

from mutabik.cli._target import add_target_arguments, connect

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("payroll", help="pull payrolls from the HR system into journal entries")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    pull = actions.add_parser("pull", help="pull one period's payroll and post it (once)")
    pull.add_argument("--tenant", required=True)
    pull.add_argument("--period", required=True, help="the month, YYYY-MM (e.g. 2026-10)")
    pull.add_argument("--dry-run", action="store_true", help="show the journal entry, post nothing")
    pull.add_argument("--json", action="store_true", help="print the result as JSON")
    add_target_arguments(pull)
    pull.set_defaults(handler=run_pull)


def run_pull(args: argparse.Namespace) -> int:
    from mutabik.payroll.exceptions import PayrollError
    from mutabik.payroll.period import parse_period
    from mutabik.payroll.pull import PullOutcome, pull

    try:
        period = parse_period(args.period)
    except ValueError as exc:
        print(f"mutabik: {exc}")
        return 1
    services, _ = connect(args)
    try:
        result = pull(args.tenant, period, services, post=not args.dry_run)
    except PayrollError as exc:
        print(f"refused: {exc}")
        return 1
    if args.json:
        print(json.dumps(result.as_dict(), indent=2, ensure_ascii=False, default=str))
    else:
        print(f"{result.outcome}: {result.message}")
        print_entry(result.entry)
    return 2 if result.outcome is PullOutcome.CHANGED else 0


def print_entry(entry: dict[str, Any]) -> None:
    print(f"  {entry['date']}  {entry['description']}  ({entry['currency']})")
    for line in entry["lines"]:
        debit, credit = (line[side] if Decimal(line[side]) else "" for side in ("debit", "credit"))
        print(f"  {line['account']:<14} {debit:>14} {credit:>14}  {line['description']}")
