"""The sandbox options of a context: validated once, then rendered either as
sboxrun's flags (direct) or as policy text plus LAUNCH attributes (sboxd).

Each option is named after sboxrun's long flag in snake_case and sets the
same policy directive (docs/policy.md); see docs/python.md for the table.
"""

import os
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

# option -> (sboxrun flag, policy directive, kind)
#   kind: "str" one value, "list" repeatable, "map" NAME=VALUE pairs
_TABLE: Dict[str, Tuple[str, str, str]] = {
    "memory": ("--memory", "MemoryMax", "str"),
    "pids": ("--pids", "TasksMax", "str"),
    "cpu_quota": ("--cpu-quota", "CPUQuota", "str"),
    "cpus": ("--cpus", "AllowedCPUs", "str"),
    "gpu": ("--gpu", "GPUs", "list"),
    "net": ("--net", "PrivateNetwork", "str"),
    "timeout": ("--timeout", "RuntimeMaxSec", "str"),
    "hostname": ("--hostname", "Hostname", "str"),
    # the parent's own paths every worker gets read-only (its cwd, script
    # and sys.path where the sandbox hides them): first, so that none of
    # them covers a bind of the user's below it (mounts go in the order
    # given)
    "_implicit_ro_bind": ("--ro-bind", "BindReadOnlyPaths", "list"),
    "bind": ("--bind", "BindPaths", "list"),
    "ro_bind": ("--ro-bind", "BindReadOnlyPaths", "list"),
    # sbox's own read-write binds that must land on top of the read-only
    # ones (mounts go in the order given): the program's multiprocessing
    # directory under /tmp, when the script or the cwd is in /tmp
    "_late_bind": ("--bind", "BindPaths", "list"),
    "tmpfs": ("--tmpfs", "TemporaryFileSystem", "list"),
    "env": ("--env", "Environment", "map"),
    "pass_env": ("--pass-env", "PassEnvironment", "list"),
    "user": ("--user", "User", "str"),
}
# Options that are not one directive.
_OTHER = {"gpus", "wait_gpu", "policy", "set", "socket", "direct"}
OPTION_NAMES = frozenset(_TABLE) | _OTHER

# What Python itself needs from the parent's environment (the worker's is
# otherwise clean: PATH, HOME, USER, LOGNAME, TERM and the policy's).
PYTHON_ENV = (
    "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "CONDA_PREFIX", "LD_LIBRARY_PATH",
    "CUDA_HOME", "CUDA_PATH", "LANG", "LC_ALL", "LC_CTYPE", "PYTHONIOENCODING",
    "PYTHONUTF8", "PYTHONDONTWRITEBYTECODE", "PYTHONWARNINGS",
)


class OptionError(ValueError):
    """An option sbox does not know, or a value of the wrong kind."""


def _as_list(name: str, v: Any) -> List[str]:
    if v is None:
        return []
    if isinstance(v, (str, int, os.PathLike)):
        v = [v]
    out = []
    for item in v:
        if isinstance(item, tuple):
            # bind=[("/src", "/dst")] as well as "SRC:DST"
            item = ":".join(os.fspath(x) for x in item)
        out.append(str(os.fspath(item) if isinstance(item, os.PathLike) else item))
    return out


def _as_str(name: str, v: Any) -> str:
    if isinstance(v, bool):
        raise OptionError("sbox option %s=%r: expected a string or a number" % (name, v))
    if name == "timeout" and isinstance(v, (int, float)):
        # seconds, as a Python user writes them; sbox takes 500ms, 90s
        return "%dms" % round(v * 1000) if v != int(v) else "%ds" % v
    if name == "cpu_quota" and isinstance(v, (int, float)):
        return "%g%%" % v
    if isinstance(v, (str, int, float)):
        return str(v)
    raise OptionError("sbox option %s=%r: expected a string or a number" % (name, v))


def normalize(options: Mapping[str, Any]) -> Dict[str, Any]:
    """Check the names and kinds of options; return a plain dict of them."""
    out: Dict[str, Any] = {}
    for name, v in options.items():
        if name not in OPTION_NAMES:
            near = [n for n in sorted(OPTION_NAMES) if n[:3] == name[:3]]
            hint = " (did you mean %s?)" % " or ".join(near) if near else ""
            raise OptionError("unknown sbox option %r%s" % (name, hint))
        if v is None:
            continue
        if name in _TABLE:
            kind = _TABLE[name][2]
            if kind == "list":
                v = _as_list(name, v)
            elif kind == "map":
                if not isinstance(v, Mapping):
                    raise OptionError("sbox option %s= takes a dict" % name)
                v = {str(k): str(x) for k, x in v.items()}
            else:
                v = _as_str(name, v)
        elif name == "gpus":
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise OptionError("sbox option gpus=%r: expected a count (an int >= 0)" % (v,))
        elif name in ("wait_gpu", "direct"):
            v = bool(v)
        elif name == "policy":
            v = _as_list(name, v)
        elif name == "set":
            if not isinstance(v, Mapping):
                raise OptionError("sbox option set= takes a dict {\"Directive\": \"value\"}")
            v = {str(k): str(x) for k, x in v.items()}
        elif name == "socket":
            v = os.fspath(v)
        out[name] = v
    return out


