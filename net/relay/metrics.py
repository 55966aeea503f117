"""The relay's counters, and their text form for GET /metrics (Prometheus' text format).

Counters hold numbers only: no account, no message id, nothing a subpoena could turn into a social
graph.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Counters:
    """Gauges (current values) and totals since the relay started.

    Attributes:
        connections: open WebSocket connections (gauge).
        authenticated: connections that have logged in (gauge).
        stored_total: messages accepted, stored or held by write-behind (duplicates not
            counted).
        delivered_total: messages the recipient acknowledged (then deleted).
        expired_total: messages dropped by the time-to-live.
        refused_total: error frames sent, whatever the reason.
        refused_by_code: the same, per stable error code.
        otk_withheld_total: bundles handed out without a one-time prekey (a fetch limit hit).
        queue_reads_total: reads of a recipient's queue from the store (for delivery).
        wake_forwarded_total: messages another relay process stored and this one forwarded from
            the wake-up itself, without reading the queue (a shared store only).
    """

    connections: int = 0
    authenticated: int = 0
    stored_total: int = 0
    delivered_total: int = 0
    expired_total: int = 0
    refused_total: int = 0
    refused_by_code: Counter[str] = field(default_factory=Counter)
    otk_withheld_total: int = 0
    queue_reads_total: int = 0
    wake_forwarded_total: int = 0

    def render(self, queued: int) -> str:
        """The counters as Prometheus text; ``queued`` (a gauge) comes from the store."""
        lines = [
            f"parley_relay_connections {self.connections}",
            f"parley_relay_authenticated {self.authenticated}",
            f"parley_relay_queued {queued}",
            f"parley_relay_stored_total {self.stored_total}",
            f"parley_relay_delivered_total {self.delivered_total}",
            f"parley_relay_expired_total {self.expired_total}",
            f"parley_relay_otk_withheld_total {self.otk_withheld_total}",
            f"parley_relay_refused_total {self.refused_total}",
            f"parley_relay_queue_reads_total {self.queue_reads_total}",
            f"parley_relay_wake_forwarded_total {self.wake_forwarded_total}",
        ]
        lines += [
            f'parley_relay_refused_by_code_total{{code="{code}"}} {count}'
            for code, count in sorted(self.refused_by_code.items())
        ]
        return "\n".join(lines) + "\n"
