"""`pipeline up`: the processes of the whole stack (embedded Redis, daemon, workers, UI) under one
supervisor. Process code only; the core never imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trading_pipeline.lazy import lazy_exports

if TYPE_CHECKING:
    from stack.embedded_redis import EmbeddedRedis
    from stack.supervisor import Service, Supervisor, die_with_parent, stack_services

_EXPORTS = {
    "EmbeddedRedis": "stack.embedded_redis",
    "Service": "stack.supervisor",
    "Supervisor": "stack.supervisor",
    "die_with_parent": "stack.supervisor",
    "stack_services": "stack.supervisor",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "EmbeddedRedis",
    "Service",
    "Supervisor",
    "die_with_parent",
    "stack_services",
]
