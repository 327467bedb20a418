"""How a sandbox ended, from sboxrun's --json-status or sboxd's EXIT."""

import os
from dataclasses import asdict, dataclass
from typing import Any, Dict, Optional

from . import _proto


class SandboxError(RuntimeError):
    """A worker's sandbox could not be built or its interpreter not started.

    message is sbox's own (what failed, on which object, why); exit is the
    SandboxExit when the sandbox ran at all."""

    def __init__(self, message: str, exit: "Optional[SandboxExit]" = None):
        super().__init__(message)
        self.message = message
        self.exit = exit


@dataclass(frozen=True)
class SandboxExit:
    """How a worker's sandbox ended.

    exitcode follows multiprocessing (-N for signal N); oom and timeout say
    whether the OOM killer or timeout= (RuntimeMaxSec=) ended it; the
    figures are the whole sandbox's, from its cgroup (None when unknown).
    """

    exitcode: Optional[int]
    signal: Optional[int] = None
    oom: bool = False
    timeout: bool = False
    memory_peak: Optional[int] = None
    cpu_user_usec: Optional[int] = None
    cpu_system_usec: Optional[int] = None
    wall_usec: Optional[int] = None
    oom_kills: Optional[int] = None
    outcome: str = "exited"
    message: str = ""
    via: str = "direct"

    @property
    def cpu_time(self) -> Optional[float]:
        """User plus system CPU seconds of the whole sandbox."""
        if self.cpu_user_usec is None or self.cpu_system_usec is None:
            return None
        return (self.cpu_user_usec + self.cpu_system_usec) / 1e6

    def as_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d["cpu_time"] = self.cpu_time
        return d


def from_json(d: Dict[str, Any], message: str = "") -> SandboxExit:
    sig = d.get("signal")
    code = -int(sig) if sig else int(d.get("exit_code", 1))
    return SandboxExit(
        exitcode=code, signal=sig, oom=bool(d.get("oom_killed")), timeout=bool(d.get("timed_out")),
        memory_peak=d.get("memory_peak_bytes"), cpu_user_usec=d.get("cpu_user_usec"),
        cpu_system_usec=d.get("cpu_system_usec"), wall_usec=d.get("wall_usec"),
        oom_kills=d.get("oom_kills"), outcome="killed" if d.get("timed_out") else "exited", message=message,
        via="direct")


def from_sboxrun_status(status: int, message: str) -> SandboxExit:
    """sboxrun ended without writing its status file (killed, or sbox
    itself failed): what its own wait status says."""
    code = os.waitstatus_to_exitcode(status)
    sig = -code if code < 0 else None
    outcome = "setup_failed" if code == 125 else "killed" if sig else "exited"
    return SandboxExit(exitcode=code, signal=sig, outcome=outcome, message=message, via="direct")


def from_exit(attrs: Dict[int, Any]) -> SandboxExit:
    def get(tag: int) -> Any:
        return _proto.first(attrs, tag)

    outcome = _proto.OUTCOME_NAMES.get(get(_proto.OUTCOME) or 0, "lost")
    status = get(_proto.STATUS)
    if outcome in ("exited", "killed") and status is not None:
        code = os.waitstatus_to_exitcode(status)
    elif outcome == "exec_failed":
        code = 126
    elif outcome == "setup_failed":
        code = 125
    else:
        code = -9
    have = get(_proto.STATS_HAVE) or 0
    valid = bool(get(_proto.STATS_VALID))

    def stat(tag: int, bit: int) -> Optional[int]:
        return get(tag) if valid and have & bit else None

    return SandboxExit(
        exitcode=code, signal=-code if code < 0 else None, oom=bool(get(_proto.OOM)),
        timeout=bool(get(_proto.TIMEOUT)), memory_peak=stat(_proto.MEM_PEAK, 2),
        cpu_user_usec=stat(_proto.CPU_USER_USEC, 1), cpu_system_usec=stat(_proto.CPU_SYS_USEC, 1),
        wall_usec=get(_proto.WALL_USEC) if valid else None, oom_kills=stat(_proto.OOM_KILLS, 4),
        outcome=outcome, message=get(_proto.MESSAGE) or "", via="sboxd")
