"""Answer checkers for the chapters' exercises: the shared pieces here, one module per chapter
(``helpers.exercises.losses`` ...), imported in a notebook as ``from helpers.exercises import losses as exercises``.

Every ``check_*`` function returns a :class:`Feedback` (right or wrong, with a hint)
and never raises on a wrong answer: a learner's mistake is a message, not a traceback.

An answer is judged by what it *runs*, not by the names it uses. :func:`run_answer` calls the learner's
code while

- PyTorch's operator profiler records every ATen operator that runs, composite ones included
  (``F.conv2d``, ``torch.ops.aten.conv2d``, ``torch._VF`` and any alias all reach ``aten::convolution``;
  a ``TorchDispatchMode`` would not do: it sees operators after they decompose, so ``F.dropout`` would
  arrive as ``bernoulli_``/``div_``/``mul``, exactly like a hand-written answer);
- a Python profile hook records every Python function that runs, so the course's own code, scikit-learn,
  SciPy or ``torch.optim`` are seen however they were reached (an alias, a default argument, a partial);

and refuses the answer when it ran what the exercise forbids (or switched the watching off, moved work to
another thread, or patched torch). Where the exercise is a differentiable
function, the checkers also compare the answer's autograd gradient with PyTorch's, which catches a route
around torch (NumPy, SciPy) that gives the right numbers without a graph.
"""
from __future__ import annotations

import gc
import importlib.util
import numbers
import os
import re
import secrets
import sys
import sysconfig
import _thread
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import torch