def merge(base: Mapping[str, Any], override: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """A process's sandbox={...} replaces the context's value of each key it
    names; None removes it."""
    out = dict(base)
    if override:
        for k, v in override.items():
            out.pop(k, None)
        out.update(normalize(override))
    return out


def sboxrun_flags(opts: Mapping[str, Any]) -> List[str]:
    """The options as sboxrun flags (direct mode)."""
    argv: List[str] = []
    for path in opts.get("policy", []):
        argv += ["--policy", path]
    for name, (flag, _directive, kind) in _TABLE.items():
        if name not in opts:
            continue
        v = opts[name]
        if kind == "list":
            for item in v:
                argv += [flag, item]
        elif kind == "map":
            for k, x in v.items():
                argv += [flag, "%s=%s" % (k, x)]
        else:
            argv += [flag, v]
    if opts.get("gpus"):
        argv += ["--gpus", str(opts["gpus"])]
    if opts.get("wait_gpu"):
        argv.append("--wait-gpu")
    for k, x in opts.get("set", {}).items():
        argv += ["--set", "%s=%s" % (k, x)]
    return argv


_QUOTE_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", ";": "\\;"})
_PLAIN = re.compile(r"^[^\s\"'\\;#]+$")


def quote_word(word: str) -> str:
    """One word of a list directive, quoted the way policy/ini.c splits them
    (systemd's rules: whitespace separates, "..." groups, \\ escapes)."""
    if word and _PLAIN.match(word):
        return word
    # as policy/values.c's sbox_quote_word(): a newline or tab escaped (the
    # text is read a line at a time), ";" too (" ;" starts libinih's
    # inline comment, inside quotes or not)
    return '"' + word.translate(_QUOTE_ESCAPES) + '"'


_BIND_LINE = re.compile(r"^\s*(BindPaths|BindReadOnlyPaths)\s*=(.*)$")


def _split_words(value: str) -> List[str]:
    import shlex
    lex = shlex.shlex(value, posix=True)
    lex.whitespace_split = True
    lex.commenters = ""
    return list(lex)


def policy_files_text(paths: Sequence[str]) -> Tuple[str, List[Tuple[str, str]]]:
    """The policy files' text without their bind lines, and their binds in
    effect (kind, spec), in order.  sboxd binds the k-th bind of the policy
    from the k-th BIND_FD the client opened, so the binds are re-emitted one
    per line where the client knows their order."""
    text: List[str] = []
    order: List[Tuple[str, str]] = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                m = _BIND_LINE.match(line)
                if not m:
                    text.append(line.rstrip("\n"))
                    continue
                value = m.group(2).split(" ;", 1)[0].strip()
                if not value:
                    # an empty value resets that list, as in systemd
                    order = [(k, s) for k, s in order if k != m.group(1)]
                    continue
                order += [(m.group(1), w) for w in _split_words(value)]
    return "\n".join(text) + "\n", order


_RUNTIME_LINE = re.compile(r"^\s*RuntimeMaxSec\s*=(.*)$", re.MULTILINE)


def runtime_in(text: str) -> Optional[str]:
    """The RuntimeMaxSec= a policy text (policy_text()'s: the files, then
    timeout= and set=) leaves in effect, the last one, as written; None
    when it sets none.  A zygote's template enforces it itself (sbox
    checked the text when the context was made)."""
    values = _RUNTIME_LINE.findall(text)
    return values[-1].split(" ;", 1)[0].strip() if values else None


def policy_text(opts: Mapping[str, Any]) -> Tuple[str, List[Tuple[str, str]]]:
    """The options as policy text for sboxd's LAUNCH, and every bind of it in
    the order the daemon counts them: (directive, "SRC[:DST]")."""
    text, binds = policy_files_text(opts.get("policy", []))
    lines = ["[Sandbox]"]
    for name, (_flag, directive, kind) in _TABLE.items():
        if name not in opts:
            continue
        v = opts[name]
        if kind == "list" and directive in ("BindPaths", "BindReadOnlyPaths"):
            binds += [(directive, item) for item in v]
        elif kind == "list":
            lines += ["%s=%s" % (directive, quote_word(item)) for item in v]
        elif kind == "map":
            lines += ["%s=%s" % (directive, quote_word("%s=%s" % kv)) for kv in v.items()]
        else:
            lines.append("%s=%s" % (directive, v))
    for k, x in opts.get("set", {}).items():
        lines.append("%s=%s" % (k, x))
    lines += ["%s=%s" % (d, quote_word(spec)) for d, spec in binds]
    return text + "\n".join(lines) + "\n", binds


def bind_source(spec: str) -> Tuple[str, bool]:
    """The host path of a bind "[-]SRC[:DST[:OPTS]]" and whether it is optional."""
    optional = spec.startswith("-")
    if optional:
        spec = spec[1:]
    return spec.split(":", 1)[0], optional
