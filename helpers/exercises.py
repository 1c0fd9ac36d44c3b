"""Answer checkers for the chapters' exercises.

Every ``check_*`` function returns a :class:`Feedback` (right or wrong, with a hint)
and never raises on a wrong answer: a learner's mistake is a message, not a traceback.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch

__all__ = ["Feedback", "not_answered", "close_to", "run_check"]


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
        a = torch.as_tensor(answer, dtype=torch.float64)
        e = torch.as_tensor(expected, dtype=torch.float64)
        return a.shape == e.shape and bool(torch.allclose(a, e, atol=atol, rtol=rtol, equal_nan=True))
    except Exception:
        return False


def run_check(test: Callable[[], bool], ok_message: str, hint: str) -> Feedback:
    """Run ``test()``; any exception or a false result becomes a wrong answer with ``hint``."""
    try:
        passed = bool(test())
    except Exception as exc:  # the learner's code failed: report it as a hint
        return Feedback(False, f"{hint}（运行时出错：{type(exc).__name__}: {exc}）")
    return Feedback(True, ok_message) if passed else Feedback(False, hint)


# ---- 第1章 张量 (tensors) ------------------------------------------------------------


def check_broadcast_result(answer: Any) -> Feedback:
    """Exercise: the shape of ``torch.ones(2, 1, 3) + torch.ones(4, 1)``, as a tuple."""
    if answer is None:
        return not_answered()
    expected = tuple(torch.broadcast_shapes((2, 1, 3), (4, 1)))
    try:
        got = tuple(int(s) for s in answer)
    except Exception:
        return Feedback(False, "请交一个由整数组成的元组，例如 (5, 6, 7)。")
    if got == expected:
        return Feedback(True, f"右对齐后 (2, 1, 3) 与 (1, 4, 1) 逐维比较，得到 {expected}。")
    if len(got) != len(expected):
        return Feedback(False, "结果的维数等于两个形状中较长的那个：短的形状在左边补 1。")
    return Feedback(False, "从右往左对齐：(2, 1, 3) 对 (_, 4, 1)。每一维要么相等，要么有一个是 1，结果取不是 1 的那个。")


def check_center_rows(fn: Any) -> Feedback:
    """Exercise: ``fn(x)`` returns ``x`` with each row's mean subtracted from that row (``x`` of shape (n, m))."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 center_rows(x)，它返回新的张量。")
    gen = torch.Generator().manual_seed(1)
    xs = [torch.randn(3, 4, generator=gen), torch.randn(5, 2, generator=gen), torch.randn(4, 4, generator=gen)]

    def test() -> bool:
        for x in xs:
            out = fn(x.clone())
            expected = x - x.mean(dim=1, keepdim=True)
            if not (isinstance(out, torch.Tensor) and out.shape == x.shape
                    and torch.allclose(out, expected, atol=1e-5)):
                return False
        return True

    return run_check(test, "x.mean(dim=1, keepdim=True) 的形状是 (n, 1)，广播到 (n, m) 后每行减去自己的均值。",
                     "按行求均值用 dim=1，并加 keepdim=True 让结果形状是 (n, 1)。小心方阵："
                     "(4, 4) 减去形状 (4,) 的均值不会报错，却把第 j 行的均值减在了第 j 列上。")


def check_grad_value(answer: Any) -> Feedback:
    r"""Exercise: $f'(1)$ for $f(x) = x^2 e^x$, computed with autograd (a number or a 0-d tensor)."""
    if answer is None:
        return not_answered()
    x = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    (x ** 2 * torch.exp(x)).backward()
    expected = x.grad.item()
    if isinstance(answer, torch.Tensor):
        answer = answer.detach()
    if close_to(answer, expected, atol=1e-4):
        return Feedback(True, f"f'(x) = (2x + x²)eˣ，在 x = 1 处等于 3e ≈ {expected:.4f}。")
    if close_to(answer, torch.e, atol=1e-4):
        return Feedback(False, "这是函数值 f(1) = e，不是导数：先调用 y.backward()，再读 x.grad。")
    return Feedback(False, "用 x = torch.tensor(1.0, requires_grad=True) 建叶子张量，算 y = x**2 * torch.exp(x)，"
                           "调用 y.backward() 后答案在 x.grad 里。")