__all__ = ["Feedback", "not_answered", "close_to", "Forbid", "run_answer", "as_number", "as_integer",
           "as_int_tuple", "fresh_generator", "plain_tensor", "grad_matches", "kept", "INPUTS_CHANGED"]


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer: ``ok`` and a short message (a hint when wrong).

    ``answered=False`` marks the untouched placeholder (``answer = None``): neither right nor wrong yet.
    """

    ok: bool
    message: str
    answered: bool = True

    def __repr__(self) -> str:
        if not self.answered:
            return "✏️ 还没有作答：" + self.message
        return ("✅ 正确！" if self.ok else "❌ 还不对。") + self.message

    def __bool__(self) -> bool:
        return self.ok


def not_answered() -> Feedback:
    """The feedback for an exercise whose placeholder ``None`` has not been replaced yet."""
    return Feedback(False, "把 None 换成你的答案后再运行这一格。", answered=False)


def close_to(answer: Any, expected: Any, *, atol: float = 1e-4, rtol: float = 1e-4) -> bool:
    """True if ``answer`` (number, list or tensor) equals ``expected`` within tolerance; never raises."""
    try:
        if isinstance(answer, (str, bytes)):
            return False
        a = plain_tensor(answer).detach() if isinstance(answer, torch.Tensor) else answer
        a = torch.as_tensor(a, dtype=torch.float64)
        e = torch.as_tensor(expected, dtype=torch.float64)
        return a.shape == e.shape and bool(torch.allclose(a, e, atol=atol, rtol=rtol, equal_nan=True))
    except Exception:
        return False


def plain_tensor(value: torch.Tensor) -> torch.Tensor:
    """``value`` as a plain ``torch.Tensor`` (a subclass cannot change how it is compared)."""
    if type(value) in (torch.Tensor, torch.nn.Parameter):
        return value
    with torch._C.DisableTorchFunction():
        return torch.Tensor._make_subclass(torch.Tensor, value.detach())


# ----------------------------------------------------------------------------- the form of an answer
def _scalar(answer: Any) -> Any:
    """A 0-d tensor or array as a Python number; anything else unchanged."""
    if isinstance(answer, torch.Tensor) and answer.dim() == 0:
        return plain_tensor(answer).detach().item()
    if type(answer).__module__ == "numpy" and getattr(answer, "shape", None) == ():
        return answer.item()
    return answer


def as_number(answer: Any) -> float | None:
    """A real number (int, float, NumPy scalar, 0-d tensor) as a float; None for anything else (list, string, bool)."""
    value = _scalar(answer)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return float(value)


def as_integer(answer: Any) -> int | None:
    """An integer given as int, NumPy integer or 0-d integer tensor/array; None for anything else (4.0 included)."""
    value = _scalar(answer)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        return None
    return int(value)


def as_int_tuple(answer: Any, length: int | None = None) -> tuple[int, ...] | None:
    """A tuple of integers from a tuple, list, torch.Size, 1-d tensor or array (of ``length`` if given); else None."""
    if isinstance(answer, (torch.Tensor,)) or type(answer).__module__ == "numpy":
        answer = answer.tolist() if getattr(answer, "ndim", 0) == 1 else None
    if not isinstance(answer, (tuple, list)) or (length is not None and len(answer) != length):
        return None
    values = [as_integer(v) for v in answer]
    return None if any(v is None for v in values) else tuple(values)


def fresh_generator() -> torch.Generator:
    """A generator with an unpredictable seed: the test inputs change on every check, so no table of answers fits."""
    return torch.Generator().manual_seed(secrets.randbits(62))


# ----------------------------------------------------------------------------- what an answer runs
def _roots(modules: Iterable[str]) -> tuple[str, ...]:
    """The source directories (or files) of ``modules`` that are installed; a missing module is skipped.

    Parts of torch are located by path, without importing them (importing torch._dynamo takes seconds)."""
    out = []
    for name in modules:
        if name.startswith("torch."):
            path = os.path.join(os.path.dirname(torch.__file__), *name.split(".")[1:])
            out += [os.path.join(path, "")] if os.path.isdir(path) else [path + ".py"] if os.path.isfile(path + ".py") else []
            continue
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None or spec.origin in (None, "built-in", "frozen"):
            continue
        locations = list(spec.submodule_search_locations or [])
        out += [os.path.join(loc, "") for loc in locations] or [spec.origin]
    return tuple(out)


# Python code an answer never needs: the course's own; what compiles or decomposes a function so that its
# operators run under other names (torch.compile's tracer and AOT autograd, make_fx, the reference
# decompositions); and what hides work in another process
_ALWAYS = ("helpers", "torch._dynamo.convert_frame", "torch._functorch._aot_autograd", "torch._functorch.aot_autograd",
           "torch._inductor", "torch.fx.experimental.proxy_tensor", "torch._refs", "torch._decomp", "torch._prims",
           "multiprocessing", "concurrent", "subprocess", "ctypes")
_LIBRARY_DIRS = tuple({os.path.join(sysconfig.get_paths()[key], "") for key in ("stdlib", "purelib", "platlib")})


_HELPERS_DIR = os.path.join(str(Path(__file__).resolve().parent.parent), "")
_CHECKERS_DIR = os.path.join(str(Path(__file__).resolve().parent), "")  # the checkers themselves


def _learner_code(code) -> bool:
    """True for code written in the notebook or a test (not a library's, not the course's)."""
    name = code.co_filename
    return not (name.startswith(_LIBRARY_DIRS) or name.startswith(_HELPERS_DIR) or name.startswith("<frozen"))


def _tampering_calls() -> dict[int, str]:
    """Built-ins that could switch the recording off or reach into the checker, by id."""
    found = {}
    for owner, names in ((sys, ("setprofile", "settrace", "_getframe", "_current_frames")),
                         (threading, ("setprofile", "settrace")), (_thread, ("start_new_thread", "start_joinable_thread")),
                         (gc, ("get_objects", "get_referrers", "get_referents")),
                         (torch._C._autograd, ("_disable_profiler", "_disable_profiler_legacy", "_enable_profiler",
                                               "_enable_profiler_legacy", "_prepare_profiler"))):
        for name in names:
            if hasattr(owner, name):  # (sys._getframe & co. only count when the learner's own code calls them)
                found[id(getattr(owner, name))] = f"{getattr(owner, '__name__', owner)}.{name}"
    return found


_TAMPERING = _tampering_calls()
# the operator record sees the calling thread only: work moved to another thread would go unseen
_THREAD_STARTS = {threading.Thread.start.__code__}
_WATCHED_MODULES = ("torch", "torch.nn.functional", "torch.nn", "torch.autograd", "builtins", "math")


def _snapshot() -> dict[str, tuple[Any, dict[str, Any]]]:
    """The attributes of torch, its functional API, builtins and the checkers (to notice monkeypatching)."""
    names = [n for n in _WATCHED_MODULES if n in sys.modules]
    names += [n for n in list(sys.modules) if n.startswith("helpers.exercises")]
    snap = {name: (sys.modules[name], dict(vars(sys.modules[name]))) for name in names}
    snap["torch.Tensor"] = (torch.Tensor, dict(vars(torch.Tensor)))
    return snap


_TORCH_DIR = os.path.join(os.path.dirname(torch.__file__), "")


def _torch_wrapper_of(new: Any, old: Any) -> bool:
    """True if ``new`` is a wrapper that torch's own code put around ``old`` (not a learner's replacement)."""
    code = getattr(new, "__code__", None)
    return getattr(new, "__wrapped__", None) is old and code is not None and code.co_filename.startswith(_TORCH_DIR)


def _restore(before: dict) -> str | None:
    """Put back every attribute an answer replaced or deleted (new ones are fine); the first one's name, or None."""
    first = None
    for module, (owner, attrs) in before.items():
        now = vars(owner)
        for key, value in attrs.items():
            if key not in now or now[key] is not value:
                if _torch_wrapper_of(now.get(key), value):
                    continue  # torch patching itself on a lazy import (torch._dynamo wraps torch.manual_seed)
                first = first or f"{module}.{key}"
                try:
                    setattr(owner, key, value)
                except (AttributeError, TypeError):  # a read-only slot: nothing an answer could have changed
                    pass
    return first


