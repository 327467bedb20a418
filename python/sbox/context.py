"""The sbox multiprocessing context."""

import multiprocessing
from multiprocessing import context as _mpctx
from multiprocessing import process
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from . import _options


class SboxProcess(process.BaseProcess):
    """A process whose worker runs in an sbox sandbox.

    sandbox={...} overrides the context's options for this process (keys
    given replace the context's; None removes one)."""

    _start_method = "sbox"
    _sbox_context: Optional["SboxContext"] = None

    def __init__(self, group: Any = None, target: Any = None, name: Optional[str] = None,
                 args: Any = (), kwargs: Any = {}, *, daemon: Optional[bool] = None,
                 sandbox: Optional[Mapping[str, Any]] = None):
        super().__init__(group, target, name, args, kwargs, daemon=daemon)
        self._sbox_overrides = _options.normalize(sandbox or {})
        # keep None-removals too: merge() pops the keys given
        if sandbox:
            self._sbox_overrides.update({k: None for k, v in sandbox.items() if v is None})

    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        ctx = getattr(type(process_obj), "_sbox_context", None)
        if ctx is not None and ctx._preload is not None:
            from . import _zygote
            return _zygote.Popen(process_obj, ctx._preload, ctx._process_options(process_obj),
                                 ctx._spares)
        from ._popen import Popen
        return Popen(process_obj)

    @property
    def sandbox_exit(self) -> Any:
        """How the sandbox ended (a SandboxExit), or None while it runs."""
        popen = self._popen
        if popen is None:
            return None
        popen.poll()
        return popen.sandbox_exit

    def __reduce_ex__(self, protocol: int) -> Any:
        # A context's Process class is made per context and can't be found
        # by name in the worker: it travels as a plain SboxProcess.
        if type(self).__dict__.get("_sbox_per_context"):
            return (_rebuild_process, (self.__dict__,))
        return super().__reduce_ex__(protocol)

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        _as_worker(self)


def _as_worker(p: SboxProcess) -> None:
    # Unpickled only in its worker, whose _bootstrap() makes the
    # process's start method the worker's default: the platform's, as a
    # spawn child's is, since a sandbox can't start another sandbox (no
    # namespaces under its filter; sboxd refuses clients in other pid
    # namespaces).  A Pool, torch's DataLoader(num_workers>0) or joblib in
    # a worker then fork inside the worker's own sandbox.
    p._start_method = multiprocessing.get_all_start_methods()[0]


def _rebuild_process(state: Dict[str, Any]) -> SboxProcess:
    p = SboxProcess.__new__(SboxProcess)
    p.__dict__.update(state)
    _as_worker(p)
    return p


class SboxContext(_mpctx.BaseContext):
    """A multiprocessing context whose workers are sbox sandboxes."""

    _name = "sbox"

    def __init__(self, preload: Optional[Sequence[str]] = None, spares: Optional[int] = None,
                 **options: Any):
        self._options = _options.normalize(options)
        self._preload: Optional[Tuple[str, ...]] = None
        self._spares = 0
        if preload is not None:
            from . import _zygote
            self._preload = _zygote.normalize_preload(preload)
            self._spares = _zygote.normalize_spares(spares)
            _zygote.check_options(self._options)
        elif spares is not None:
            raise _options.OptionError("spares= is for a context with preload= (zygote workers)")
        self.Process = type("Process", (SboxProcess,), {
            "_sbox_context": self, "_sbox_per_context": True, "__module__": __name__,
            "__qualname__": "SboxContext.Process",
        })

    @property
    def options(self) -> Dict[str, Any]:
        return dict(self._options)

    @property
    def preload(self) -> Optional[List[str]]:
        return list(self._preload) if self._preload is not None else None

    def _process_options(self, process_obj: Any) -> Dict[str, Any]:
        return _options.merge(self._options, getattr(process_obj, "_sbox_overrides", None))

    def prepare(self) -> Any:
        """Make the template of this context (preload=) now rather than at
        the first start(); it raises what that start() would (an import
        that fails, a template that initialised CUDA).  Returns it."""
        if self._preload is None:
            raise ValueError("prepare() is for a context with preload=: this one starts "
                             "each worker as a fresh interpreter")
        from . import _zygote
        return _zygote.template_for(self._preload, self._options)

    def get_context(self, method: Optional[str] = None) -> Any:
        if method is None:
            return self
        return super().get_context(method)

    def _check_available(self) -> None:
        pass

    def __repr__(self) -> str:
        if self._preload is not None:
            return "<sbox context preload=%r %r>" % (list(self._preload), self._options)
        return "<sbox context %r>" % (self._options,)


def get_context(preload: Optional[Sequence[str]] = None, spares: Optional[int] = None,
                **options: Any) -> SboxContext:
    """A multiprocessing context whose workers are sbox sandboxes with these
    options (docs/python.md: memory=, pids=, gpus=, net=, bind= ...).

    preload=["torch", ...]: each worker is forked from a template that has
    imported these once (a zygote), into a fresh sandbox of its own;
    spares=N (default 2, 0 for none): the template keeps N such workers
    entered ahead per sandbox (gpus=0 only), so start() only hands one over."""
    return SboxContext(preload=preload, spares=spares, **options)


default_context = SboxContext()


def register() -> None:
    """Make multiprocessing.get_context("sbox") and set_start_method("sbox")
    work.  CPython has no public registry of start methods: this adds to
    multiprocessing.context._concrete_contexts, the table they read."""
    _mpctx._concrete_contexts.setdefault("sbox", default_context)