# ---- end 第1章 -----------------------------------------------------------------------

# ---- 第2章 激活函数 (activations) -----------------------------------------------------


def check_stable_softmax(fn: Any) -> Feedback:
    r"""Exercise: ``fn(z, dim)`` $= e^{z_i - \max z} / \sum_j e^{z_j - \max z}$ along ``dim``, finite for huge logits."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 my_softmax(z, dim=-1)，它返回和 z 形状相同的张量。")
    gen = torch.Generator().manual_seed(7)
    z = torch.randn(3, 4, 5, generator=gen, dtype=torch.float64) * 5
    big = torch.tensor([[1000.0, 0.0, -5.0], [-1000.0, -1001.0, -999.0]], dtype=torch.float64)

    def same(out: Any, expected: torch.Tensor) -> bool:
        return isinstance(out, torch.Tensor) and out.shape == expected.shape and bool(
            torch.allclose(out.double(), expected, atol=1e-6, equal_nan=False))

    def small_ok() -> bool:
        return all(same(fn(z.clone(), dim=d), torch.softmax(z, dim=d)) for d in (0, 1, -1))

    def big_ok() -> bool:
        return same(fn(big.clone(), dim=1), torch.softmax(big, dim=1))

    first = run_check(small_ok, "", "先让普通大小的 z 算对：沿 dim 求和时加 keepdim=True，分母才能广播回 z 的形状；"
                                    "dim=0、1、-1 都要对。")
    if not first.ok:
        return first
    return run_check(big_ok, "数值稳定：先减去沿 dim 的最大值（keepdim=True），指数最大为 e⁰ = 1，不会溢出，结果不变。",
                     "小数值已经对了，但 z = [1000, 0] 时 e¹⁰⁰⁰ 溢出成 inf，inf / inf = nan。"
                     "利用平移不变性：先减去 z.amax(dim=dim, keepdim=True)。")


def check_tanh_from_sigmoid(fn: Any) -> Feedback:
    r"""Exercise: ``fn(x)`` $= 2\sigma(2x) - 1$, i.e. tanh written with ``torch.sigmoid`` only."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 my_tanh(x)，它返回和 x 形状相同的张量。")
    x = torch.linspace(-10, 10, 401, dtype=torch.float64)

    def test() -> bool:
        out = fn(x.clone())
        return isinstance(out, torch.Tensor) and out.shape == x.shape and bool(
            torch.allclose(out.double(), torch.tanh(x), atol=1e-6))

    return run_check(test, "tanh(x) = 2σ(2x) − 1：tanh 是把 sigmoid 横向压缩一半、纵向拉伸到 (−1, 1) 的版本，"
                           "所以它饱和得也快一倍。",
                     "把 tanh 的分子分母同除以 eˣ 得 (1 − e^{−2x}) / (1 + e^{−2x})，再和 σ(2x) = 1 / (1 + e^{−2x}) 比较。"
                     "提示：值域 (0, 1) 要变成 (−1, 1)。")