def _op_name(name: str) -> str:
    """``aten::_log_softmax`` -> ``log_softmax``; ``aten::special_log_softmax`` -> ``log_softmax``; ``aten::add_`` -> ``add``."""
    base = name.rpartition("::")[2].strip("_")
    return base.removeprefix("special_")


class _OpRecorder:
    """Records the names of the ATen operators that run on this thread, through PyTorch's CPU profiler.

    The legacy CPU profiler records composite operators before they decompose and writes nothing to stderr;
    where this PyTorch lacks it, the Kineto profiler is used with its start and stop messages silenced.
    """

    def __init__(self) -> None:
        self.names: list[str] = []
        self._kineto = None

    def __enter__(self) -> "_OpRecorder":
        if torch._C._autograd._profiler_enabled():
            raise _CannotWatch("一个 profiler 正在运行：先停掉它，检查器才能看到你的函数调用了哪些算子。")
        try:
            from torch._C._profiler import ProfilerConfig, ProfilerState, _ExperimentalConfig

            config = ProfilerConfig(ProfilerState.CPU, False, False, False, False, False, _ExperimentalConfig())
            torch._C._autograd._enable_profiler_legacy(config)
        except (ImportError, AttributeError, TypeError, RuntimeError):
            from torch.profiler import ProfilerActivity, profile

            self._kineto = profile(activities=[ProfilerActivity.CPU])
            with _quiet_stderr():
                self._kineto.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._kineto is None:
            if torch._C._autograd._profiler_enabled():
                events = torch._C._autograd._disable_profiler_legacy()
                self.names = list(dict.fromkeys(e.name() for thread in events for e in thread))
            else:
                self.names = ["(profiler switched off)"]
            return
        with _quiet_stderr():
            self._kineto.__exit__(None, None, None)
        self.names = list(dict.fromkeys(e.name for e in self._kineto.events()))


class _quiet_stderr:
    """Send file descriptor 2 to /dev/null inside the block (the Kineto profiler logs there from C++)."""

    def __enter__(self) -> None:
        sys.stderr.flush()
        self._saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)

    def __exit__(self, *exc) -> None:
        os.dup2(self._saved, 2)
        os.close(self._saved)


class _CannotWatch(Exception):
    """The answer cannot be run under observation (a profiler is already on)."""


@dataclass(frozen=True)
class Forbid:
    """What an answer must not run: ATen operators whose name matches ``ops`` (a regular expression searched in
    the bare operator name, e.g. ``conv(?!ert)``) and the Python code of ``modules`` (e.g. ``"sklearn"``).
    The course's own ``helpers`` and code that hides operators from the profiler are always forbidden."""

    ops: str | None = None
    modules: tuple[str, ...] = ()

    def op_hit(self, names: Iterable[str]) -> str | None:
        """The first recorded operator name that the exercise forbids, or None."""
        if not self.ops:
            return None
        pattern = re.compile(self.ops)
        return next((n for n in names if pattern.search(_op_name(n))), None)


@dataclass
class _Seen:
    code: str | None = None
    tamper: str | None = None


def _describe(frame) -> str:
    module = frame.f_globals.get("__name__", "?")
    name = getattr(frame.f_code, "co_qualname", frame.f_code.co_name)
    return f"{module}.{name.rpartition('<locals>.')[2]}"


def _hook_for(roots: tuple[str, ...], seen: _Seen) -> Callable:
    verdicts: dict[Any, bool] = {}

    def hook(frame, event, arg):
        if event == "call":
            code = frame.f_code
            bad = verdicts.get(code)
            if bad is None:
                name = code.co_filename
                bad = verdicts[code] = name.startswith(roots) and not name.startswith(_CHECKERS_DIR)
            if bad and seen.code is None:
                seen.code = _describe(frame)
            if code in _THREAD_STARTS and seen.tamper is None:
                seen.tamper = "threading.Thread.start"
        elif event == "c_call" and id(arg) in _TAMPERING and seen.tamper is None and _learner_code(frame.f_code):
            seen.tamper = _TAMPERING[id(arg)]

    return hook


