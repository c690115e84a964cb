"""Injectable faults of the sandbox gateway: per method, count-limited or probabilistic with a seed."""

from __future__ import annotations

import dataclasses
import random
import threading
from typing import Any

__all__ = ["FAULT_KINDS", "Fault", "FaultBook"]

FAULT_KINDS: dict[str, bool] = {
    # kind: whether the request's state change is applied by default
    "refuse": False,          # close the socket without an answer
    "slow": True,             # apply, then answer after delay_s (longer than the client's read timeout)
    "http500": False,         # HTTP 500 with a text body
    "unavailable": False,     # 20000 isp.unknow-error
    "system_error": False,    # 40004 ACQ.SYSTEM_ERROR
    "cancel_retry": False,    # cancel only: 40004 ACQ.SYSTEM_ERROR with retry_flag=Y
    "throttle": False,        # 20000 isv.service-busy
    "truncated": True,        # apply, send half of the JSON
    "wrong_key": True,        # apply, sign with a key that is not the gateway's
    "tamper_body": True,      # apply, change the body after signing
    "empty_sign": True,       # apply, send "sign":""
    "whitespace": True,       # apply, pretty tokens around the node (still valid)
    "error_response": False,  # legacy unsigned error_response node (40004 ACQ.SYSTEM_ERROR)
}


@dataclasses.dataclass
class Fault:
    """One injected fault. ``count=None`` means unlimited; ``probability`` < 1 draws from a seeded RNG."""

    kind: str
    method: str = "*"
    count: int | None = 1
    probability: float = 1.0
    seed: int | None = None
    delay_s: float = 2.0
    apply: bool | None = None
    fired: int = 0
    rng: random.Random = dataclasses.field(default_factory=random.Random, repr=False)

    @property
    def applies_state(self) -> bool:
        return FAULT_KINDS[self.kind] if self.apply is None else self.apply

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "method": self.method, "count": self.count, "probability": self.probability,
                "seed": self.seed, "delay_s": self.delay_s, "apply": self.applies_state, "fired": self.fired}


class FaultBook:
    """The list of active faults (in memory: faults do not survive a restart)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._fired: dict[str, int] = {}  # kind -> times fired since start (survives clear() and used-up faults)

    def add(self, kind: str, method: str = "*", *, count: int | None = 1, probability: float = 1.0,
            seed: int | None = None, delay_s: float = 2.0, apply: bool | None = None) -> Fault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r} (known: {', '.join(FAULT_KINDS)})")
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        if count is not None and count < 1:
            raise ValueError("count must be at least 1 (or null for unlimited)")
        fault = Fault(kind=kind, method=method or "*", count=count, probability=probability, seed=seed,
                      delay_s=delay_s, apply=apply, rng=random.Random(seed))
        with self._lock:
            self._faults.append(fault)
        return fault

    def fired_counts(self) -> dict[str, int]:
        """How often each kind fired since this book was made (cleared and used-up faults included)."""
        with self._lock:
            return dict(self._fired)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_json() for f in self._faults]

    def take(self, method: str) -> Fault | None:
        """The fault that fires for this request (first match), consuming one of its count."""
        with self._lock:
            for fault in self._faults:
                if fault.method not in ("*", method):
                    continue
                if fault.kind == "cancel_retry" and method != "alipay.trade.cancel":
                    continue
                if fault.probability < 1.0 and fault.rng.random() >= fault.probability:
                    continue
                fault.fired += 1
                self._fired[fault.kind] = self._fired.get(fault.kind, 0) + 1
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                return fault
            return None