def _dead_fraction_exercise() -> float:
    """The answer to the dead-unit exercise, recomputed without touching the global RNG state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(2)
        layer = torch.nn.Linear(4, 100)
        torch.nn.init.constant_(layer.bias, -2.0)
        x = torch.randn(500, 4)
        with torch.no_grad():
            z = layer(x)
    return ((z > 0).sum(dim=0) == 0).double().mean().item()


def check_dead_fraction(answer: Any) -> Feedback:
    """Exercise: the fraction of the 100 units of the seeded ``Linear(4, 100)`` (bias -2) never active on ``x``."""
    if answer is None:
        return not_answered()
    if isinstance(answer, torch.Tensor):
        answer = answer.detach()
    expected = _dead_fraction_exercise()
    if close_to(answer, expected, atol=1e-6):
        return Feedback(True, f"{expected:.0%} 的单元在全部 500 个样本上 z ≤ 0：它们的输出和梯度恒为 0，参数再也不会更新。")
    if close_to(answer, 1 - expected, atol=1e-6):
        return Feedback(False, "你算的是“至少激活过一次”的比例；题目问的是从未激活（死亡）的比例。")
    return Feedback(False, "死亡单元 = 对所有样本都有 z ≤ 0 的单元：用 (z > 0).sum(dim=0) == 0 逐列判断，"
                           "再对 100 个单元取平均（.float().mean()）。注意要按单元（列）而不是按样本统计。")
# ---- end 第2章 -----------------------------------------------------------------------

# ---- 第3章 参数初始化 (initialization) -------------------------------------------------


def check_conv_fans(answer: Any) -> Feedback:
    """Exercise: ``(fan_in, fan_out)`` of ``nn.Conv2d(16, 32, kernel_size=(3, 5))``."""
    if answer is None:
        return not_answered()
    from torch import nn

    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(nn.Conv2d(16, 32, kernel_size=(3, 5)).weight)
    if close_to(answer, [fan_in, fan_out], atol=0, rtol=0):
        return Feedback(True, f"fan_in = 16·3·5 = {fan_in}，fan_out = 32·3·5 = {fan_out}，与 PyTorch 的计算一致。")
    if close_to(answer, [16, 32], atol=0, rtol=0) or close_to(answer, [fan_out, fan_in], atol=0, rtol=0):
        return Feedback(False, "卷积层的 fan 要乘上卷积核面积 kernel_h·kernel_w，而且顺序是 (fan_in, fan_out)。")
    return Feedback(False, "fan_in = 输入通道数 × 卷积核高 × 卷积核宽，fan_out = 输出通道数 × 卷积核高 × 卷积核宽；"
                           "请交一个二元组 (fan_in, fan_out)。")


def check_leaky_kaiming_std(answer: Any) -> Feedback:
    """Exercise: the std kaiming_normal_ uses for LeakyReLU(negative_slope=0.2) and fan_in = 128."""
    if answer is None:
        return not_answered()
    import math

    from torch import nn

    expected = nn.init.calculate_gain("leaky_relu", 0.2) / math.sqrt(128)
    if close_to(answer, expected, atol=1e-4, rtol=1e-3):
        return Feedback(True, f"E[a²] = (1 + 0.2²)/2 · Var(z)，所以 Var(w) = 2 / ((1 + 0.04)·128)，std ≈ {expected:.5f}。")
    if close_to(answer, math.sqrt(2 / 128), atol=1e-4, rtol=1e-3):
        return Feedback(False, "这是 ReLU（斜率 0）的结果：负半轴还保留了 0.2·z，二阶矩不再正好减半。")
    return Feedback(False, "先算 LeakyReLU 输出的二阶矩 E[a²] 与 Var(z) 的比值，再令 fan_in·Var(w)·这个比值 = 1。")


def check_tanh_init(fn: Any) -> Feedback:
    """Exercise: ``fn(layer)`` fills an nn.Linear with xavier_uniform_ (tanh gain) and zero bias."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 init_tanh_layer(layer)，它原地修改 layer 的参数。")
    import math

    from torch import nn

    layer = nn.Linear(300, 100)
    bound = nn.init.calculate_gain("tanh") * math.sqrt(6 / (300 + 100))

    def test() -> bool:
        with torch.no_grad():
            fn(layer)
        w = layer.weight.detach()
        return (bool((layer.bias == 0).all()) and w.abs().max().item() <= bound * (1 + 1e-6)
                and w.abs().max().item() >= 0.98 * bound and close_to(w.std().item(), bound / math.sqrt(3), rtol=0.03))

    return run_check(test, f"权重是 U(±{bound:.4f})（gain = 5/3），偏置全为 0。",
                     "用 nn.init.xavier_uniform_(layer.weight, gain=nn.init.calculate_gain('tanh'))，"
                     "再用 nn.init.zeros_(layer.bias)。")
# ---- end 第3章 -----------------------------------------------------------------------

# ---- 第4章 损失函数 (losses) ------------------------------------------------------------
_CE_LOGITS = [[0.5, 1.5, -1.0], [2.0, 0.0, 0.5], [-0.5, 1.0, 1.5], [1.0, 0.5, 0.0]]
_CE_TARGET = [1, 0, 2, 2]


