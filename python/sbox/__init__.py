"""sbox as a multiprocessing start method: every worker a fresh interpreter
in its own sandbox (namespaces, cgroup, devices, seccomp, no capabilities),
through sboxd when its socket answers, direct (sboxrun) otherwise.

    import sbox
    ctx = sbox.get_context(memory="2G", pids=256)
    p = ctx.Process(target=work, args=(q,), sandbox={"gpus": 1})

    zygotes = sbox.get_context(preload=["torch"])  # workers forked from a template

See docs/python.md.
"""

from ._options import OptionError
from ._popen import SandboxError
from ._proto import DaemonError
from ._status import SandboxExit
from ._zygote import TemplateError
from .context import SboxContext, SboxProcess, get_context, register

__all__ = ["get_context", "SboxContext", "SboxProcess", "SandboxExit", "SandboxError",
           "TemplateError", "DaemonError", "OptionError", "register"]
__version__ = "0.1.0"

register()
