"""The answer checkers judge what an answer runs: each accepts an honest from-scratch answer (in any right form),
refuses every route to the built-in it replaces (functional form, ATen op, alias, torch._VF, NumPy/SciPy/
scikit-learn, the course's own helper), names typical slips, and answers garbage with feedback, never a traceback."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

import helpers.exercises as core
from helpers import activations as act, cnn, dataloader as D, losses as L, optim as O, overview as OV
from helpers import regularization as R, rnn, schedules as S
from helpers.exercises import (activations as ex_act, cnn as ex_cnn, dataloader as ex_dl, init as ex_init,
                               losses as ex_loss, optim as ex_optim, overview as ex_ov, regularization as ex_reg,
                               rnn as ex_rnn, schedules as ex_sched, tensors as ex_tensors)

# names bound before any check runs: an alias of a built-in must be refused like the built-in itself
conv_alias, dropout_alias, tanh_alias, log_softmax_alias = F.conv2d, F.dropout, torch.tanh, F.log_softmax


def _raises(*_args, **_kwargs):
    raise RuntimeError("learner's bug")


GARBAGE = ["abc", 3.0, [1, 2], _raises, lambda *a, **k: None, lambda *a, **k: "text"]


def _refused(feedback: core.Feedback, *words: str) -> None:
    assert feedback.answered and not feedback.ok, feedback
    assert all(w in feedback.message for w in words), feedback.message


# ----------------------------------------------------------------------------- the mechanism
def test_a_check_writes_nothing_to_stderr_even_when_it_refuses(capfd):
    def good(z, dim=-1):
        m = z.amax(dim=dim, keepdim=True)
        return z - m - torch.log(torch.exp(z - m).sum(dim=dim, keepdim=True))

    assert ex_act.check_log_softmax(good).ok
    _refused(ex_act.check_log_softmax(F.log_softmax), "log_softmax")
    _refused(ex_cnn.check_my_conv2d(lambda x, w: conv_alias(x[None], w)[0]), "conv")
    out, err = capfd.readouterr()
    assert err == "" and out == ""


def test_the_kineto_fallback_is_silenced_too(capfd, monkeypatch):
    """Where the legacy profiler is missing, the Kineto profiler is used and its C++ start/stop log is silenced."""
    monkeypatch.delattr(torch._C._autograd, "_enable_profiler_legacy")
    _refused(ex_cnn.check_my_conv2d(lambda x, w: F.conv2d(x[None], w)[0]), "aten::conv2d")
    _, err = capfd.readouterr()
    assert err == ""


def test_an_operator_is_seen_whatever_name_reached_it():
    forbid = core.Forbid(ops=r"conv(?!ert)")
    x, w = torch.randn(1, 2, 5, 5), torch.randn(3, 2, 3, 3)
    routes = [lambda: F.conv2d(x, w), lambda: conv_alias(x, w), lambda: torch.conv2d(x, w),
              lambda: torch.ops.aten.conv2d(x, w), lambda: torch._C._VariableFunctions.conv2d(x, w),
              lambda: torch.convolution(x, w, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1),
              lambda: nn.Conv2d(2, 3, 3)(x), lambda: getattr(torch.nn.functional, "conv" + "2d")(x, w)]
    for route in routes:
        value, failed = core.run_answer(route, forbid, "refused {what}")
        assert value is None and failed is not None and "conv" in failed.message, failed
    value, failed = core.run_answer(lambda: F.unfold(x, 3), forbid, "refused {what}")
    assert failed is None and value.shape == (1, 18, 9)


def test_the_course_helper_is_refused_however_it_is_passed_in():
    for route in (lambda: act.softmax(torch.zeros(3)), lambda f=act.softmax: f(torch.zeros(3)),
                  lambda: (lambda g: g(torch.zeros(3)))(act.softmax)):
        _, failed = core.run_answer(route, core.Forbid(), "")
        _refused(failed, "helpers.activations.softmax")


def test_switching_the_watch_off_or_patching_torch_is_refused_and_undone():
    original = torch.allclose
    _, failed = core.run_answer(lambda: setattr(torch, "allclose", lambda *a, **k: True), core.Forbid(), "")
    _refused(failed, "torch.allclose")
    assert torch.allclose is original
    import sys
    _, failed = core.run_answer(lambda: sys.setprofile(None), core.Forbid(), "")
    _refused(failed, "setprofile")
    _, failed = core.run_answer(lambda: torch._C._autograd._disable_profiler_legacy(), core.Forbid(), "")
    _refused(failed)
    assert not torch._C._autograd._profiler_enabled() and sys.getprofile() is None


def test_a_learner_error_is_feedback_not_a_traceback():
    _, failed = core.run_answer(lambda: 1 / 0, core.Forbid(), "", "a hint")
    _refused(failed, "ZeroDivisionError", "a hint")
    _, failed = core.run_answer(lambda: exit(), core.Forbid(), "")
    _refused(failed, "SystemExit")


def test_the_form_of_a_number():
    for four in (4, np.int64(4), np.int32(4), torch.tensor(4), np.array(4)):
        assert core.as_integer(four) == 4 and core.as_number(four) == 4.0
    for four in (4.0, np.float64(4.0), torch.tensor(4.0)):
        assert core.as_number(four) == 4.0 and core.as_integer(four) is None     # a float is not an integer form
    for not_a_number in ([4], (4,), "4", None, True, torch.tensor([4]), np.array([4])):
        assert core.as_number(not_a_number) is None and core.as_integer(not_a_number) is None
    assert core.as_integer(4.5) is None
    assert core.as_int_tuple((np.int64(2), torch.tensor(3), 4)) == (2, 3, 4)
    assert core.as_int_tuple("243") is None and core.as_int_tuple((2, 4.5)) is None


def test_close_to_cannot_be_fooled_by_a_tensor_subclass():
    class Liar(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return True

    liar = torch.zeros(3).as_subclass(Liar)
    assert not core.close_to(liar, [1.0, 2.0, 3.0])


# ----------------------------------------------------------------------------- 02 activations
def _log_softmax(z, dim=-1):
    m = z.amax(dim=dim, keepdim=True)
    return z - m - torch.log(torch.exp(z - m).sum(dim=dim, keepdim=True))


def _softmax(z, dim=-1):
    e = torch.exp(z - z.amax(dim=dim, keepdim=True))
    return e / e.sum(dim=dim, keepdim=True)


def test_log_softmax():
    check = ex_act.check_log_softmax
    assert check(_log_softmax).ok
    for bypass in (F.log_softmax, log_softmax_alias, torch.log_softmax, lambda z, dim=-1: z.log_softmax(dim),
                   lambda z, dim=-1: F.log_softmax(z, dim=dim), lambda z, dim=-1: nn.LogSoftmax(dim=dim)(z),
                   lambda z, dim=-1: torch.special.log_softmax(z, dim), lambda z, dim=-1: torch._VF.log_softmax(z, dim),
                   lambda z, dim=-1: torch.ops.aten._log_softmax(z, dim % z.dim(), False),
                   lambda z, dim=-1: z - z.logsumexp(dim, keepdim=True),
                   lambda z, dim=-1: torch.log(F.softmax(z, dim)),
                   lambda z, dim=-1: torch.log(torch.softmax(z, dim=dim)),
                   lambda z, dim=-1, f=L.log_softmax: f(z, dim),
                   lambda z, dim=-1: torch.log(act.softmax(z, dim))):
        feedback = check(bypass)
        _refused(feedback)
        assert "softmax" in feedback.message or "logsumexp" in feedback.message, feedback.message
    # nothing was switched off or left patched
    assert torch.softmax(torch.zeros(2), 0).tolist() == [0.5, 0.5]
    assert torch.zeros(2).softmax(0).tolist() == [0.5, 0.5] and F.softmax(torch.zeros(2), 0).tolist() == [0.5, 0.5]
    for wrong in (_softmax, lambda z, dim=-1: torch.exp(z) / torch.exp(z).sum(dim, keepdim=True),
                  lambda z, dim=-1: torch.exp(z)):
        _refused(check(wrong))
    _refused(check(lambda z, dim=-1: torch.from_numpy(np.asarray(_log_softmax(z.detach(), dim)))), "梯度")
    _refused(check(lambda z, dim=-1: torch.log(torch.exp(z) / torch.exp(z).sum(dim, keepdim=True))), "inf")
    _refused(check(lambda z, dim=-1: torch.exp(_log_softmax(z, dim))), "softmax 本身")
    assert not check(None).answered
    for junk in GARBAGE:
        _refused(check(junk))


def test_tanh_from_sigmoid():
    check = ex_act.check_tanh_from_sigmoid
    assert check(lambda x: 2 * torch.sigmoid(2 * x) - 1).ok
    for bypass in (torch.tanh, tanh_alias, F.tanh, lambda x: torch.tanh(x), lambda x: x.tanh(), nn.Tanh(),
                   lambda x: torch._VF.tanh(x), lambda x: torch.ops.aten.tanh(x),
                   lambda x: 2 * torch.sigmoid(2 * x) - 1 + 0 * torch.tanh(x),
                   act.tanh, lambda x: act.tanh(x), lambda x, f=act.tanh: f(x)):
        _refused(check(bypass), "tanh")
    assert torch.tanh(torch.zeros(1)).item() == 0.0 and torch.zeros(1).tanh().item() == 0.0
    for wrong in (lambda x: 2 * torch.sigmoid(x) - 1, torch.sigmoid):
        _refused(check(wrong))
    _refused(check(lambda x: torch.from_numpy(np.tanh(x.detach().numpy()))), "梯度")
    for junk in GARBAGE:
        _refused(check(junk))


def test_dead_fraction_takes_any_number_form():
    torch.manual_seed(2)                                   # the exercise's setup, recomputed here
    layer = nn.Linear(4, 100)
    nn.init.constant_(layer.bias, -2.0)
    x = torch.randn(500, 4)
    with torch.no_grad():
        z = layer(x)
    expected = ((z > 0).sum(0) == 0).float().mean().item()
    assert math.isclose(expected, ex_act._dead_fraction_exercise(), abs_tol=1e-6)
    for form in (expected, np.float64(expected), torch.tensor(expected)):
        assert ex_act.check_dead_fraction(form).ok
    for junk in ([expected], [expected, expected], str(expected), "0.5", True):
        _refused(ex_act.check_dead_fraction(junk), "数")
    for wrong in (1.0 - expected, float("nan")):
        _refused(ex_act.check_dead_fraction(wrong))


def test_checkers_do_not_change_the_global_rng():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    ex_act.check_dead_fraction(0.5)
    ex_act.check_log_softmax(_log_softmax)
    ex_act.check_tanh_from_sigmoid(lambda x: 2 * torch.sigmoid(2 * x) - 1)
    assert torch.equal(torch.rand(3), expected)


# ----------------------------------------------------------------------------- 04 losses
def _pseudo_huber(y_hat, y, delta):
    return (delta ** 2 * (torch.sqrt(1 + ((y_hat - y) / delta) ** 2) - 1)).mean()


def test_pseudo_huber():
    check = ex_loss.check_pseudo_huber
    assert check(_pseudo_huber).ok
    for bypass in (lambda a, b, d: F.huber_loss(a, b, delta=d), lambda a, b, d: nn.HuberLoss(delta=d)(a, b),
                   lambda a, b, d: d * F.smooth_l1_loss(a, b, beta=d), L.huber, lambda a, b, d: L.huber(a, b, d)):
        feedback = check(bypass)
        _refused(feedback)
        assert "huber" in feedback.message.lower() or "smooth_l1" in feedback.message, feedback.message
    _refused(check(lambda a, b, d, f=L.huber: f(a, b, d)), "helpers.losses.huber")
    for wrong in (lambda a, b, d: F.smooth_l1_loss(a, b, beta=d), lambda a, b, d: F.mse_loss(a, b)):
        _refused(check(wrong))
    _refused(check(lambda a, b, d: torch.tensor(float(_pseudo_huber(a.detach(), b, d)))), "梯度")
    _refused(check(lambda a, b, d: (d ** 2 * (torch.sqrt(1 + ((a - b) / d) ** 2) - 1)).sum()), "平均")
    _refused(check(lambda a, b, d: (torch.sqrt(1 + ((a - b) / d) ** 2) - 1).mean()), "δ²")
    for junk in GARBAGE:
        _refused(check(junk))


def _bce(z, y):
    return (z.clamp(min=0) - z * y + torch.log1p(torch.exp(-z.abs()))).mean()


def test_stable_bce_with_logits():
    check = ex_loss.check_stable_bce_with_logits
    assert check(_bce).ok
    for bypass in (F.binary_cross_entropy_with_logits, lambda z, y: F.binary_cross_entropy(torch.sigmoid(z), y),
                   lambda z, y: -(y * F.logsigmoid(z) + (1 - y) * F.logsigmoid(-z)).mean(),
                   lambda z, y: (F.softplus(z) - z * y).mean(), lambda z, y: (torch.logaddexp(torch.zeros_like(z), z) - z * y).mean(),
                   lambda z, y: nn.BCEWithLogitsLoss()(z, y), L.binary_cross_entropy_with_logits):
        _refused(check(bypass))
    _refused(check(lambda z, y: -(y * torch.log(torch.sigmoid(z)) + (1 - y) * torch.log(1 - torch.sigmoid(z))).mean()), "inf")
    _refused(check(lambda z, y: torch.tensor(_bce(z.detach(), y).item())), "梯度")
    for junk in GARBAGE:
        _refused(check(junk))


def test_loss_numbers_take_any_number_form():
    for form in (0.25, np.float64(0.25), torch.tensor(0.25)):
        assert ex_loss.check_mse_critical_lr(form).ok
    for wrong in (0.5, 0.125, "0.25x"):
        _refused(ex_loss.check_mse_critical_lr(wrong))
    for junk in ([0.25], "0.25"):
        _refused(ex_loss.check_mse_critical_lr(junk), "数")
        _refused(ex_loss.check_cross_entropy_by_hand(junk), "数")


def test_cross_entropy_by_hand():
    check = ex_loss.check_cross_entropy_by_hand
    logits = torch.tensor([[0.5, 1.5, -1.0], [2.0, 0.0, 0.5], [-0.5, 1.0, 1.5], [1.0, 0.5, 0.0]])
    target = torch.tensor([1, 0, 2, 2])
    right = F.cross_entropy(logits, target).item()
    assert abs(right - 0.7283) < 1e-4                                    # the value quoted in the notebook
    assert check(right).ok
    chapter2_demo = F.cross_entropy(torch.tensor([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3], [1.2, 0.2, 3.0]]),
                                    torch.tensor([0, 1, 2])).item()
    for wrong in (F.cross_entropy(logits, target, reduction="sum").item(),
                  F.cross_entropy(torch.softmax(logits, 1), target).item(), chapter2_demo):
        _refused(check(wrong))


# ----------------------------------------------------------------------------- 05 optimizers
def _notes_momentum(grads, lr, beta):
    w = v = 0.0
    out = []
    for g in grads:
        v = beta * v + (1 - beta) * g
        w -= lr * v
        out.append(w)
    return out


def _adam_step(w, g, m, v, t, lr, beta1, beta2, eps):
    m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g * g
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return w - lr * m_hat / (math.sqrt(v_hat) + eps), m, v


def _via_sgd(grads, lr, beta):
    w = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr * (1 - beta), momentum=beta)
    out = []
    for g in grads:
        w.grad = torch.tensor([float(g)])
        opt.step()
        out.append(w.item())
    return out


def _via_functional_sgd(grads, lr, beta):
    w, buf, out = torch.zeros(1, dtype=torch.float64), [None], []
    for g in grads:
        torch.optim._functional.sgd([w], [torch.tensor([g * (1 - beta)], dtype=torch.float64)], buf, weight_decay=0,
                                    momentum=beta, lr=lr, dampening=0, nesterov=False, maximize=False)
        out.append(w.item())
    return out


def _via_foreach(grads, lr, beta):
    w, v, out = torch.zeros(1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64), []
    for g in grads:
        torch._foreach_mul_([v], beta)
        torch._foreach_add_([v], [torch.tensor([g * (1 - beta)], dtype=torch.float64)])
        torch._foreach_add_([w], [v], alpha=-lr)
        out.append(w.item())
    return out


def test_notes_momentum():
    check = ex_optim.check_notes_momentum
    assert check(_notes_momentum).ok
    assert check(lambda g, lr, b: np.array(_notes_momentum(g, lr, b))).ok
    for bypass in (_via_sgd, _via_functional_sgd, _via_foreach, torch.optim.SGD):
        _refused(check(bypass))
    _refused(check(_via_sgd), "torch.optim")

    def via_course(grads, lr, beta):
        w = torch.zeros(1, requires_grad=True)
        opt = O.NotesMomentum([w], lr=lr, beta=beta)
        return [(setattr(w, "grad", torch.tensor([g])), opt.step(), w.item())[2] for g in grads]

    def pytorch_momentum(grads, lr, beta):                  # PyTorch's v = βv + g, not the notes' (1 − β) g
        w, v, out = 0.0, 0.0, []
        for g in grads:
            v = beta * v + g
            w -= lr * v
            out.append(w)
        return out

    _refused(check(via_course), "helpers.optim")
    _refused(check(pytorch_momentum))
    _refused(check(lambda g, lr, b: _notes_momentum(g, lr * (1 - b) / (1 - b) / (1 - b), b)))
    assert torch.optim.SGD.__name__ == "SGD"                 # patches were undone
    for junk in GARBAGE:
        _refused(check(junk))


def _adam_eps_inside(w, g, m, v, t, lr, beta1, beta2, eps):
    m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g * g
    return w - lr * (m / (1 - beta1 ** t)) / math.sqrt(v / (1 - beta2 ** t) + eps), m, v


def _adam_via_torch(w, g, m, v, t, lr, beta1, beta2, eps):
    p = torch.tensor([w], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([p], lr=lr, betas=(beta1, beta2), eps=eps)
    p.grad = torch.tensor([g], dtype=torch.float64)
    opt.step()
    return p.item(), m, v


def _adam_functional(w, g, m, v, t, lr, beta1, beta2, eps):
    tensors = [torch.tensor([x], dtype=torch.float64) for x in (w, g, m, v)]
    torch.optim._functional.adam([tensors[0]], [tensors[1]], [tensors[2]], [tensors[3]], [],
                                 [torch.tensor(float(t - 1))], amsgrad=False, beta1=beta1, beta2=beta2, lr=lr,
                                 weight_decay=0, eps=eps, maximize=False)
    return tensors[0].item(), tensors[2].item(), tensors[3].item()


def _adam_fused(w, g, m, v, t, lr, beta1, beta2, eps):
    tensors = [torch.tensor([x], dtype=torch.float64) for x in (w, g, m, v)]
    torch._fused_adam_([tensors[0]], [tensors[1]], [tensors[2]], [tensors[3]], [], [torch.tensor(float(t))], lr=lr,
                       beta1=beta1, beta2=beta2, weight_decay=0.0, eps=eps, amsgrad=False, maximize=False)
    return tensors[0].item(), tensors[2].item(), tensors[3].item()


def test_adam_step():
    check = ex_optim.check_adam_step
    assert check(_adam_step).ok
    assert check(lambda *a: tuple(torch.tensor(x) for x in _adam_step(*a))).ok
    _refused(check(_adam_eps_inside), "eps")
    _refused(check(lambda w, g, m, v, t, lr, b1, b2, eps: _adam_step(w, g, m, v, t, lr, 0.9, 0.999, 1e-8)), "beta1")
    _refused(check(lambda w, g, m, v, t, lr, b1, b2, eps: (
        w - lr * (b1 * m + (1 - b1) * g) / (math.sqrt(b2 * v + (1 - b2) * g * g) + eps),
        b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g)), "偏置修正")
    for bypass in (_adam_via_torch, _adam_functional, _adam_fused, torch.optim.Adam):
        _refused(check(bypass))

    def builds_adam_but_returns_w(w, g, m, v, t, lr, beta1, beta2, eps):
        p = torch.tensor([w], requires_grad=True)
        torch.optim.Adam([p], lr=lr)
        return w, m, v

    _refused(check(builds_adam_but_returns_w))
    assert torch.optim.Adam.__name__ == "Adam"               # patches were undone
    for junk in GARBAGE:
        _refused(check(junk))


def test_optimizer_numbers_take_any_number_form():
    for form in (0.1, np.float64(0.1), torch.tensor(0.1)):
        assert ex_optim.check_rmsprop_first_step(form).ok
    _refused(ex_optim.check_rmsprop_first_step([0.1]), "数")
    for wrong in (0.0316, 0.01, "0.1", [0.1, 0.1], 1.0):
        _refused(ex_optim.check_rmsprop_first_step(wrong))
    lr, beta = (2 / 11) ** 2, (9 / 11) ** 2
    assert ex_optim.check_optimal_momentum((np.float64(lr), torch.tensor(beta))).ok
    lr_helper, beta_helper, _ = O.momentum_optimal(1.0, 100.0)
    assert math.isclose(lr_helper, lr) and math.isclose(beta_helper, beta)
    assert ex_optim.check_optimal_momentum((lr_helper, beta_helper)).ok
    _refused(ex_optim.check_optimal_momentum("0.03, 0.67"), "二元组")
    for wrong in ((0.0331,), (0.1, 9 / 11), (1.0, 0.0)):
        _refused(ex_optim.check_optimal_momentum(wrong))


# ----------------------------------------------------------------------------- 06 schedules
def _warmup_cosine(t):
    return 0.1 * (0.1 + 0.9 * t / 10) if t < 10 else 0.05 * (1 + math.cos(math.pi * (t - 10) / 90))


def _via_scheduler(t):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    LS = torch.optim.lr_scheduler
    sched = LS.SequentialLR(opt, [LS.LinearLR(opt, 0.1, total_iters=10), LS.CosineAnnealingLR(opt, 90)], [10])
    for _ in range(t):
        opt.step()
        sched.step()
    return opt.param_groups[0]["lr"]


def test_warmup_cosine():
    check = ex_sched.check_warmup_cosine
    assert check(_warmup_cosine).ok
    assert check(lambda t: torch.tensor(_warmup_cosine(t))).ok
    _refused(check(_via_scheduler), "torch.optim")
    _refused(check(lambda t, f=S.warmup_cosine_lr: f(t, 0.1, 10, 90, 0.1) if False else S.cosine_lr(t, 0.1, 90)),
             "helpers.schedules")
    _refused(check(lambda t: [_warmup_cosine(t)]), "一个数")
    LS = torch.optim.lr_scheduler
    for wrong in (lambda t: S.warmup_cosine_lr(t, 0.1, 10, 90, 0.0, 0.1),
                  lambda t: S.lr_curve(lambda o: LS.StepLR(o, 10), 1)[0],
                  lambda t: LS.LambdaLR(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1), lambda k: 1.0),
                  lambda t: 0.1 * t / 10 if t < 10 else 0.05 * (1 + math.cos(math.pi * (t - 10) / 90)),  # no floor
                  lambda t: 0.1, LS.CosineAnnealingLR):
        _refused(check(wrong))
    assert LS.CosineAnnealingLR.__name__ == "CosineAnnealingLR" and S.cosine_lr(0, 0.1, 10) == 0.1  # patches undone
    for junk in GARBAGE:
        _refused(check(junk))


def test_schedule_numbers_take_any_integer_form():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)     # the first cut really is at call 4
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=2)
    cuts = []
    for value in ex_sched.PLATEAU_LOSSES:
        plateau.step(value)
        cuts.append(opt.param_groups[0]["lr"] < 1.0)
    assert cuts.index(True) + 1 == 4
    for form in (4, np.int64(4), torch.tensor(4)):
        assert ex_sched.check_plateau_first_cut(form).ok
    for junk in ([4], "4", True, 4.5, 4.0):
        _refused(ex_sched.check_plateau_first_cut(junk), "整数")
    for wrong in (3, 5):
        _refused(ex_sched.check_plateau_first_cut(wrong))
    assert ex_sched.check_get_last_lr((np.float64(0.1), torch.tensor(0.01))).ok
    _refused(ex_sched.check_get_last_lr("0.1, 0.01"), "二元组")
    for wrong in ((0.1, 0.1), (0.01, 0.1), (0.1,), 0.01):
        _refused(ex_sched.check_get_last_lr(wrong))


# ----------------------------------------------------------------------------- 07 regularization
def _dropout(x, p):
    return x * (torch.rand(x.shape) >= p) / (1 - p)


def test_inverted_dropout():
    check = ex_reg.check_inverted_dropout
    assert check(_dropout).ok
    assert check(lambda x, p: x * torch.bernoulli(torch.full_like(x, 1 - p)) / (1 - p)).ok
    for bypass in (F.dropout, dropout_alias, lambda x, p: nn.Dropout(p)(x), lambda x, p: torch.dropout(x, p, True),
                   lambda x, p: torch._VF.dropout(x, p, True), lambda x, p: torch.native_dropout(x, p, True)[0],
                   lambda x, p: torch.ops.aten.dropout(x, p, True), lambda x, p, f=R.dropout: f(x, p)):
        _refused(check(bypass))

    def fixed_mask(x, p):
        g = torch.Generator().manual_seed(0)
        return x * (torch.rand(x.shape, generator=g) >= p) / (1 - p)

    def whole_rows(x, p):
        return x * (torch.rand(x.shape[0], *([1] * (x.dim() - 1))) >= p) / (1 - p)

    _refused(check(fixed_mask), "相同")
    _refused(check(whole_rows), "整行")
    _refused(check(lambda x, p: x * (torch.rand(x.shape) >= p) / p), "1 − p", "除以了 p")
    _refused(check(lambda x, p: x * (torch.rand(x.shape) < p) / p), "1 − p", "保留概率")
    _refused(check(lambda x, p: x * (torch.rand(x.shape) >= p)), "没有放大")
    _refused(check(lambda x, p: F.dropout(x, p, training=True)), "现成")
    _refused(check(lambda x, p: torch.from_numpy(x.detach().numpy() * (np.random.rand(*x.shape) >= p) / (1 - p))),
             "梯度")
    _refused(check(lambda x, p: _dropout(x.flatten(), p)), "形状")
    for junk in GARBAGE:
        _refused(check(junk))


def _batch_norm(x, gamma, beta, eps):
    mean = x.mean(0)
    var = ((x - mean) ** 2).mean(0)
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta


def test_batch_norm_train():
    check = ex_reg.check_batch_norm_train
    assert check(_batch_norm).ok
    for bypass in (lambda x, g, b, e: F.batch_norm(x, None, None, g, b, True, eps=e),
                   lambda x, g, b, e: torch.batch_norm(x, g, b, None, None, True, 0.1, e, False),
                   lambda x, g, b, e: torch.native_batch_norm(x, g, b, None, None, True, 0.1, e)[0],
                   lambda x, g, b, e: F.layer_norm(x.T, (x.shape[0],), eps=e).T * g + b,
                   lambda x, g, b, e: F.group_norm(x.T[None], x.shape[1], eps=e)[0].T * g + b,
                   lambda x, g, b, e: F.instance_norm(x.T[None], eps=e)[0].T * g + b,
                   lambda x, g, b, e: F.rms_norm((x - x.mean(0)).T, (x.shape[0],), eps=e).T * g + b,
                   lambda x, g, b, e, f=R.batch_norm: f(x, g, b, e)):
        _refused(check(bypass))
    _refused(check(lambda x, g, b, e: g * (x - x.mean(0)) / torch.sqrt(x.var(0) + e) + b), "有偏方差")
    _refused(check(lambda x, g, b, e: F.batch_norm(x, None, None, g, b, training=True, eps=e)), "现成")
    _refused(check(lambda x, g, b, e: g * x + b), "笔记里的 y = γz + β")
    for wrong in (F.batch_norm, lambda x, g, b, e: x.sum()):
        _refused(check(wrong))
    _refused(check(lambda x, g, b, e: torch.from_numpy(_batch_norm(x.detach(), g.detach(), b.detach(), e).numpy())), "梯度")
    for junk in GARBAGE:
        _refused(check(junk))


def test_regularization_numbers_take_any_number_form():
    for form in (0.9 + 0.1 * 14 / 3, np.float64(0.9 + 0.1 * 14 / 3), torch.tensor(0.9 + 0.1 * 14 / 3)):
        assert ex_reg.check_running_var(form).ok
    bn = nn.BatchNorm1d(1)
    bn(torch.tensor([[1.0], [2.0], [3.0], [6.0]]))
    assert math.isclose(bn.running_var.item(), 0.9 + 0.1 * 14 / 3, rel_tol=1e-6)
    assert ex_reg.check_running_var(bn.running_var.item()).ok
    _refused(ex_reg.check_running_var(0.9 + 0.1 * 3.5), "无偏")
    _refused(ex_reg.check_running_var(0.1 + 0.9 * 14 / 3), "权重反了")
    assert ex_reg.check_l2_weight_decay(np.float32(0.01)).ok and ex_reg.check_l2_weight_decay(0.01).ok
    _refused(ex_reg.check_l2_weight_decay(0.005), "2 倍")
    _refused(ex_reg.check_l2_weight_decay(0.1))
    for junk in ([0.01], "0.01"):
        _refused(ex_reg.check_l2_weight_decay(junk), "数")
        _refused(ex_reg.check_running_var(junk), "数")


# ----------------------------------------------------------------------------- 08 CNN
def _conv_loops(x, w):
    c_out, _, k, _ = w.shape
    h, v = x.shape[1] - k + 1, x.shape[2] - k + 1
    return torch.stack([torch.stack([torch.stack([(x[:, i:i + k, j:j + k] * w[o]).sum() for j in range(v)])
                                     for i in range(h)]) for o in range(c_out)])


def _conv_unfold(x, w):
    c_out, _, k, _ = w.shape
    cols = F.unfold(x[None], k)[0]                          # (C·k·k, positions): im2col, then one matrix product
    return (w.reshape(c_out, -1) @ cols).reshape(c_out, x.shape[1] - k + 1, x.shape[2] - k + 1)


def _conv_into_zeros(x, w):
    c_out, _, k, _ = w.shape
    h, wd = x.shape[1] - k + 1, x.shape[2] - k + 1
    out = torch.zeros(c_out, h, wd, dtype=x.dtype)
    for o in range(c_out):
        for i in range(h):
            for j in range(wd):
                out[o, i, j] = (x[:, i:i + k, j:j + k] * w[o]).sum()
    return out


def test_my_conv2d():
    check = ex_cnn.check_my_conv2d
    assert check(_conv_loops).ok
    assert check(_conv_unfold).ok
    assert check(_conv_into_zeros).ok                      # writing into a fresh tensor is not editing the inputs
    assert check(lambda x, w: torch.einsum("chwuv,ocuv->ohw", x.unfold(1, w.shape[-1], 1).unfold(2, w.shape[-1], 1), w)).ok
    for bypass in (lambda x, w: F.conv2d(x[None], w)[0], lambda x, w: conv_alias(x[None], w)[0],
                   lambda x, w: torch.conv2d(x[None], w)[0], lambda x, w: torch.ops.aten.conv2d(x[None], w)[0],
                   lambda x, w: torch._VF.conv2d(x[None], w)[0] if hasattr(torch._VF, "conv2d") else
                   torch._C._VariableFunctions.conv2d(x[None], w)[0],
                   lambda x, w: torch.convolution(x[None], w, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)[0],
                   lambda x, w: torch.nn.grad.conv2d_input((1, *x.shape), w, x[None]) * 0 + F.conv2d(x[None], w)[0],
                   lambda x, w: F.conv_transpose2d(x[None], w.transpose(0, 1).flip(-1, -2))[0][:, :0],
                   lambda x, w, f=cnn.conv2d: f(x[None], w)[0]):
        _refused(check(bypass))
    import scipy.signal

    def via_scipy(x, w):
        return torch.tensor(np.stack([sum(scipy.signal.correlate2d(x[c].detach().numpy(), w[o, c].detach().numpy(),
                                                                   "valid") for c in range(x.shape[0]))
                                      for o in range(w.shape[0])]))

    _refused(check(via_scipy), "scipy")
    _refused(check(lambda x, w: torch.from_numpy(_conv_loops(x.detach(), w.detach()).numpy())), "梯度")
    _refused(check(lambda x, w: _conv_loops(x, w.flip(-1, -2))), "翻转")
    for wrong in (F.conv2d, lambda x, w: _conv_loops(x[:1], w[:, :1]), lambda x, w: x):   # first channel only; x back
        _refused(check(wrong))
    assert F.conv2d(torch.zeros(1, 1, 3, 3), torch.zeros(1, 1, 1, 1)).shape == (1, 1, 3, 3)  # patches were undone
    for junk in GARBAGE:
        _refused(check(junk))


def test_cnn_numbers_take_any_integer_form():
    model = eval(ex_cnn.PARAM_MODEL_TEXT)  # noqa: S307 - the fixed model text shown in the notebook
    truth = sum(p.numel() for p in model.parameters())
    assert truth == 1546
    for form in (1546, np.int64(1546), torch.tensor(1546)):
        assert ex_cnn.check_param_count(form).ok
    for junk in ([1546], "1546", 1546.5, 1546.0, True):
        _refused(ex_cnn.check_param_count(junk), "整数")
    for wrong in (truth + 16, truth - 8, truth - 10, 8 * 3 * 3 + 8 + 16 * 3 * 3 + 170):
        _refused(ex_cnn.check_param_count(wrong))
    shape = tuple(nn.Conv2d(3, 16, 5, stride=2, padding=1)(torch.zeros(4, 3, 32, 32)).shape)
    assert shape == (4, 16, 15, 15)
    for form in (shape, list(shape), torch.Size(shape), (np.int64(4), 16, torch.tensor(15), 15)):
        assert ex_cnn.check_conv_output_shape(form).ok
    _refused(ex_cnn.check_conv_output_shape("(4, 16, 15, 15)"), "元组")
    for wrong in ((16, 15, 15), (4, 3, 15, 15), (4, 16, 16, 16), (4, 16, 13, 13), (4, 16, 15.0, 15), 15):
        _refused(ex_cnn.check_conv_output_shape(wrong))


# ----------------------------------------------------------------------------- 09 RNN
def _my_rnn(x, w_ih, w_hh, b_ih, b_hh):
    h, out = torch.zeros(w_hh.shape[0], dtype=x.dtype), []
    for x_t in x:
        h = torch.tanh(w_ih @ x_t + b_ih + w_hh @ h + b_hh)
        out.append(h)
    return torch.stack(out)


def _via_cell(x, w_ih, w_hh, b_ih, b_hh):
    h, out = torch.zeros(1, w_hh.shape[0], dtype=x.dtype), []
    for t in range(len(x)):
        h = torch._VF.rnn_tanh_cell(x[t:t + 1], h, w_ih, w_hh, b_ih, b_hh)
        out.append(h[0])
    return torch.stack(out)


def _via_module(x, w_ih, w_hh, b_ih, b_hh):
    layer = nn.RNN(x.shape[1], w_hh.shape[0]).double()
    with torch.no_grad():
        for name, value in zip(("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"), (w_ih, w_hh, b_ih, b_hh)):
            getattr(layer, name).copy_(value)
    return layer(x)[0]


def test_my_rnn():
    check = ex_rnn.check_my_rnn
    assert check(_my_rnn).ok
    for bypass in (_via_cell, _via_module,
                   lambda x, *w: torch.rnn_tanh(x[:, None], torch.zeros(1, 1, w[1].shape[0], dtype=x.dtype), list(w),
                                                True, 1, 0.0, False, False, False)[0][:, 0],
                   lambda *a, f=rnn.rnn_forward: f(*a), nn.RNN(3, 5),
                   lambda x, w_ih, w_hh, b_ih, b_hh: rnn.rnn_forward(x, None, w_ih, w_hh, b_ih, b_hh)[0]):
        _refused(check(bypass))
    assert nn.RNN(2, 3)(torch.zeros(4, 2))[0].shape == (4, 3)           # the patches were undone
    for wrong in (lambda x, w_ih, w_hh, b_ih, b_hh: _my_rnn(x, w_ih, w_hh, b_ih, 0 * b_hh),    # one bias only
                  lambda x, w_ih, w_hh, b_ih, b_hh: _my_rnn(x, w_ih, w_hh, b_ih, b_hh)[-1:]):  # h_n only
        _refused(check(wrong))
    _refused(check(lambda *a: torch.from_numpy(_my_rnn(*(t.detach() for t in a)).numpy())), "梯度")
    _refused(check(lambda x, w_ih, w_hh, b_ih, b_hh: torch.tanh(x @ w_ih.T + b_ih)), "上一步")
    for junk in GARBAGE:
        _refused(check(junk))


def test_rnn_answers_take_any_form():
    out, h_n = nn.RNN(4, 8, batch_first=True)(torch.zeros(3, 5, 4))
    assert (tuple(out.shape), tuple(h_n.shape)) == ((3, 5, 8), (1, 3, 8))
    for form in ((torch.Size([3, 5, 8]), (np.int64(1), 3, 8)), (tuple(out.shape), tuple(h_n.shape)),
                 [out.shape, h_n.shape]):
        assert ex_rnn.check_rnn_shapes(form).ok
    for wrong in [((5, 3, 8), (1, 3, 8)), ((3, 5, 8), (3, 1, 8)), ((3, 5, 8), (1, 5, 8)), ((3, 5, 4), (1, 3, 4)),
                  ("(3, 5, 8)", "(1, 3, 8)"), (3, 5, 8), "shapes", ((3, 5, 8.0), (1, 3, 8))]:
        _refused(ex_rnn.check_rnn_shapes(wrong))
    emb = nn.Embedding(6, 3)
    emb(torch.tensor([2, 5, 2, 2])).sum().backward()
    for form in (3, np.int64(3), torch.tensor(3.0), [3.0, 3.0, 3.0], torch.tensor([3.0, 3.0, 3.0]),
                 emb.weight.grad[2, 0].item(), emb.weight.grad[2].tolist()):
        assert ex_rnn.check_embedding_grad(form).ok
    for junk in ([3], "3"):
        _refused(ex_rnn.check_embedding_grad(junk), "数")
    for wrong in (1.0, 0.0, 4.0, True, [3.0, 3.0]):
        _refused(ex_rnn.check_embedding_grad(wrong))


# ----------------------------------------------------------------------------- 10 DataLoader
class Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return torch.tensor([float(i)]), torch.tensor([float(i * i)])


def test_squares_dataset():
    check = ex_dl.check_squares_dataset
    assert check(Squares).ok

    class AlwaysTen(Squares):
        def __len__(self):
            return 10

    class Doubles(Squares):
        def __getitem__(self, i):
            return torch.tensor([float(i)], dtype=torch.float64), torch.tensor([float(i * i)], dtype=torch.float64)

    class Broken(Squares):
        def __getitem__(self, i):
            raise IndexError("oops")

    class OneShort(Squares):
        def __len__(self):
            return self.n - 1

    _refused(check(AlwaysTen), "__len__")
    _refused(check(OneShort), "__len__")
    _refused(check(Doubles), "float32")
    _refused(check(Broken), "IndexError")
    _refused(check(Squares(3)), "类")
    for junk in GARBAGE:
        _refused(check(junk))


def _collate(batch):
    padded = torch.zeros(len(batch), max(len(s) for s, _ in batch), dtype=torch.long)
    for row, (seq, _) in enumerate(batch):
        padded[row, :len(seq)] = seq
    return (padded, torch.tensor([len(s) for s, _ in batch])), torch.tensor([y for _, y in batch])


def test_pad_collate():
    check = ex_dl.check_pad_collate
    assert check(_collate).ok
    from torch.nn.utils.rnn import pad_sequence
    from helpers.dataloader import pad_collate
    _refused(check(lambda b: ((pad_sequence([s for s, _ in b], batch_first=True), torch.tensor([len(s) for s, _ in b])),
                              torch.tensor([y for _, y in b]))), "pad_sequence")
    for bypass in (lambda b: ((torch._C._nn.pad_sequence([s for s, _ in b], True),
                               torch.tensor([len(s) for s, _ in b])),
                              torch.tensor([y for _, y in b])),
                   D.pad_collate, lambda b, f=D.pad_collate: f(b), lambda b: D.pad_collate(b),
                   lambda b: pad_collate(b)):
        _refused(check(bypass))
    for junk in GARBAGE:
        _refused(check(junk))


def test_balanced_weights():
    check = ex_dl.check_balanced_weights
    assert check(lambda y: 1.0 / torch.bincount(y)[y].double()).ok
    assert check(lambda y: 1.0 / torch.bincount(y)[y]).ok
    assert check(lambda y: 5.0 / torch.bincount(y)[y]).ok                   # any common scale
    assert check(lambda y: 7 / np.bincount(y.numpy())[y.numpy()]).ok

    def one_per_class(labels):
        w, seen = torch.zeros(len(labels)), set()
        for i, label in enumerate(labels.tolist()):
            if label not in seen:
                w[i], seen = 1.0, seen | {label}
        return w

    from sklearn.utils.class_weight import compute_sample_weight
    _refused(check(one_per_class), "同一类")
    _refused(check(lambda y: 1.0 / torch.bincount(y)), "每个样本")
    _refused(check(lambda y: torch.bincount(y)[y].double()), "倒数")
    _refused(check(lambda y: compute_sample_weight("balanced", y.numpy())), "sklearn")
    _refused(check(D.balanced_sample_weights), "helpers.dataloader")
    _refused(check(lambda y: D.balanced_sample_weights(y)), "helpers.dataloader")
    _refused(check(lambda y: torch.ones(len(y))), "没加权")
    for junk in GARBAGE:
        _refused(check(junk))


def test_iteration_counts_take_any_integer_form():
    for form in ((8, 7, 24), (np.int64(8), torch.tensor(7), 24), np.array([8, 7, 24]), [8, 7, np.int32(24)]):
        assert ex_dl.check_iteration_counts(form).ok
    for junk in ("8, 7, 24", "(8, 7, 24)", (8, 7), (8, 7, 24.5), (8.0, 7, 24), 8):
        _refused(ex_dl.check_iteration_counts(junk), "整数")
    _refused(ex_dl.check_iteration_counts((7, 7, 21)))


# ----------------------------------------------------------------------------- 00 overview
def test_count_parameters():
    check = ex_ov.check_count_parameters

    def count(model):
        return sum(p.numel() for p in model.parameters())

    for form in (count, lambda m: np.int64(count(m)), lambda m: torch.tensor(count(m))):
        assert check(form).ok
    _refused(check(OV.count_parameters), "helpers.overview.count_parameters")
    _refused(check(lambda m, f=OV.count_parameters: f(m)), "helpers.overview.count_parameters")
    _refused(check(lambda m: sum(t.numel() for t in m.state_dict().values())), "缓冲区")
    _refused(check(lambda m: sum(p.numel() for n, p in m.named_parameters() if "bias" not in n)), "偏置")

    def per_layer(model):                                  # a layer shared twice in a Sequential counted per use
        return sum(p.numel() for layer in (model if isinstance(model, nn.Sequential) else [model])
                   for p in layer.parameters())

    _refused(check(per_layer), "两次")
    _refused(check(lambda m: [count(m)]), "整数")
    _refused(check(lambda m: str(count(m))), "整数")
    for junk in GARBAGE:
        _refused(check(junk))


def _confusion(y_true, y_pred, num_classes):
    cm = torch.zeros(num_classes, num_classes, dtype=torch.long)
    for t, p in zip(y_true.tolist(), y_pred.tolist()):
        cm[t, p] += 1
    return cm


def test_confusion_matrix():
    check = ex_ov.check_confusion_matrix
    assert check(_confusion).ok
    assert check(lambda t, p, c: np.bincount(t.numpy() * c + p.numpy(), minlength=c * c).reshape(c, c)).ok
    from sklearn.metrics import confusion_matrix
    for via_sklearn in (lambda t, p, c: confusion_matrix(t, p, labels=list(range(c))), confusion_matrix,
                        lambda t, p, c: torch.as_tensor(confusion_matrix(t, p, labels=list(range(c))))):
        _refused(check(via_sklearn), "sklearn")
    _refused(check(OV.confusion_matrix), "helpers.overview.confusion_matrix")
    _refused(check(lambda t, p, c: OV.confusion_matrix(t, p, c)), "helpers.overview.confusion_matrix")
    _refused(check(lambda t, p, c: _confusion(t, p, 3)))     # ignores num_classes
    _refused(check(lambda t, p, c: "[[2, 0]]"))
    _refused(check(lambda t, p, c: _confusion(t, p, c).T), "反了")
    _refused(check(lambda t, p, c: _confusion(t, p, int(max(t.max(), p.max())) + 1)), "num_classes")
    for junk in GARBAGE:
        _refused(check(junk))


def test_per_class_recall():
    check = ex_ov.check_per_class_recall
    assert check(lambda cm: cm.diagonal() / cm.sum(dim=1)).ok
    _refused(check(lambda cm: cm.diagonal() / cm.sum(dim=0)), "精确率", "precision")
    _refused(check(lambda cm: cm.diagonal().sum() / cm.sum()), "准确率")
    _refused(check(lambda cm: "0.9"))
    _refused(check(lambda cm: torch.stack([cm[i, i] / cm[i].sum() for i in range(3)])), "4 个类")
    from sklearn.metrics import recall_score
    _refused(check(lambda cm: torch.tensor(recall_score([0, 1], [0, 1], average=None))), "sklearn")
    for junk in GARBAGE:
        _refused(check(junk))


# ----------------------------------------------------------------------------- 01 tensors, 03 init
def test_tensor_exercises_take_any_form():
    assert (torch.ones(2, 1, 3) + torch.ones(4, 1)).shape == (2, 4, 3)
    for form in ((2, 4, 3), [2, 4, 3], torch.Size([2, 4, 3]), (np.int64(2), torch.tensor(4), 3)):
        assert ex_tensors.check_broadcast_result(form).ok
    _refused(ex_tensors.check_broadcast_result("243"), "字符串")     # its digits spell the right shape
    for wrong in ((4, 3), (2, 1, 3), (2, 3, 4), 5, "(2, 4, 3)", b"243", (2.0, 4.0, 3.0), (2, 4, True)):
        _refused(ex_tensors.check_broadcast_result(wrong))
    assert ex_tensors.check_center_rows(lambda x: x - x.mean(dim=1, keepdim=True)).ok
    _refused(ex_tensors.check_center_rows(lambda x: x - x.mean(dim=1)), "方阵")

    def no_keepdim_unless_it_fails(x):                     # right on every shape but the square one
        m = x.mean(dim=1)
        return x - (m if x.shape[0] == x.shape[1] else m[:, None])

    for wrong in (no_keepdim_unless_it_fails, lambda x: x - x.mean(dim=0), lambda x: x - x.mean()):
        _refused(ex_tensors.check_center_rows(wrong))
    x = torch.tensor(1.0, requires_grad=True)
    (x ** 2 * torch.exp(x)).backward()
    for form in (3 * math.e, np.float64(3 * math.e), torch.tensor(3 * math.e), x.grad):
        assert ex_tensors.check_grad_value(form).ok
    _refused(ex_tensors.check_grad_value([3 * math.e]), "数")
    _refused(ex_tensors.check_grad_value(math.e), "函数值")
    for wrong in (2 * math.e, "8.15", [8.15, 1.0]):
        _refused(ex_tensors.check_grad_value(wrong))
    for junk in GARBAGE:
        _refused(ex_tensors.check_center_rows(junk))


def test_tanh_init_wants_random_uniform_weights():
    check = ex_init.check_tanh_init
    gain = nn.init.calculate_gain("tanh")

    def right(layer):
        nn.init.xavier_uniform_(layer.weight, gain=gain)
        nn.init.zeros_(layer.bias)

    def evenly_spaced(layer):
        bound = gain * math.sqrt(6 / sum(layer.weight.shape))
        n = layer.weight.numel()
        layer.weight.copy_(torch.linspace(-bound, bound, n)[torch.randperm(n)].reshape(layer.weight.shape))
        layer.bias.zero_()

    def seeded(layer):
        torch.manual_seed(0)
        right(layer)

    def normal(layer):
        nn.init.xavier_normal_(layer.weight, gain=gain)
        layer.bias.zero_()

    def no_gain(layer):
        nn.init.xavier_uniform_(layer.weight)
        nn.init.zeros_(layer.bias)

    def keeps_bias(layer):
        nn.init.xavier_uniform_(layer.weight, gain=5 / 3)

    assert check(right).ok
    for wrong in (no_gain, keeps_bias, lambda layer: None, 3):
        _refused(check(wrong))
    _refused(check(evenly_spaced), "随机")
    _refused(check(seeded), "相同")
    _refused(check(normal))
    for junk in GARBAGE:
        _refused(check(junk))
    for form in ((240, 480), [240, 480], (np.int64(240), torch.tensor(480))):
        assert ex_init.check_conv_fans(form).ok
    _refused(ex_init.check_conv_fans("240, 480"), "二元组")
    for wrong in ((480, 240), (16, 32), 240):
        _refused(ex_init.check_conv_fans(wrong))
    for form in (math.sqrt(2 / ((1 + 0.2 ** 2) * 128)), 0.12257):
        assert ex_init.check_leaky_kaiming_std(form).ok
    _refused(ex_init.check_leaky_kaiming_std([0.12257]), "数")
    for wrong in (math.sqrt(2 / 128), 0.5, "0.12", [0.12257, 1.0]):
        _refused(ex_init.check_leaky_kaiming_std(wrong))


# ----------------------------------------------------------------------------- more routes around the watch
@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated", "ignore:The PyTorch API of nested tensors")
def test_other_threads_compiled_and_scripted_routes_are_refused():
    import threading

    def in_a_thread(x, w):
        out = {}
        worker = threading.Thread(target=lambda: out.setdefault("y", F.conv2d(x[None], w)[0]))
        worker.start()
        worker.join()
        return out["y"]

    _refused(ex_cnn.check_my_conv2d(in_a_thread), "线程")
    scripted = torch.jit.script(lambda_free_conv)
    _refused(ex_cnn.check_my_conv2d(scripted), "conv")
    _refused(ex_act.check_tanh_from_sigmoid(lambda x: torch.tan(x * 1j).imag), "tan")
    _refused(ex_act.check_tanh_from_sigmoid(lambda x: x - F.tanhshrink(x)), "tanh")
    _refused(ex_act.check_log_softmax(lambda z, dim=-1: z - z.logcumsumexp(dim).narrow(dim, z.shape[dim] - 1, 1)),
             "logcumsumexp")

    def nested(batch):
        padded = torch.nested.nested_tensor([s for s, _ in batch]).to_padded_tensor(0)
        return (padded, torch.tensor([len(s) for s, _ in batch])), torch.tensor([y for _, y in batch])

    _refused(ex_dl.check_pad_collate(nested))


def lambda_free_conv(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return F.conv2d(x.unsqueeze(0), w)[0]


# ----------------------------------------------------------------------------- what the exercise texts claim
def test_log_softmax_exercise_text():
    """02: log of the stable softmax still gives log 0 = -inf at [1000, 0]; the stable log-softmax gives [0, -1000]."""
    z = torch.tensor([1000.0, 0.0])
    assert torch.log(act.softmax(z)).tolist() == [0.0, -math.inf]
    assert _log_softmax(z).tolist() == [0.0, -1000.0]


def test_pseudo_huber_exercise_text():
    """04: ~ e²/2 for |e| << δ, ~ δ|e| - δ² for |e| >> δ, gradient e/√(1+(e/δ)²) bounded by δ; Huber's second
    derivative jumps from 1 to 0 at |e| = δ."""
    for delta in (0.5, 1.0, 3.0):
        small, large = torch.tensor([1e-3 * delta], dtype=torch.float64), torch.tensor([1e4 * delta], dtype=torch.float64)
        zero = torch.zeros(1, dtype=torch.float64)
        assert math.isclose(_pseudo_huber(small, zero, delta).item(), 0.5 * small.item() ** 2, rel_tol=1e-5)
        assert math.isclose(_pseudo_huber(large, zero, delta).item(), delta * large.item() - delta ** 2, rel_tol=1e-5)
        e = torch.linspace(-50, 50, 2001, dtype=torch.float64, requires_grad=True)
        (grad,) = torch.autograd.grad(_pseudo_huber(e, torch.zeros_like(e), delta) * len(e), e)
        assert torch.allclose(grad, e / torch.sqrt(1 + (e / delta) ** 2)) and grad.abs().max() < delta
        d = torch.tensor([delta - 1e-3, delta + 1e-3], dtype=torch.float64, requires_grad=True)
        (g1,) = torch.autograd.grad(F.huber_loss(d, torch.zeros(2, dtype=torch.float64), reduction="sum", delta=delta),
                                    d, create_graph=True)
        (g2,) = torch.autograd.grad(g1.sum(), d)
        assert g2.tolist() == [1.0, 0.0]


def test_a_check_takes_milliseconds_once_warm(capsys):
    """Not a timed assert: prints how long one check of each function exercise takes (for the record)."""
    import time
    answers = [(ex_act.check_log_softmax, _log_softmax), (ex_cnn.check_my_conv2d, _conv_loops),
               (ex_cnn.check_my_conv2d, _conv_unfold), (ex_reg.check_inverted_dropout, _dropout),
               (ex_reg.check_batch_norm_train, _batch_norm), (ex_optim.check_adam_step, _adam_step),
               (ex_rnn.check_my_rnn, _my_rnn), (ex_dl.check_squares_dataset, Squares)]
    with capsys.disabled():
        for check, answer in answers:
            check(answer)
            start = time.perf_counter()
            assert check(answer).ok
            print(f"\n{check.__name__}({getattr(answer, '__name__', answer)}): {1e3 * (time.perf_counter() - start):.0f} ms",
                  end="")


def test_a_tensor_subclass_that_lies_about_comparisons_is_refused():
    class AlwaysEqual(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            result = super().__torch_function__(func, types, args, kwargs or {})
            return True if func in (torch.allclose, torch.equal, torch.Tensor.__eq__) else result

    _refused(ex_cnn.check_my_conv2d(lambda x, w: torch.zeros(3).as_subclass(AlwaysEqual)), "普通")
    _refused(ex_dl.check_pad_collate(lambda b: ((torch.zeros(1).as_subclass(AlwaysEqual), torch.zeros(1)),
                                                torch.zeros(1))), "普通")


# ----------------------------------------------------------------------------- every checker, any garbage
_ALL_MODULES = (ex_act, ex_cnn, ex_dl, ex_init, ex_loss, ex_optim, ex_ov, ex_reg, ex_rnn, ex_sched, ex_tensors)
_ALL_CHECKS = [getattr(m, name) for m in _ALL_MODULES for name in dir(m) if name.startswith("check_")]


class _Weird:
    def __eq__(self, other):
        return True

    def __len__(self):
        raise TypeError("no length")


@pytest.mark.parametrize("check", _ALL_CHECKS, ids=lambda c: f"{c.__module__.rpartition('.')[2]}.{c.__name__}")
def test_every_checker_answers_garbage_with_feedback(check):
    none = check(None)
    assert not none.answered and not none.ok and none.message and "还没有作答" in repr(none)
    for junk in ("abc", b"abc", [1], (1, 2, 3), {}, _Weird(), float("nan"), True, object, _raises,
                 lambda *a, **k: None, lambda *a, **k: _Weird(), torch.zeros(2, 2), np.ones(3)):
        feedback = check(junk)
        assert isinstance(feedback, core.Feedback) and feedback.answered and not feedback.ok, (junk, feedback)
        assert feedback.message


def test_reference_decompositions_are_refused():
    """torch._refs and torch._decomp rebuild a built-in from smaller operators: the Python that does it is seen."""
    import torch._decomp
    import torch._refs
    aten = torch.ops.aten
    dropout_decomposition = torch._decomp.decomposition_table[aten.native_dropout.default]
    _refused(ex_reg.check_inverted_dropout(lambda x, p: dropout_decomposition(x, p, True)[0]), "torch._decomp")
    _refused(ex_act.check_log_softmax(lambda z, dim=-1: torch._refs.log_softmax(z, dim)), "torch._refs")
    _refused(ex_act.check_tanh_from_sigmoid(lambda x: torch._refs.tanh(x)))


def test_confusion_matrix_through_scipy_is_refused():
    import scipy.sparse

    def via_scipy(t, p, c):
        return torch.tensor(scipy.sparse.coo_matrix((np.ones(len(t)), (t.numpy(), p.numpy())), shape=(c, c)).toarray())

    _refused(ex_ov.check_confusion_matrix(via_scipy), "scipy")


def test_an_answer_that_edits_its_inputs_is_refused():
    """Zeroing x and w in place would make the reference conv(0, 0) = 0 agree with a zero answer."""
    def zero_inputs(x, w):
        with torch.no_grad():
            x.zero_()
            w.zero_()
        return (x[:, :x.shape[1] - w.shape[-1] + 1, :x.shape[2] - w.shape[-1] + 1].sum(0) * w.sum()).expand(
            w.shape[0], -1, -1)

    _refused(ex_cnn.check_my_conv2d(zero_inputs), "原地修改")

    def normalise_in_place(x, g, b, eps):
        with torch.no_grad():
            x.sub_(x.mean(0)).div_(torch.sqrt(x.var(0, unbiased=False) + eps))
        return g * x + b

    _refused(ex_reg.check_batch_norm_train(normalise_in_place), "原地修改")
    _refused(ex_act.check_tanh_from_sigmoid(lambda x: x.data.copy_(torch.tanh(x.data)) * 0 + x), "tanh")