def check_cross_entropy_by_hand(answer: Any) -> Feedback:
    """Exercise: the mean cross-entropy of ``_CE_LOGITS`` / ``_CE_TARGET`` computed by hand."""
    if answer is None:
        return not_answered()
    import torch.nn.functional as F

    logits, target = torch.tensor(_CE_LOGITS), torch.tensor(_CE_TARGET)
    if close_to(answer, F.cross_entropy(logits, target).item()):
        return Feedback(True, "和 F.cross_entropy(logits, target) 一致：-log softmax 取真实类别，再对 N 个样本求平均。")
    if close_to(answer, F.cross_entropy(logits, target, reduction="sum").item()):
        return Feedback(False, "这是求和（reduction='sum'）的结果：别忘了除以样本数 N。")
    if close_to(answer, F.cross_entropy(torch.softmax(logits, 1), target).item()):
        return Feedback(False, "看起来 softmax 被做了两次：CrossEntropyLoss 的输入是 logits，不是概率。")
    return Feedback(False, "先用 softmax 把每一行 logits 变成概率，取每个样本真实类别那一列的 -log，再求平均。")


def check_my_huber(fn: Any) -> Feedback:
    """Exercise: ``fn(y_hat, y, delta)`` returns the mean Huber loss (equal to ``F.huber_loss``)."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 my_huber(y_hat, y, delta)，而不是一个数。")
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(4)
    y_hat, y = 3 * torch.randn(64, generator=g), 3 * torch.randn(64, generator=g)
    try:
        smooth = all(close_to(fn(y_hat, y, d), F.smooth_l1_loss(y_hat, y, beta=d).item()) for d in (0.5, 2.0))
    except Exception:
        smooth = False
    if smooth:
        return Feedback(False, "这是 SmoothL1Loss(beta=δ)：它等于 Huber/δ。小误差段应为 ½e²（不除以 δ），大误差段为 δ|e| − ½δ²。")
    return run_check(
        lambda: all(close_to(fn(y_hat, y, d), F.huber_loss(y_hat, y, delta=d).item()) for d in (0.5, 1.0, 2.0)),
        "和 F.huber_loss 在 δ = 0.5、1、2 时都一致。",
        "对比 F.huber_loss(y_hat, y, delta=δ)：|e| ≤ δ 时取 ½e²，否则取 δ|e| − ½δ²，最后对所有元素求平均。",
    )


def check_mse_critical_lr(answer: Any) -> Feedback:
    """Exercise: the largest learning rate for which gradient descent on (2w-3)^2 still converges (0.25)."""
    if answer is None:
        return not_answered()
    if close_to(answer, 0.25, atol=1e-3, rtol=0):
        return Feedback(True, "e_{t+1} = (1 − 8η)·e_t，|1 − 8η| < 1 ⇔ 0 < η < 0.25；η = 0.25 时恰好在 ±e 之间来回跳。")
    if close_to(answer, 0.5, atol=1e-3, rtol=0) or close_to(answer, 0.125, atol=1e-3, rtol=0):
        return Feedback(False, "差了一个 2 倍：(2w−3)² 对 w 的导数是 4(2w−3)，误差 e = 2w−3 每步乘以 (1 − 8η)。")
    return Feedback(False, "写出误差 e = 2w − 3 的一步更新 e_{t+1} = (1 − c·η)·e_t，再求 |1 − c·η| < 1 的边界。")


def check_stable_bce_with_logits(fn: Any) -> Feedback:
    """Exercise: ``fn(z, y)`` is a numerically stable mean BCE-with-logits (finite for |z| = 1000)."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 bce_with_logits(z, y)。")
    import torch.nn.functional as F

    z = torch.tensor([-1000.0, -30.0, -2.0, 0.0, 1.5, 30.0, 1000.0, -1000.0, 1000.0])
    y = torch.tensor([1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0])
    expected = F.binary_cross_entropy_with_logits(z, y).item()
    return run_check(
        lambda: close_to(fn(z, y), expected, rtol=1e-5),
        "和 F.binary_cross_entropy_with_logits 一致，|z| = 1000 时也没有 inf/nan。",
        "先对普通大小的 z 验证公式，再看 z = ±1000：sigmoid 会变成 0 或 1，log 就成了 -inf。"
        "把 log σ(z) 与 log(1 − σ(z)) 改写成只含 e^{−|z|} 的形式（torch.log1p 有用）。",
    )
# ---- end 第4章 -----------------------------------------------------------------------