def _error_feedback(exc: BaseException, hint: str) -> Feedback:
    return Feedback(False, f"运行时出错：{type(exc).__name__}: {exc}" + (f"。{hint}" if hint else ""))


def run_answer(call: Callable[[], Any], forbid: Forbid, refused: str, hint: str = "") -> tuple[Any, Feedback | None]:
    """Run ``call()`` (the learner's code) watching what it runs: ``(its result, None)``, or ``(None, a wrong answer)``.

    The answer is refused with ``refused`` (``{what}`` in it names what ran) when it ran an operator or Python code
    that ``forbid`` lists, with a hint when it raised, and refused outright when it switched the watching off
    or replaced an attribute of torch or of this package.
    """
    seen = _Seen()
    roots = _roots(_ALWAYS + tuple(forbid.modules))
    before = _snapshot()
    previous = sys.getprofile()
    result, error = None, None
    try:
        with _OpRecorder() as ops:
            sys.setprofile(_hook_for(roots, seen))
            try:
                result = call()
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # the learner's code failed (SystemExit included)
                error = exc
            finally:
                hooked = sys.getprofile()
                sys.setprofile(previous)
    except _CannotWatch as exc:
        return None, Feedback(False, str(exc))
    replaced = _restore(before)
    if seen.tamper or replaced or "(profiler switched off)" in ops.names or hooked is None:
        what = seen.tamper or replaced or "the profiler"
        return None, Feedback(False, f"你的代码绕开或改动了检查器的观察（{what}）：这样的答案没法判断。"
                                     "请直接在函数里写题目要的计算（不另开线程，不改动 torch 和检查器）。")
    what = seen.code or forbid.op_hit(ops.names)
    if what is not None:
        if what.startswith("helpers."):
            return None, Feedback(False, f"你的代码运行了课程自带的 {what}：这道题要你自己写，不能借用课程的实现"
                                         "（换个名字、当默认参数传进来也一样会被发现）。")
        return None, Feedback(False, (refused or "你的代码运行了 {what}：这道题用不到它，请自己写。").format(what=what))
    if error is not None:
        return None, _error_feedback(error, hint)
    if _has_tensor_subclass(result):
        return None, Feedback(False, "请返回普通的 torch.Tensor：张量的子类可以改写比较的方式，检查器没法判断它。")
    return result, None


def _has_tensor_subclass(value: Any, depth: int = 0) -> bool:
    """True if ``value`` (or a tuple/list/dict inside it) holds a tensor of a subclass other than Parameter."""
    if isinstance(value, torch.Tensor):
        return type(value) not in (torch.Tensor, torch.nn.Parameter)
    if depth < 4 and isinstance(value, (tuple, list)):
        return any(_has_tensor_subclass(v, depth + 1) for v in value)
    if depth < 4 and isinstance(value, dict):
        return any(_has_tensor_subclass(v, depth + 1) for v in value.values())
    return False


INPUTS_CHANGED = Feedback(False, "你的函数原地修改了传进来的张量：请返回新的张量，不要改动输入（检查器要用原来的输入算参考答案）。")


def kept(tensors: Iterable[torch.Tensor]) -> Callable[[], bool]:
    """A test that an answer left ``tensors`` as they were (one that edits its inputs could make the reference agree)."""
    copies = [(t, t.detach().clone()) for t in tensors]
    return lambda: all(torch.equal(t.detach(), c) for t, c in copies)


def grad_matches(out: Any, inputs: Iterable[torch.Tensor], expected_out: torch.Tensor,
                 expected_inputs: Iterable[torch.Tensor], *, atol: float = 1e-6) -> bool:
    """True if ``out`` carries autograd back to ``inputs`` with the same gradient (for a fixed random upstream
    gradient) as ``expected_out`` has to ``expected_inputs``."""
    inputs, expected_inputs = list(inputs), list(expected_inputs)
    if not isinstance(out, torch.Tensor) or out.grad_fn is None or out.shape != expected_out.shape:
        return False
    upstream = torch.randn(expected_out.shape, generator=fresh_generator(), dtype=torch.float64)
    try:
        got = torch.autograd.grad(plain_tensor(out), inputs, upstream.to(out.dtype), allow_unused=True)
    except Exception:
        return False
    want = torch.autograd.grad(expected_out, expected_inputs, upstream.to(expected_out.dtype))
    return all(g is not None and close_to(g, w, atol=atol, rtol=1e-5) for g, w in zip(got, want))
