"""The local runtime: template.yaml's resources in moto on 127.0.0.1, and our handlers run in-process.

Not shipped to Lambda. `mutabik local` starts it; tests start it in-process.
"""

from mutabik_local.runtime import LocalRuntime

__all__ = ["LocalRuntime"]
