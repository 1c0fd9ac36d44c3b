# %% [markdown]
# # 第5章 梯度下降优化算法 (Optimizers)
#
# **学习目标**
#
# - 分清 epoch、batch、iteration，并能在曲面上指出梯度下降会卡住的四种地形：局部极小、鞍点、平台、对起点敏感
# - 从指数移动平均（EMA）出发理解动量、RMSProp 和 Adam，会推导并验证 Adam 的偏置修正
# - 说清笔记的动量公式和 PyTorch `SGD(momentum=...)` 的区别，知道两者在什么设置下**完全相同**
# - 在二次函数上找到 Goh（Distill, 2017）给出的最优学习率与动量，并在交互面板里亲手验证
# - 用 `torch.optim` 正确写出 SGD/动量、AdaGrad、RMSProp、Adam、AdamW 的训练循环，并在同一个网络上比较它们
#
# **预计用时**：90–120 分钟
#
# **先修**：第1章 张量（autograd 求梯度）、第4章 损失函数（损失与梯度、`gd_1d_panel` 里的学习率实验）

# %%
import math

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, RandomSampler

from helpers import optim, show_source
from helpers.data import SURFACES, digits
from helpers.exercises import optim as exercises
from helpers.panels.optim import adaptive_lr_panel, ema_panel, gd_limits_figure, momentum_panel, optimizer_race_panel
from helpers.plotting import show
from helpers.training import accuracy, fit, plot_histories

torch.set_num_threads(1)  # 本章的模型都很小，单线程最快

# %% [markdown]
# 第4章把"模型有多差"压成了一个数：损失。训练就是反复做一件事：算出损失对参数的梯度，沿着负梯度方向把参数挪一小步。
# **怎样**挪这一步，就是优化器（optimizer）要回答的问题。本章从最朴素的梯度下降出发，看它在哪些地形上吃亏，再依次引入**动量**（Momentum）、AdaGrad、RMSProp、Adam 和 AdamW。
#
# 每个优化器的公式都在 `helpers/optim.py` 里照着写成了一个 `torch.optim.Optimizer` 子类，本章逐个拿它们和 `torch.optim` 比轨迹，差别要小到 $10^{-9}$。

# %% [markdown]
# ## 1. 基础参数：epoch、batch、iteration
#
# - **epoch**（轮）：把整个训练集完整地用一遍——每个样本都参与一次前向传播、反向传播和参数更新。
# - **batch_size**（批大小）：每次更新参数时用多少个样本来估计梯度。训练集被切成若干个**小批量**（mini-batch），轮流用来更新参数。
# - **iteration**（迭代，也叫 step）：参数被更新一次。
#
# 所以一个 epoch 里的 iteration 数是 $\lceil N / B \rceil$（$N$ 是训练样本数，$B$ 是批大小；最后一批可能不满，除非设 `drop_last=True`）。
# 用本课程的手写数字数据（digits，8×8 灰度图）算一下：

# %%
# NBVAL_CHECK_OUTPUT
(X_train, y_train), (X_val, y_val) = digits()
N, B = len(X_train), 64
loader = DataLoader(list(range(N)), batch_size=B, shuffle=True)
print(f"N = {N}，batch_size = {B}")
print(f"每个 epoch 的 iteration 数：ceil(N/B) = {math.ceil(N / B)}，len(loader) = {len(loader)}")
print(f"训练 10 个 epoch 一共更新参数 {10 * len(loader)} 次")

# %% [markdown]
# 笔记说"同一个 epoch 内，不同 batch 之间没有重复样本"。这对默认的打乱方式（`shuffle=True`，每个 epoch 做一次随机排列）成立；
# 但如果换成**有放回**的采样器 `RandomSampler(replacement=True)`，一个 epoch 里同一个样本可以出现好几次，另一些样本一次也不出现。
#
# **验证**：`shuffle=True` 时一个 epoch 恰好把每个下标取一次；有放回采样时有重复。

# %%
# NBVAL_CHECK_OUTPUT
seen = torch.cat([batch for batch in loader])
assert torch.equal(seen.sort().values, torch.arange(N))
sampler = RandomSampler(range(N), replacement=True, generator=torch.Generator().manual_seed(0))
drawn = torch.tensor(list(sampler))
repeats = len(drawn) - len(drawn.unique())
assert repeats > 0
print(f"shuffle=True：一个 epoch 取到 {len(seen.unique())} 个不同样本，共 {len(seen)} 次")
print(f"replacement=True：取了 {len(drawn)} 次，只有 {len(drawn.unique())} 个不同样本（{repeats} 次是重复的）")

# %% [markdown]
# ## 2. 梯度下降的局限
#
# 梯度下降（gradient descent）的更新式是 $\omega_t = \omega_{t-1} - \eta\,\nabla \mathcal{L}(\omega_{t-1})$，$\eta$ 是学习率（learning rate）。
# 它只看**当前位置**的坡度，因此在下面四种地形上会吃亏：
#
# 1. **局部极小**（local minimum）：损失不是凸函数时，顺着坡走到的谷底**不一定**是全局最低点（笔记写成"并非全局最优"，说得太绝对了：有时恰好就是）。
# 2. **鞍点**（saddle point）：梯度为 0，但某些方向向上、某些方向向下。从正好在"山脊"上的点出发，梯度下降会停在鞍点；稍微偏一点也要花不少步才能离开（下图从 $y = 0.01$ 出发，第 42 步 $|y|$ 才超过 0.5）。一般认为在高维空间里鞍点远比局部极小多（这是优化研究里的结论，本章不演示）。
# 3. **平台**（plateau）：坡度很小，每一步都挪得很少，看起来像"训练停了"。
# 4. **对起点敏感**：从不同的点出发，可能走进不同的谷底（下图右边 4 个起点走进了 4 个不同的极小点）。
#
# 下图在三个二维曲面上（四幅图，第一幅和第四幅是同一个曲面）用 `torch.optim.SGD` 的更新规则（学习率 0.05）各跑 120 步，圆点是起点，方块是终点，星号是极小点，X 是鞍点：

# %%
show(gd_limits_figure())

# %% [markdown]
# **验证**：用同样的设置检查图里的四个现象。

# %%
# NBVAL_CHECK_OUTPUT
def sgd_end(surface, start, steps=120, lr=0.05):
    path, losses = optim.optimize_path(surface.fn, start, lambda p: torch.optim.SGD(p, lr=lr), steps)
    return path[-1], losses[-1].item()

mm, sad = SURFACES["multi_minima"], SURFACES["saddle"]
f_global = min(mm.fn(torch.tensor(a), torch.tensor(b)).item() for a, b in mm.minima)
end, f_end = sgd_end(mm, (0.3, 2.2))
print(f"局部极小：终点 f = {f_end:.3f}，全局最小 f = {f_global:.3f}")
end_saddle, _ = sgd_end(sad, (-2.0, 0.0))
print(f"鞍点：从 y = 0 出发，120 步后停在 ({end_saddle[0]:.4f}, {end_saddle[1]:.1f})")
off_ridge, _ = optim.optimize_path(sad.fn, (-2.0, 0.01), lambda p: torch.optim.SGD(p, lr=0.05), 120)
leave = (off_ridge[:, 1].abs() > 0.5).nonzero()[0].item()
print(f"从 y = 0.01 出发：第 {leave} 步 |y| 才超过 0.5")
assert f_end > f_global + 0.5 and end_saddle.abs().max() < 1e-3 and leave == 42

# %%
# NBVAL_CHECK_OUTPUT
far, _ = sgd_end(SURFACES["plateau"], (-2.6, 2.0))
near, f_near = sgd_end(SURFACES["plateau"], (-0.9, 0.7))
moved = (far - torch.tensor([-2.6, 2.0], dtype=far.dtype)).norm().item()
print(f"平台：从 (-2.6, 2.0) 出发 120 步只挪了 {moved:.3f}；从 (-0.9, 0.7) 出发已降到 f = {f_near:.1e}")
ends = [sgd_end(mm, s)[0] for s in [(-2.2, 2.2), (2.2, 2.2), (-2.2, -2.2), (2.2, -1.0)]]
distinct = {tuple(e.round(decimals=2).tolist()) for e in ends}
print(f"对起点敏感：4 个起点走到了 {len(distinct)} 个不同的极小点")
assert moved < 0.1 and f_near < 1e-3 and len(distinct) == 4

# %% [markdown]
# ## 3. 指数移动加权平均（EMA）
#
# 后面的每个优化器都建立在一个简单的平均方法上：指数移动加权平均（exponential moving average, EMA）。给定序列 $x_1, x_2, \dots$，
#
# $$v_t = \beta\, v_{t-1} + (1-\beta)\, x_t,\qquad v_0 = 0,\quad \beta \in (0, 1)$$
#
# $\beta$ 是衰减系数（decay factor）。把递推式展开：
#
# $$v_t = (1-\beta)\,x_t + (1-\beta)\beta\, x_{t-1} + (1-\beta)\beta^2\, x_{t-2} + \cdots + (1-\beta)\beta^{t-1} x_1$$
#
# 第 $k$ 步以前的数据 $x_{t-k}$ 的权重是 $(1-\beta)\beta^k$：越新的数据权重越大，旧数据的权重按指数衰减，但永远不会变成 0。
# 权重大约在 $k \approx 1/(1-\beta)$ 步后衰减到 $1/e$，所以常说 EMA"大约平均了最近 $1/(1-\beta)$ 个数"（$\beta = 0.9$ 时约 10 个）。
#
# **开头的偏差**：因为 $v_0 = 0$，第一步 $v_1 = (1-\beta)x_1$，只有 $x_1$ 的十分之一（$\beta=0.9$）。原因是前 $t$ 步的权重之和不是 1，而是
#
# $$\sum_{k=0}^{t-1}(1-\beta)\beta^k = 1-\beta^t$$
#
# 除以它就得到**偏置修正**（bias correction）后的平均 $\hat v_t = v_t / (1-\beta^t)$，它的权重之和恰好是 1。$t$ 变大后 $\beta^t \to 0$，修正自动消失。
#
# `helpers.optim.ema` 就是这个递推式：

# %%
show_source(optim.ema)

# %%
# NBVAL_CHECK_OUTPUT
for beta in (0.9, 0.99):
    sums = [1 - beta ** t for t in (1, 2, 5, 10, 50)]
    print(f"beta = {beta}：t = 1, 2, 5, 10, 50 时权重之和 = {[round(s, 3) for s in sums]}")
x = torch.tensor([5.0, 5.0, 5.0, 5.0, 5.0], dtype=torch.float64)
print("常数序列 5 的 EMA：", [round(v, 4) for v in optim.ema(x, 0.9).tolist()])
print("偏置修正后       ：", [round(v, 4) for v in optim.ema(x, 0.9, bias_correction=True).tolist()])

# %% [markdown]
# **EMA 还用在哪里**：它只需要记住一个数，就能给出"最近一段"的平均，所以凡是要在线地平滑一串带噪声的数，都会用到它：
#
# - 平滑训练曲线：每个 batch 的损失抖得厉害，画图时常画它的 EMA（TensorBoard 的 smoothing 滑块就是 $\beta$）；
# - BatchNorm 的 `running_mean`/`running_var`（第7章）：每个 batch 做一次 $r \leftarrow (1-m)\,r + m\,\bar x$，`momentum` $m = 0.1$ 对应 $\beta = 0.9$；
# - 本章的动量、RMSProp 和 Adam：对梯度或梯度平方做 EMA。
#
# 下一格验证前两条。对一串噪声很大的曲线（下面面板里的同一种数据，5 个随机种子），$\beta = 0.6$ 的 EMA 离真实曲线的平均距离只有原始数据的 0.52–0.61 倍；
# 但 $\beta$ 不是越大越好：$\beta = 0.9$ 时 EMA 反而比原始数据**更远**，因为它滞后了，滞后带来的误差超过了去掉的噪声（这正是下面面板里噪声与滞后的取舍）。`nn.BatchNorm1d` 的 `running_mean` 正是 EMA 的一步。

# %%
# NBVAL_CHECK_OUTPUT
for seed in range(5):
    signal, noisy = optim.noisy_wave(seed=seed)
    raw_err = abs(noisy - signal).mean()
    ratio = {beta: abs(optim.ema(torch.from_numpy(noisy), beta, bias_correction=True).numpy() - signal).mean() / raw_err
             for beta in (0.6, 0.9)}
    print(f"seed {seed}：EMA 离真实曲线的平均距离 / 原始数据的：beta=0.6 {ratio[0.6]:.2f}，beta=0.9 {ratio[0.9]:.2f}")
    assert 0.45 < ratio[0.6] < 0.65 and ratio[0.9] > 1.0
bn = nn.BatchNorm1d(3)                        # momentum=0.1, running_mean starts at 0
batch = torch.randn(16, 3, generator=torch.Generator().manual_seed(0))
bn(batch)
assert torch.allclose(bn.running_mean, 0.9 * torch.zeros(3) + 0.1 * batch.mean(0))
print("BatchNorm 的 running_mean:", [round(v, 4) for v in bn.running_mean.tolist()],
      "= 0.1 * batch 均值:", [round(v, 4) for v in (0.1 * batch.mean(0)).tolist()])

# %% [markdown]
# 在面板里拖动 $\beta$：$\beta$ 越大，曲线越平滑，但**滞后**越多（读数里第二个波峰的滞后：不勾选修正时，$\beta \le 0.7$ 都是 3 步，$\beta = 0.99$ 是 45 步；勾选修正后 $\beta = 0.99$ 只滞后 13 步：修正因子在这一段（$t = 61$ 到 $120$）从 2.2 降到 1.4，靠前的点被抬得更多，最高点就提前了），开头被 $v_0 = 0$ 拉低的那一段也越长。
# 勾选 "bias correction" 后开头的凹陷消失；修正因子 $1/(1-\beta^t)$ 在 $t$ 比 $1/(1-\beta)$ 大很多以后才趋于 1，所以 $\beta = 0.9$ 时 50 步以后几乎不变，$\beta = 0.99$ 时整段 150 步都被明显抬高（第 150 步还乘了 1.28）。右边是权重 $(1-\beta)\beta^k$，橙色竖线标出 $1/(1-\beta)$。

# %%
ema_panel()

# %% [markdown]
# **验证**：面板上的几句话在滑块的每一个值（$\beta$ 从 0.5 到 0.99，步长 0.01）上成立：越大越平滑、滞后越多（勾不勾选修正都是）；滞后的步数；修正因子在上面说的位置的大小；$\beta^{1/(1-\beta)} \approx 1/e$。

# %%
# NBVAL_CHECK_OUTPUT
signal, noisy = optim.noisy_wave()
slider = [round(0.5 + 0.01 * k, 2) for k in range(50)]          # every value of the beta slider
for correct in (False, True):
    rough, lag = [], {}
    for beta in slider:
        v = optim.ema(torch.from_numpy(noisy), beta, bias_correction=correct).numpy()
        rough.append(float(abs(v[1:] - v[:-1]).mean()))
        lag[beta] = int(v[60:120].argmax() - signal[60:120].argmax())
    print(f"修正 {correct}：平均每步跳动 {rough[0]:.3f} -> {rough[-1]:.3f}；波峰滞后（beta = 0.5, 0.7, 0.9, 0.99）：",
          [lag[b] for b in (0.5, 0.7, 0.9, 0.99)])
    assert all(a > b for a, b in zip(rough, rough[1:])) and all(a <= b for a, b in zip(lag.values(), list(lag.values())[1:]))
    assert {lag[b] for b in slider if b <= 0.7} == {3} and lag[0.99] == (13 if correct else 45)

# %%
# NBVAL_CHECK_OUTPUT
print(f"修正因子：beta=0.9 第 50 步 {1 / (1 - 0.9 ** 50):.4f}，beta=0.99 第 61、120、150 步 "
      f"{1 / (1 - 0.99 ** 61):.2f}、{1 / (1 - 0.99 ** 120):.2f}、{1 / (1 - 0.99 ** 150):.2f}；"
      f"0.9^10 = {0.9 ** 10:.3f}，0.99^100 = {0.99 ** 100:.3f}，1/e = {math.exp(-1):.3f}")
assert 1 / (1 - 0.9 ** 50) < 1.01 and 1 / (1 - 0.99 ** 150) > 1.25
assert round(1 / (1 - 0.99 ** 61), 1) == 2.2 and round(1 / (1 - 0.99 ** 120), 1) == 1.4
assert abs(0.9 ** 10 - math.exp(-1)) < 0.02 and abs(0.99 ** 100 - math.exp(-1)) < 0.01

# %% [markdown]
# **验证**：EMA 的展开式（权重 $(1-\beta)\beta^k$）与递推式一致；`torch.optim.Adam` 内部保存的一阶矩 `exp_avg` 正是梯度序列的 EMA（$\beta = \beta_1$），修正后的值就是 $\hat m_t$。

# %%
# NBVAL_CHECK_OUTPUT
xs = torch.randn(30, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
beta, t = 0.9, len(xs)
expanded = sum((1 - beta) * beta ** k * xs[t - 1 - k] for k in range(t))
assert torch.isclose(optim.ema(xs, beta)[-1], expanded)
w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
adam = torch.optim.Adam([w], lr=1e-3, betas=(beta, 0.999))
for x_t in xs:
    w.grad = x_t.reshape(1)
    adam.step()
exp_avg = adam.state[w]["exp_avg"].item()
print(f"递推 v_30 = {optim.ema(xs, beta)[-1]:.6f}，展开式 = {expanded:.6f}，Adam 的 exp_avg = {exp_avg:.6f}")
assert math.isclose(exp_avg, optim.ema(xs, beta)[-1].item(), rel_tol=1e-12)

# %% [markdown]
# ## 4. 动量法（Momentum）
#
# mini-batch 算出的梯度带噪声，方向会来回抖。动量法用梯度的 EMA 代替当前梯度，让更新方向更稳。笔记的写法（小标题里的 "Monmentum" 是笔误）：
#
# $$V_t = \beta V_{t-1} + (1-\beta)\, g_t,\qquad \omega_t = \omega_{t-1} - \eta\, V_t,\qquad g_t = \nabla\mathcal{L}(\omega_{t-1})$$
#
# PyTorch 的 `torch.optim.SGD(lr=α, momentum=μ)` 用的却是另一种写法（这里 dampening 取默认值 0）：
#
# $$v_1 = g_1,\qquad v_t = \mu\, v_{t-1} + g_t,\qquad \omega_t = \omega_{t-1} - \alpha\, v_t$$
#
# 两者只差 $g_t$ 前面的 $(1-\beta)$。因为两个递推都是线性的，把 PyTorch 的缓冲乘以 $(1-\beta)$ 就得到笔记的 $V_t$：$V_t = (1-\beta)\,v_t$。于是
#
# $$\omega_t = \omega_{t-1} - \eta\,(1-\beta)\,v_t \quad\Longleftrightarrow\quad \texttt{SGD(lr}=\eta(1-\beta)\texttt{, momentum}=\beta\texttt{)}$$
#
# 从第一步起就完全相同。
#
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：动量法的更新是 $V_t = \beta V_{t-1} + (1-\beta)g_t$、$\omega_t = \omega_{t-1} - \eta V_t$，并用 `optim.SGD(lr=0.01, momentum=0.9)` 作为它的示例。
# >
# > **正确的说法**：PyTorch 的 `SGD(momentum=μ)` 没有 $(1-\mu)$ 这个因子，缓冲从 $v_1 = g_1$ 开始。所以 `SGD(lr=η, momentum=β)` 的第一步是 $\eta g_1$（笔记的公式是 $\eta(1-\beta)g_1$），梯度恒定时的稳态有效学习率是 $\eta/(1-\beta)$（梯度恒为 $g$ 时每步走 $\eta g/(1-\beta)$）——$\beta = 0.9$ 时是笔记公式的 **10 倍**。
# > 要得到笔记的公式，应写 `SGD(lr=η*(1-β), momentum=β)`。把 `dampening` 设成 $1-\beta$ 也不行：PyTorch 在第一步跳过 dampening，直接令 $v_1 = g_1$。
# >
# > 证据见下面两格：同一串梯度下四种写法的轨迹。

# %%
def path_of(make_optimizer, grads):
    """One parameter w_0 = 0; set its gradient by hand at every step and record w_1, w_2, ..."""
    w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt, path = make_optimizer([w]), []
    for g in grads:
        w.grad = torch.tensor([g], dtype=torch.float64)
        opt.step()
        path.append(w.item())           # unrounded: the checks below compare to 1e-9
    return path

# %%
def gap(a, b):
    """The largest |a_k - b_k| between two paths."""
    return max(abs(x - y) for x, y in zip(a, b))

def rounded(path, digits=4):
    return [round(x, digits) for x in path]

grads, lr, beta = [1, 1, 1, 1, 1, -0.5, 2, 0.3], 0.1, 0.9

# %%
# NBVAL_CHECK_OUTPUT
runs = {
    "PyTorch SGD(lr, momentum)        ": lambda p: torch.optim.SGD(p, lr=lr, momentum=beta),
    "笔记的 EMA 公式 (NotesMomentum)  ": lambda p: optim.NotesMomentum(p, lr=lr, beta=beta),
    "SGD(lr*(1-beta), momentum)       ": lambda p: torch.optim.SGD(p, lr=lr * (1 - beta), momentum=beta),
    "SGD(lr, momentum, dampening=0.1) ": lambda p: torch.optim.SGD(p, lr=lr, momentum=beta, dampening=1 - beta),
}
paths = {name: path_of(make, grads) for name, make in runs.items()}
for name, path in paths.items():
    print(name, rounded(path[:5]))
first, notes, scaled, damped = paths.values()
print(f"笔记公式与 SGD(lr*(1-beta)) 的最大差 {gap(notes, scaled):.1e}")
assert gap(notes, scaled) < 1e-12 and all(abs(a) > 5 * abs(b) for a, b in zip(first, notes))
assert abs(damped[0] + 0.1) < 1e-12 and gap(damped, notes) > 0.01

# %% [markdown]
# 第一行每一步都比第二行大得多；第二、三行完全相同；第四行（用了 dampening）的第一步仍然是 $-0.1$，和笔记不符。梯度一直是 1 时，PyTorch 的缓冲趋于 $1/(1-\beta) = 10$，每步位移从第一步的 $\eta$ 涨到 $\eta/(1-\beta)$：

# %%
# NBVAL_CHECK_OUTPUT
steady = path_of(lambda p: torch.optim.SGD(p, lr=lr, momentum=beta), [1.0] * 200)
first_step, last_step = -steady[0], steady[-2] - steady[-1]
print(f"梯度恒为 1：PyTorch 第一步位移 {first_step:.4f}，第 200 步位移 {last_step:.4f} = lr / (1 - beta)；"
      f"笔记公式的稳态位移 = {lr:.4f}")
assert math.isclose(last_step, lr / (1 - beta), rel_tol=1e-6) and math.isclose(first_step / last_step, 1 - beta, rel_tol=1e-6)

# %% [markdown]
# `helpers.optim.NotesMomentum` 照笔记的公式写，`helpers.optim.SGD` 照 PyTorch 的写法写（也包括 Nesterov 和 weight decay）：

# %%
show_source(optim.NotesMomentum)

# %% [markdown]
# 注意两者的学习率含义不同：笔记的 $\eta$ 乘的是梯度的**平均**，梯度恒定时每步位移就是 $\eta g$，所以 $\eta$ 就是有效学习率（effective learning rate，每步位移除以梯度）；PyTorch 的 `lr` 乘的是**累加**的梯度，稳态下有效学习率是 `lr` 的 $1/(1-\mu)$ 倍。换用 PyTorch 时，如果照搬笔记里调好的 $\eta$，相当于把有效学习率放大了 10 倍（$\mu = 0.9$）。
#
# **Nesterov 动量**（`nesterov=True`）先按动量"往前看一步"，再用那里的方向修正。PyTorch 的实现写成：$v_t = \mu v_{t-1} + g_t$，$\omega_t = \omega_{t-1} - \alpha\,(g_t + \mu v_t)$。它和普通动量哪个快，要看问题和学习率，不是总比普通动量好：在第 9 节的面板里打开 Nesterov，用默认设置和动量并排比较，`saddle` 上 Nesterov 300 步后的损失更低，`rosenbrock` 上反而更高（第 9 节的验证格检查）。
#
# **验证**：`helpers.optim.SGD` 的普通动量和 Nesterov 动量都与 `torch.optim.SGD` 逐步一致。

# %%
show_source(optim.SGD.update)

# %%
# NBVAL_CHECK_OUTPUT
for nesterov in (False, True):
    ours = path_of(lambda p: optim.SGD(p, lr=lr, momentum=beta, nesterov=nesterov), grads)
    theirs = path_of(lambda p: torch.optim.SGD(p, lr=lr, momentum=beta, nesterov=nesterov), grads)
    assert gap(ours, theirs) < 1e-9
    print(f"nesterov={nesterov}：helpers.optim.SGD 与 torch.optim.SGD 最大差 {gap(ours, theirs):.1e}，最后位置 {theirs[-1]:.5f}")

# %% [markdown]
# ### 4.1 动量为什么有用
#
# 笔记列了动量的几条好处，下面逐条验证：
#
# - **越过梯度为 0 的点**：$f(w) = w^3$ 在 $w = 0$ 处梯度为 0。普通 SGD（lr = 0.05）从 $w=1$ 出发越走越慢，60 步里没有越过 0（$w$ 一直为正，每步只减少 $0.15w^2$）；带动量时"惯性"把它带过 0，之后 $w^3$ 一路向下，$w$ 发散到 $-\infty$（这个函数本来就没有下界）。
# - **离开鞍点**：$f = x^2 - y^2$ 从 $(1, 10^{-6})$ 出发，$y$ 方向的推力一开始只有 $10^{-6}$ 量级，动量把它一步步累加起来：100 步后带动量的 $|y|$ 比不带动量的大得多。

# %%
# NBVAL_CHECK_OUTPUT
crossings, escaped = {}, {}
for momentum in (0.0, 0.9):
    path, _ = optim.optimize_path(lambda x, y: x ** 3, (1.0, 0.0),
                                  lambda p: torch.optim.SGD(p, lr=0.05, momentum=momentum), 60)
    crossed = crossings[momentum] = (path[:, 0] < 0).nonzero()
    end = f"{path[60, 0]:.4f}" if torch.isfinite(path[60, 0]) else "发散（w^3 没有下界）"
    print(f"w^3, momentum={momentum}：第 13 步 w = {path[13, 0]:.2f}，第 60 步 w = {end}，"
          + (f"第 {crossed[0].item()} 步越过 0" if len(crossed) else "没有越过 0"))

# %%
# NBVAL_CHECK_OUTPUT
for momentum in (0.0, 0.9):
    path, _ = optim.optimize_path(lambda x, y: x ** 2 - y ** 2, (1.0, 1e-6),
                                  lambda p: torch.optim.SGD(p, lr=0.05, momentum=momentum), 100)
    print(f"x^2 - y^2, momentum={momentum}：100 步后 y = {path[-1, 1]:.3g}")
    escaped[momentum] = abs(path[-1, 1].item())
assert len(crossings[0.0]) == 0 < len(crossings[0.9]) and escaped[0.9] > 100 * escaped[0.0]
assert not torch.isfinite(optim.optimize_path(lambda x, y: x ** 3, (1.0, 0.0),
                                              lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9), 60)[0][60, 0])

# %% [markdown]
# - **逃出浅的局部极小**：一维的"双井" $f(x) = (x^2-1)^2 + 0.3x$（`helpers.optim.double_well`）有两个谷：$x \approx -1.04$ 处深、$x \approx 0.96$ 处浅，中间隔着 $x \approx 0.08$ 处的一个小坡。
#   从浅谷右边的陡坡上 11 个不同的起点（$x_0 = 1.5, 1.6, \dots, 2.5$）出发，各走 300 步（lr = 0.01）：普通 SGD 每一次都停在浅谷；动量 0.9 冲下陡坡时攒下的速度能把它带过小坡，但**不是每次**，能不能留在深谷取决于速度：
#   中间 7 个起点（1.7–2.3）翻过小坡、停在深谷；离得最近的两个（1.5、1.6）速度不够，翻不过去；离得最远的两个（2.4、2.5）速度太大，冲过深谷、爬上它左边的坡，又折回来翻回了浅谷。所以动量只是**有机会**逃出浅的极小，不是保证。

# %%
# NBVAL_CHECK_OUTPUT
def well_ends(starts, momentum, lr=0.01, steps=300):
    """Where SGD ends on the double well from each start, and the leftmost x it reached (one coordinate per start)."""
    w = torch.tensor(starts, dtype=torch.float64, requires_grad=True)
    opt, leftmost = torch.optim.SGD([w], lr=lr, momentum=momentum), w.detach().clone()
    for _ in range(steps):
        opt.zero_grad()
        optim.double_well(w).sum().backward()
        opt.step()
        leftmost = torch.minimum(leftmost, w.detach())
    return w.detach(), leftmost

# %%
# NBVAL_CHECK_OUTPUT
grid = torch.linspace(-2, 2, 4001, dtype=torch.float64)
f_grid, middle, right = optim.double_well(grid), grid.abs() < 0.5, grid > 0.5
bottoms = (grid[f_grid.argmin()].item(), grid[right][f_grid[right].argmin()].item(), grid[middle][f_grid[middle].argmax()].item())
print("深谷、浅谷、小坡的位置：", [round(x, 3) for x in bottoms])
assert all(abs(x - ref) < 0.01 for x, ref in zip(bottoms, (-1.04, 0.96, 0.08)))

# %%
# NBVAL_CHECK_OUTPUT
starts = [round(1.5 + 0.1 * k, 1) for k in range(11)]
(plain_end, _), (heavy_end, leftmost) = well_ends(starts, 0.0), well_ends(starts, 0.9)
print("SGD 停在：", [round(x, 2) for x in plain_end.tolist()])
print("SGD + momentum 0.9 停在：", [round(x, 2) for x in heavy_end.tolist()])
print("SGD + momentum 0.9 到过的最左处：", [round(x, 2) for x in leftmost.tolist()])
deep = [x0 for x0, x in zip(starts, heavy_end) if x < 0]
assert (plain_end > 0).all() and deep == [1.7, 1.8, 1.9, 2.0, 2.1, 2.2, 2.3]
assert (leftmost[:2] > 0).all() and (leftmost[-2:] < -1.5).all()   # too slow: never over; too fast: over and back

# %% [markdown]
# - **平均掉梯度里的噪声**：mini-batch 梯度 = 真梯度 + 噪声。动量的缓冲是梯度的 EMA，独立噪声在 EMA 里互相抵消：标准差为 $\sigma$ 的噪声经过 $\beta$ 的 EMA 后，稳态标准差是 $\sigma\sqrt{(1-\beta)/(1+\beta)}$，$\beta = 0.9$ 时约 $0.23\sigma$。所以更新的**方向**稳得多。
#   但要说清楚它不能做什么：在同一个有效学习率下，参数在极小点附近的抖动幅度几乎不变（下面在 $f = w^2/2$ 上比较 `SGD(lr=0.1)` 和笔记的动量 `NotesMomentum(lr=0.1, beta=0.9)`）；想让 $w$ 本身抖得少，要减小有效学习率（第6章的学习率衰减）。

# %%
# NBVAL_CHECK_OUTPUT
def spread_of_w(make, runs=5, steps=1500):
    """Std of w after a burn-in on f = w^2/2 with gradient w + N(0, 1) noise; `runs` independent runs side by side."""
    gen, w = torch.Generator().manual_seed(0), torch.zeros(runs, dtype=torch.float64, requires_grad=True)
    opt, ws = make([w]), []
    for _ in range(steps):
        w.grad = w.detach() + torch.randn(runs, generator=gen, dtype=torch.float64)   # the same noise for both
        opt.step()
        ws.append(w.detach().clone())
    return torch.stack(ws[300:]).std(dim=0)

# %%
# NBVAL_CHECK_OUTPUT
g = 1 + torch.randn(5, 2000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
ratio = torch.stack([optim.ema(row, 0.9)[100:].std() / row[100:].std() for row in g])
plain = spread_of_w(lambda p: torch.optim.SGD(p, lr=0.1))
heavy = spread_of_w(lambda p: optim.NotesMomentum(p, lr=0.1, beta=0.9))
print(f"5 个种子：EMA 后噪声标准差 / 原来 = {ratio.min():.2f}–{ratio.max():.2f}（理论 {math.sqrt(0.1 / 1.9):.2f}）")
print(f"w 的抖动（标准差）：SGD {plain.min():.3f}–{plain.max():.3f}，动量 {heavy.min():.3f}–{heavy.max():.3f}")
assert ((0.18 < ratio) & (ratio < 0.28)).all() and ((0.8 < heavy / plain) & (heavy / plain < 1.25)).all()

# %% [markdown]
# - **加快病态问题的收敛**：在 $f = \frac12(100x^2 + y^2)$ 这种两个方向曲率差 100 倍的"峡谷"里，梯度下降被陡的方向限制了学习率，在缓的方向上走得很慢。
#   动量在陡的方向上正负抵消、在缓的方向上持续累加，于是快得多：

# %%
# NBVAL_CHECK_OUTPUT
def steps_to_reach(momentum, lr=0.019, radius=1e-3):
    path, _ = optim.optimize_path(lambda x, y: 0.5 * (100 * x ** 2 + y ** 2), (1.0, 1.0),
                                  lambda p: torch.optim.SGD(p, lr=lr, momentum=momentum), 400)
    return (path.norm(dim=1) < radius).nonzero()[0].item()

plain, heavy = steps_to_reach(0.0), steps_to_reach(0.9)
print(f"到达 |w| < 1e-3：SGD {plain} 步，SGD + momentum 0.9 {heavy} 步")
assert heavy < plain / 2

# %% [markdown]
# ### 4.2 最优的学习率和动量（Goh, "Why Momentum Really Works", Distill 2017）
#
# 对二次函数可以把这件事算到底。设 Hessian 的特征值（各方向的曲率）落在 $[\lambda_1, \lambda_n]$，条件数 $\kappa = \lambda_n/\lambda_1$。
# Goh 的文章用的正是 PyTorch 的写法（$v_t = \beta v_{t-1} + g_t$，$\omega_t = \omega_{t-1} - \alpha v_t$），他证明了：
#
# - 普通梯度下降最好取 $\alpha = \frac{2}{\lambda_1 + \lambda_n}$，每步误差最多缩小到原来的 $\frac{\kappa - 1}{\kappa + 1}$ 倍；
# - 动量法最好取 $\alpha = \Big(\frac{2}{\sqrt{\lambda_1} + \sqrt{\lambda_n}}\Big)^2$、$\beta = \Big(\frac{\sqrt{\kappa} - 1}{\sqrt{\kappa} + 1}\Big)^2$，速率是 $\frac{\sqrt{\kappa} - 1}{\sqrt{\kappa} + 1}$。
#
# $\kappa = 100$ 时，前者是 $0.980$（每步只去掉 2% 的误差），后者是 $0.818$：渐近地看，误差缩小同样倍数所需的步数之比是 $\ln 0.818 / \ln 0.980 \approx 10$——$\kappa$ 变成了 $\sqrt{\kappa}$。（只要求降到某个有限的精度时，差得少一些：下面实测降到 $10^{-6} f(w_0)$ 是 346 步对 58 步，约 6 倍。）
# 速率（rate）来自每个特征方向上的二阶线性递推：它的特征方程是 $z^2 - (1 + \beta - \alpha\lambda)z + \beta = 0$，速率就是所有特征方向上根的最大模 $\max|z|$；$\max|z| < 1$ 才收敛，大于 1 就发散。
#
# 面板里的曲面是 $f = \frac12(x^2/\kappa + y^2)$（曲率 $1/\kappa$ 和 $1$），从 $(-2, 1)$ 出发：
#
# - 左上：200 步的路径。$\beta = 0$ 时每步 $y \leftarrow (1-\alpha)\,y$：学习率超过 1 就在陡的 $y$ 方向来回跳（默认的 0.5 不跳），同时在缓的 $x$ 方向每步只缩小 $\alpha/\kappa$，爬得很慢；加大 $\beta$ 看路径怎样变成绕着极小点转的螺旋；
# - 右上：损失曲线，虚线是两个理论最优设置；
# - 左下：**在你选的学习率下**，达到 $10^{-6} f(w_0)$ 需要的步数随 $\beta$ 变化（蓝点是实测，灰线是由速率算出的 $\ln 10^{-6} / (2\ln \max|z|)$），竖虚线是 Goh 的最优 $\beta^*$（它属于最优学习率 $\alpha^*$）；
# - 右下：整张 (学习率, $\beta$) 平面上，误差每缩小 $e$ 倍要走的步数 $-1/\ln(\max|z|)$（由速率算出，越暗越快），金色星号是动量最优点，白色星号是梯度下降最优点，白色区域发散。
#
# 可以试试（直角引号里的名字是面板上方"试试："那一行的按钮，点一下就设好）：「最优附近」把学习率放在滑块上离右上图例里 "best momentum" 最近的值 3.16（$\alpha^* = 3.31$），$\beta$ 放在离 $\beta^* = 0.67$ 最近的 0.66；再拖 $\beta$，看左下的最低点是否落在竖虚线上（「最少步数」：$\beta = 0.72$ 时步数最少，在竖虚线右边一点，原因见下面的验证）；「κ=10」换成 $\kappa = 10$（学习率 2.24、$\beta = 0.26$，同样是滑块上离新的最优点最近的值），最优点怎样移动？（移到 $\alpha^* = 2.31$、$\beta^* = 0.27$：条件数越小，需要的动量越小。）

# %%
heavy_ball_panel = momentum_panel()
heavy_ball_panel

# %% [markdown]
# **验证**：取 $\kappa = 100$，用 `torch.optim.SGD` 实测达到 $10^{-6}f(w_0)$ 的步数：最优动量设置要比最优梯度下降快 5 倍以上。
# 还有一个面板里能看到的细节：最优点紧贴着发散区的边界（右下图的金色星号在白色区域边上）。保持 $\alpha^*$ 把 $\beta$ 减小 0.05 就会发散；增大 0.05 仍然收敛，而且到 $10^{-6}$ 的步数反而**更少**（43 步对 58 步）。所以面板左下图的最低点并不正好落在竖虚线上，而是在它右边一点（$\kappa = 100$、lr = 3.16 时，$\beta = 0.72$ 要 39 步，$\beta = 0.66$ 要 44 步）。Goh 的结论说的是渐近速率最优，而不是到达某个精度的步数最少。

# %%
# NBVAL_CHECK_OUTPUT
lam = (0.01, 1.0)
quad = lambda x, y: 0.5 * (lam[0] * x ** 2 + lam[1] * y ** 2)  # noqa: E731
def torch_steps(lr, momentum, steps=400):
    make = lambda p: torch.optim.SGD(p, lr=lr, momentum=momentum)  # noqa: E731
    _, losses = optim.optimize_path(quad, (-2.0, 1.0), make, steps)
    return optim.steps_to_tolerance(losses, 0.0, 1e-6 * losses[0].item())
(a_gd, r_gd), (a_hb, b_hb, r_hb) = optim.gd_optimal(*lam), optim.momentum_optimal(*lam)
n_gd, n_hb = torch_steps(a_gd, 0.0), torch_steps(a_hb, b_hb)
print(f"最优 GD：lr = {a_gd:.3f}，速率 {r_gd:.3f}，{n_gd} 步；最优动量：lr = {a_hb:.3f}，beta = {b_hb:.3f}，速率 {r_hb:.3f}，{n_hb} 步")
print(f"ln(r_hb) / ln(r_gd) = {math.log(r_hb) / math.log(r_gd):.1f}，实测步数之比 {n_gd / n_hb:.1f}")
assert 9.5 < math.log(r_hb) / math.log(r_gd) < 10.5 and (n_gd, n_hb) == (346, 58) and n_hb * 5 < n_gd

# %%
# NBVAL_CHECK_OUTPUT
near = {round(b, 3): torch_steps(a_hb, b) for b in (b_hb - 0.05, b_hb + 0.05)}
print(f"lr = lr* 时：beta = {list(near)[0]} 发散，beta = {list(near)[1]} 需要 {list(near.values())[1]} 步")
assert list(near.values())[0] is None and list(near.values())[1] == 43
y_flips = {a: bool((optim.heavy_ball_run(lam, (-2.0, 1.0), a, 0.0, 20, 0.0)[0][:, 1] < 0).any()) for a in (0.5, 1.5)}
print("beta = 0 时 y 是否变号（来回跳）：", y_flips)
assert y_flips == {0.5: False, 1.5: True}

# %%
# NBVAL_CHECK_OUTPUT
beta_grid = [round(0.02 * k, 2) for k in range(50)]               # the beta values of the panel's lower-left plot
curve = dict(zip(beta_grid, optim.heavy_ball_steps(lam, (-2.0, 1.0), 10 ** 0.5, beta_grid, 1e-6, 1500).tolist()))
fastest = min((n, b) for b, n in curve.items() if n > 0)
print(f"面板 kappa = 100、lr = 3.16：beta = 0.66 要 {curve[0.66]} 步，最少的是 beta = {fastest[1]}（{fastest[0]} 步）")
assert curve[0.66] == 44 and fastest == (39, 0.72)

# %%
# NBVAL_CHECK_OUTPUT
lr_slider = heavy_ball_panel.controls["lr"]                        # the buttons: the slider positions nearest the optimum
lr_positions = [10 ** (lr_slider.min + k * lr_slider.step) for k in range(round((lr_slider.max - lr_slider.min) / lr_slider.step) + 1)]
nearest_lr = lambda a: min(lr_positions, key=lambda lr: abs(math.log(lr / a)))  # noqa: E731
nearest_beta = lambda b: min(beta_grid, key=lambda x: abs(x - b))              # noqa: E731
buttons = {name: heavy_ball_panel.state_values(name) for name in ("最优附近", "最少步数", "κ=10")}
(a_10, b_10, _), kappa_of = optim.momentum_optimal(0.1, 1.0), {10: (0.1, 1.0), 100: lam}
print("按钮：", {name: (v["kappa"], round(v["lr"], 2), v["beta"]) for name, v in buttons.items()},
      f"；kappa = 10 的最优点 lr = {a_10:.2f}，beta = {b_10:.2f}")

# %%
assert beta_grid == [round(heavy_ball_panel.controls["beta"].min + 0.02 * k, 2) for k in range(50)] and lr_slider.step == 0.05
assert (buttons["最优附近"]["kappa"], buttons["最优附近"]["lr"], buttons["最优附近"]["beta"]) == (100, 10 ** 0.5, 0.66)
assert buttons["最优附近"]["lr"] == nearest_lr(a_hb) and buttons["最优附近"]["beta"] == nearest_beta(b_hb)
assert (round(a_hb, 2), round(b_hb, 2)) == (3.31, 0.67) and (round(a_10, 2), round(b_10, 2)) == (2.31, 0.27)
assert {**buttons["最少步数"], "beta": 0.66} == buttons["最优附近"] and buttons["最少步数"]["beta"] == fastest[1]
v10 = buttons["κ=10"]
assert v10["kappa"] == 10 and v10["lr"] == nearest_lr(a_10) and round(v10["lr"], 2) == 2.24 and v10["beta"] == nearest_beta(b_10) == 0.26
assert optim.heavy_ball_rate(kappa_of[10], v10["lr"], v10["beta"]) < 1                     # it converges there

# %% [markdown]
# ## 5. AdaGrad
#
# SGD 让所有参数共用一个学习率。可是不同参数的梯度尺度可能差很多：梯度一直很大的参数容易来回震荡，梯度一直很小的参数又学得太慢。
# AdaGrad（adaptive gradient）给**每个参数**单独记一笔账——它历史上所有梯度的平方和：
#
# $$g_{t,i} = \frac{\partial \mathcal{L}_t}{\partial \omega_i}\Big|_{\omega_{t-1}},\qquad G_{t,i} = \sum_{k=1}^{t} g_{k,i}^2,\qquad \omega_{t,i} = \omega_{t-1,i} - \frac{\eta}{\sqrt{G_{t,i}} + \varepsilon}\, g_{t,i}$$
#
# 平方、开方、除法都是逐元素的（$g^2 = g \odot g$）。$\eta/(\sqrt{G_{t,i}} + \varepsilon)$ 就是第 $i$ 个参数的**有效学习率**：历史梯度大的参数被除以一个大数，步子变小。
#
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：AdaGrad "让历史梯度大的参数降低学习率，让历史梯度小的参数**增大**学习率"。
# >
# > **正确的说法**：AdaGrad 不会增大任何参数的学习率。$G_{t,i}$ 只增不减，所以每个参数的有效学习率 $\eta/(\sqrt{G_{t,i}}+\varepsilon)$ 都只降不升；历史梯度小的参数只是**降得少**，相对别的参数显得大。
# > 这也是笔记后面说的缺点的根源：学习率单调下降，可能过早降得太低，训练提前"停"下来；噪声带来的大梯度也被永久记在 $G$ 里。
# >
# > 证据见下一格（$\eta = 0.1$）：梯度先是 10（50 步），然后降到 0.1（200 步），有效学习率 $|\Delta\omega|/|g|$ 停在 $0.1/\sqrt{50 \cdot 100} \approx 0.0014$，不会回升。

# %%
# NBVAL_CHECK_OUTPUT
def effective_lrs(make_optimizer, grads):
    """|w_t - w_(t-1)| / |g_t| at every step: the learning rate the optimizer really applied."""
    w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt, rates = make_optimizer([w]), []
    for g in grads:
        before = w.item()
        w.grad = torch.tensor([g], dtype=torch.float64)
        opt.step()
        rates.append(abs(w.item() - before) / abs(g))
    return rates
loud_then_quiet = [10.0] * 50 + [0.1] * 200
ada = effective_lrs(lambda p: torch.optim.Adagrad(p, lr=0.1), loud_then_quiet)
print("Adagrad 第 1, 50, 51, 100, 250 步的有效学习率：", [f"{ada[t - 1]:.6f}" for t in (1, 50, 51, 100, 250)])
assert all(later <= earlier for earlier, later in zip(ada, ada[1:]))

# %% [markdown]
# **验证**：`helpers.optim.Adagrad` 照公式写，与 `torch.optim.Adagrad`（笔记示例里的 `eps=1e-10` 正是默认值）逐步一致。

# %%
show_source(optim.Adagrad)

# %%
# NBVAL_CHECK_OUTPUT
ours = path_of(lambda p: optim.Adagrad(p, lr=0.1), grads)
theirs = path_of(lambda p: torch.optim.Adagrad(p, lr=0.1), grads)
print("helpers.optim.Adagrad:", rounded(ours[:4], 5))
print("torch.optim.Adagrad  :", rounded(theirs[:4], 5), f"最大差 {gap(ours, theirs):.1e}")
assert gap(ours, theirs) < 1e-9 and torch.optim.Adagrad([torch.zeros(1, requires_grad=True)]).defaults["eps"] == 1e-10

# %% [markdown]
# ## 6. RMSProp
#
# RMSProp 只改了 AdaGrad 的一处：把"所有历史梯度平方之和"换成"梯度平方的 EMA"：
#
# $$V_{t,i} = \beta V_{t-1,i} + (1-\beta)\, g_{t,i}^2,\qquad \omega_{t,i} = \omega_{t-1,i} - \frac{\eta}{\sqrt{V_{t,i}} + \varepsilon}\, g_{t,i}$$
#
# $\sqrt{V_{t,i}}$ 是最近一段梯度的均方根（root mean square，RMS，名字由此而来）。EMA 会"遗忘"：梯度变小一段时间后 $V$ 跟着变小，有效学习率重新升回来。
# 这样学习率不再单调下降，也能跟上 mini-batch 带来的梯度尺度变化（笔记称之为"非平稳"目标）。它只看梯度的大小，不看方向。
#
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：衰减系数 $\beta$ "常取 0.9"；示例写 `optim.RMSprop(..., alpha=0.9, eps=1e-10)`。
# >
# > **正确的说法**：PyTorch 里这个系数叫 `alpha`，默认值是 **0.99**，`eps` 默认是 **1e-8**。笔记示例里的两个值都是特意改过的，不是默认值；$\alpha = 0.99$ 的 EMA 大约平均最近 100 步，$0.9$ 只平均约 10 步。
# >
# > 证据见下一格。

# %%
# NBVAL_CHECK_OUTPUT
defaults = torch.optim.RMSprop([torch.zeros(1, requires_grad=True)]).defaults
print({k: defaults[k] for k in ("lr", "alpha", "eps", "momentum", "centered")})
assert defaults["alpha"] == 0.99 and defaults["eps"] == 1e-8

# %% [markdown]
# 下面的面板给一个参数喂一串梯度：先是 1，在灰色区间里降到"安静"的值，然后恢复。中间是有效学习率，右边是每步实际的位移 $|\Delta\omega|$：
#
# - AdaGrad 的有效学习率**从不回升**，两个滑块取什么值都一样：安静期里 $G$ 只再加上 $100\,g_{\text{quiet}}^2$。安静梯度不超过 0.1 时这几乎不算什么，有效学习率在安静期里降得不到 1%；安静梯度接近 1 时它继续明显下降（取 1 就等于没有安静期，降到原来的 0.61）；
# - RMSProp 的有效学习率在安静期**升回来**（安静梯度不超过 0.1 时，$\alpha$ 取滑块上的任何值都是）。$\alpha$ 不太接近 1 时它很快忘掉大梯度，安静期的位移回到 $\eta$ 量级（默认 $\alpha = 0.9$、安静梯度 0.01 时，安静期末是 $0.89\eta$）；$\alpha$ 越接近 1 忘得越慢，100 步的安静期不够它升回来（$\alpha = 0.99$ 时只有 $0.025\eta$）；
# - 梯度恢复的那一刻，RMSProp 的 $V$ 还小，第一步位移会突然变大（安静梯度 0.01 时，整个 $\alpha$ 范围里是 $1.4\eta$ 到 $4.3\eta$）。尖峰的高度随 $\alpha$ 并不单调：$\alpha = 0.5$、$0.9$、$0.95$、$0.99$、$0.999$ 时分别约 $1.4\eta$、$3.2\eta$、$4.2\eta$、$2.4\eta$、$4.3\eta$。
#   $\alpha$ 小时 $V$ 在安静期里忘得干净，尖峰接近 $\eta/\sqrt{1-\alpha}$；$\alpha$ 大时 $V$ 还记着之前的大梯度，尖峰变矮；$\alpha$ 接近 1 时 $V$ 在开头 60 步里还没从 0 长起来，尖峰又变高。这是它"适应非平稳"的代价。

# %%
adaptive_lr_panel()

# %% [markdown]
# **验证**：`helpers.optim.RMSprop` 与 `torch.optim.RMSprop` 一致（笔记的设置和默认设置都测）；在上一节"先大后小"的梯度下（$\eta = 0.1$），RMSprop($\alpha = 0.9$) 的有效学习率先降到 $0.1/\sqrt{100} = 0.01$，梯度变小后回升到 $\eta/\sqrt{0.1^2} = 1.0$，而 AdaGrad 停在 0.0014。

# %%
# NBVAL_CHECK_OUTPUT
for settings in ({"lr": 0.01, "alpha": 0.9, "eps": 1e-10}, {}):
    ours = path_of(lambda p: optim.RMSprop(p, **settings), grads)
    theirs = path_of(lambda p: torch.optim.RMSprop(p, **settings), grads)
    assert gap(ours, theirs) < 1e-9
    print(f"RMSprop{settings or '（默认）'}：与 torch 最大差 {gap(ours, theirs):.1e}，前三步 {rounded(theirs[:3], 5)}")
rms = effective_lrs(lambda p: torch.optim.RMSprop(p, lr=0.1, alpha=0.9), loud_then_quiet)
print("RMSprop(alpha=0.9) 第 1, 50, 51, 100, 250 步：", [f"{rms[t - 1]:.4f}" for t in (1, 50, 51, 100, 250)])
assert math.isclose(rms[249], 1.0, rel_tol=1e-3) and math.isclose(rms[49], 0.01, rel_tol=0.01)
assert math.isclose(ada[249], 0.1 / math.sqrt(50 * 100 + 200 * 0.01), rel_tol=1e-6) and ada[249] < 0.0015

# %% [markdown]
# 面板上三条说法，在滑块的每一个值上检查（$\eta = 0.01$；RMSProp 的更新规则直接用在一整列 $\alpha$ 上，一次算完滑块上的 500 个值）：

# %%
# NBVAL_CHECK_OUTPUT
alphas = 0.5 + torch.arange(500, dtype=torch.float64) / 1000          # every value of the alpha slider
def rms_steps(quiet):
    """|Δw| / eta at every step, for every alpha at once (RMSprop.update works on a tensor of alphas)."""
    state, w, steps = {}, torch.zeros_like(alphas), []
    for g in optim.quiet_gradients(quiet).tolist():
        new = optim.RMSprop.update(w, g, state, lr=0.01, alpha=alphas, eps=1e-8)
        steps.append((new - w).abs() / 0.01)
        w = new
    return torch.stack(steps)

# %%
# NBVAL_CHECK_OUTPUT
for quiet in [10 ** (-3 + 0.25 * k) for k in range(13)]:              # every value of the quiet slider
    ada_q = optim.effective_lr(optim.Adagrad, optim.quiet_gradients(quiet), lr=0.01)
    assert (ada_q[1:] <= ada_q[:-1]).all() and (quiet > 0.1 or ada_q[159] > 0.99 * ada_q[59])
    rms = rms_steps(quiet)
    assert quiet > 0.1 or (rms[159] / quiet > rms[59]).all()                 # effective lr rises in the quiet phase
print(f"AdaGrad 安静梯度 = 1 时：有效学习率第 160 步 / 第 60 步 = {ada_q[159] / ada_q[59]:.2f}")
assert abs(ada_q[159] / ada_q[59] - 0.61) < 0.01

# %%
# NBVAL_CHECK_OUTPUT
rms = rms_steps(0.01)
at = lambda a: int(round((a - 0.5) * 1000))  # noqa: E731
print("安静梯度 0.01：安静期末位移 / eta：", {a: round(rms[159, at(a)].item(), 3) for a in (0.5, 0.9, 0.99)},
      "；恢复后第一步 / eta：", {a: round(rms[160, at(a)].item(), 2) for a in (0.5, 0.9, 0.95, 0.99, 0.999)},
      f"，整个 alpha 范围 {rms[160].min():.2f}–{rms[160].max():.2f}")
assert rms[159, at(0.9)] > 0.85 and rms[159, at(0.99)] < 0.03
assert [round(rms[160, at(a)].item(), 1) for a in (0.5, 0.9, 0.95, 0.99, 0.999)] == [1.4, 3.2, 4.2, 2.4, 4.3]
assert 1.4 < rms[160].min() and rms[160].max() < 4.35

# %% [markdown]
# ## 7. Adam
#
# Adam（adaptive moment estimation）= 动量 + RMSProp：一阶矩（梯度的 EMA）给出稳定的方向，二阶矩（梯度平方的 EMA）给出每个参数的尺度：
#
# $$m_t = \beta_1 m_{t-1} + (1-\beta_1)\,g_t,\qquad v_t = \beta_2 v_{t-1} + (1-\beta_2)\,g_t^2$$
#
# $$\hat m_t = \frac{m_t}{1-\beta_1^t},\qquad \hat v_t = \frac{v_t}{1-\beta_2^t},\qquad \omega_t = \omega_{t-1} - \eta\,\frac{\hat m_t}{\sqrt{\hat v_t} + \varepsilon}$$
#
# 默认值 `lr=0.001, betas=(0.9, 0.999), eps=1e-8`，笔记写得对。注意 $\varepsilon$ 加在 $\sqrt{\hat v_t}$ **外面**。
#
# ### 7.1 偏置修正从哪里来
#
# 从 $m_0 = 0$ 开始展开：$m_1 = (1-\beta_1)g_1$，$m_2 = (1-\beta_1)(\beta_1 g_1 + g_2)$，一般地
#
# $$m_t = (1-\beta_1)\sum_{k=1}^{t}\beta_1^{\,t-k} g_k,\qquad \text{权重之和} = (1-\beta_1)\frac{1-\beta_1^t}{1-\beta_1} = 1-\beta_1^t$$
#
# 这和第 3 节 EMA 的结论一样：权重加起来不是 1，所以除以 $1-\beta_1^t$。$v_t$ 同理除以 $1-\beta_2^t$。
# 如果所有梯度都相同（$g_k = g$），修正后 $\hat m_t = g$、$\hat v_t = g^2$，每步恰好移动 $\eta$（忽略 $\varepsilon$）——不论 $g$ 是 $10^{-3}$ 还是 $10^3$。
#
# 不修正会怎样？第一步 $\dfrac{m_1}{\sqrt{v_1}} = \dfrac{(1-\beta_1)\,g}{\sqrt{1-\beta_2}\,|g|}$，默认设置下大小是 $0.1/\sqrt{0.001} \approx 3.16$：第一步是 $\eta$ 的 3.16 倍。
# 而且两个偏差消失的快慢差得很远：权重之和 $1-\beta^t$ 按 $\beta^t$ 逼近 1，时间常数约 $1/(1-\beta)$ 步。$\beta_1 = 0.9$ 的时间常数是 10 步，44 步后 $1-\beta_1^t$ 就超过 0.99；
# $\beta_2 = 0.999$ 的时间常数是 1000 步，第 1000 步时 $1-\beta_2^{1000}$ 也才 0.632，要到第 4603 步才超过 0.99。分子和分母的偏差不同步，所以 Adam 必须修正。

# %%
# NBVAL_CHECK_OUTPUT
for g in (1e-3, 1.0, 1e3):
    first = path_of(lambda p: torch.optim.Adam(p, lr=0.1), [g])[0]
    print(f"g = {g:g}：Adam 第一步 Δw = {first:.6f}")
    assert math.isclose(first, -0.1, rel_tol=1e-4)
b1, b2 = 0.9, 0.999
m1, v1 = (1 - b1) * 1.0, (1 - b2) * 1.0 ** 2                   # the first moments for g = 1, not corrected
print(f"不做偏置修正的第一步：lr * m_1 / sqrt(v_1) = {0.1 * m1 / math.sqrt(v1):.6f} = {m1 / math.sqrt(v1):.2f} lr")
assert round(m1 / math.sqrt(v1), 2) == 3.16
adam_defaults = torch.optim.Adam([torch.zeros(1, requires_grad=True)]).defaults
assert (adam_defaults["lr"], adam_defaults["betas"], adam_defaults["eps"]) == (1e-3, (0.9, 0.999), 1e-8)
t_99 = {b: next(t for t in range(1, 10**5) if 1 - b ** t > 0.99) for b in (b1, b2)}
print(f"1 - b2^1000 = {1 - b2 ** 1000:.3f}；1 - beta^t 超过 0.99 的步数：beta1 {t_99[b1]}，beta2 {t_99[b2]}")
assert math.isclose(1 - b2 ** 1000, 1 - math.exp(-1), rel_tol=1e-3) and t_99 == {b1: 44, b2: 4603}
print("梯度恒为 1 时的前五步：", rounded(path_of(lambda p: torch.optim.Adam(p, lr=0.1), [1.0] * 5), 6))

# %% [markdown]
# ### 7.2 为什么 Momentum 和 RMSProp 不修正
#
# 笔记给了两条理由。第一条要加个前提：
#
# - **Momentum**：笔记的 EMA 写法确实让开头几步的 $V_t$ 偏小（梯度恒为 $g$ 时 $V_t = (1-\beta^t)\,g$，第一步只有 $(1-\beta)g$），但这只让开头几步走得慢一点，偏差按 $\beta^t$ 很快衰减（$\beta = 0.9$ 时第 44 步起不到 1%），不会像 RMSProp 那样让步子变大。PyTorch 的写法也一样：$v_1 = g_1$ 看起来没有缩小，可是 $V_t = (1-\beta)\,v_t$（第 4 节），两者只差一个常数倍，开头相对于稳态的"偏小"完全相同：梯度恒定时 PyTorch 第一步的位移也只有稳态位移的 $1-\beta$（第 4 节那一格：0.1 对 1.0）。
# - **RMSProp**：第二条的推理是反的，见下面的勘误。
#
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：RMSProp 的 $v_t$ 开头偏小，"经过 $\sqrt{v_t}$ 平方根后被钝化"，可以靠调 $\eta$、$\varepsilon$、$\beta$ 覆盖。
# >
# > **正确的说法**：$v_t$ 在**分母**里，偏小的 $v_t$ 让开头的步子**变大**，而不是变得无关紧要。第一步 $V_1 = (1-\alpha)g_1^2$，所以 $|\Delta\omega_1| = \eta/\sqrt{1-\alpha}$，与梯度大小无关：默认 $\alpha = 0.99$ 时是 $10\eta$，$\alpha = 0.9$ 时是 $3.16\eta$。
# > 平方根只是把 $1/(1-\alpha)$ 变成了 $1/\sqrt{1-\alpha}$，偏差依旧存在。它按 $\alpha^t$ 衰减，时间常数约 $1/(1-\alpha)$ 步，但消失得比这慢：梯度恒定时第 $t$ 步的位移是 $\eta/\sqrt{1-\alpha^t}$，$\alpha = 0.99$ 时第 10 步还是 $3.2\eta$，第 100 步 $1.26\eta$，第 391 步才降到 $1.01\eta$ 以内。实践中常靠较小的学习率或学习率预热（warm-up，第6章）来抵消。
# >
# > 证据见下一格（$\eta = 0.1$）。

# %%
# NBVAL_CHECK_OUTPUT
for alpha in (0.9, 0.99):
    for g in (0.01, 100.0):
        step = abs(path_of(lambda p: torch.optim.RMSprop(p, lr=0.1, alpha=alpha), [g])[0])
        print(f"alpha = {alpha}, g = {g:g}：第一步 |Δw| = {step:.4f}，lr / sqrt(1 - alpha) = {0.1 / math.sqrt(1 - alpha):.4f}")
        assert math.isclose(step, 0.1 / math.sqrt(1 - alpha), rel_tol=1e-4)
path = [0.0] + path_of(lambda p: torch.optim.RMSprop(p, lr=0.1, alpha=0.99), [1.0] * 500)
ratio = [(path[t - 1] - path[t]) / 0.1 for t in range(1, 501)]            # step t / eta, constant gradient
within = next(t for t in range(1, 501) if ratio[t - 1] < 1.01)
print(f"alpha = 0.99、梯度恒为 1：第 10、100 步的位移 / eta = {ratio[9]:.2f}、{ratio[99]:.2f}，第 {within} 步起不到 1.01")
assert (round(ratio[9], 1), round(ratio[99], 2), within) == (3.2, 1.26, 391)

# %% [markdown]
# 笔记这一段还有一个笔误："Adam 中 Adam 同时……并且并经非线性 √ 结构放大"多写了"Adam 中"和一个"并"。
#
# **验证**：`helpers.optim.Adam` 照上面的公式写，与 `torch.optim.Adam` 逐步一致。

# %%
show_source(optim.Adam.update)

# %%
# NBVAL_CHECK_OUTPUT
for settings in ({"lr": 0.1}, {"lr": 0.1, "betas": (0.5, 0.9), "eps": 0.5}):
    ours = path_of(lambda p: optim.Adam(p, **settings), grads)
    theirs = path_of(lambda p: torch.optim.Adam(p, **settings), grads)
    assert gap(ours, theirs) < 1e-9
    print(f"Adam{settings}：与 torch 最大差 {gap(ours, theirs):.1e}，前三步 {rounded(theirs[:3], 5)}")
first_eps = path_of(lambda p: torch.optim.Adam(p, lr=0.1, eps=0.5), [1.0])[0]
print(f"eps = 0.5 时第一步 = {first_eps:.6f} = -lr/(1 + eps)：eps 加在根号外")
assert math.isclose(first_eps, -0.1 / 1.5, rel_tol=1e-9)

# %% [markdown]
# ## 8. AdamW：把权重衰减从梯度里拿出来
#
# 权重衰减（weight decay）想让权重向 0 收缩。有两种写法：在损失里加 L2 惩罚 $\frac{\lambda}{2}\|\omega\|^2$（梯度多出 $\lambda\omega$），或者每步直接把权重乘 $(1 - \eta\lambda)$（解耦的衰减）。
# 对**不带动量的** SGD 两者逐步相同：$\omega - \eta(g + \lambda\omega) = (1-\eta\lambda)\,\omega - \eta g$。一旦有了动量就不同了：$\lambda\omega$ 进了动量缓冲，会被累加、带着惯性冲过头。
# 例如数据梯度恒为 0、从 $\omega = 2$ 出发、`lr=0.1`、`weight_decay=0.5` 走 20 步：不带动量时两种写法都得到 $2 \cdot 0.95^{20} = 0.717$；`momentum=0.9` 时 L2 写法已经冲过 0，到了 $-0.242$（见下一格）。
# 在 Adam 里两种写法更是完全不同：
#
# - `torch.optim.Adam(weight_decay=λ)` 把 $\lambda\omega$ **加进梯度** $g_t$，它随后也被 $\sqrt{\hat v_t}$ 除掉——梯度大的参数几乎不衰减，衰减的强弱取决于梯度尺度（本节后面会测：数据梯度恒为 100 时，`weight_decay=0.1` 50 步只让 $\omega$ 变了 $3\times10^{-5}$，AdamW 是 0.086）；
# - `torch.optim.AdamW(weight_decay=λ)`（Loshchilov & Hutter, 2019）把衰减**解耦**（decoupled）：先 $\omega \leftarrow \omega(1 - \eta\lambda)$，再做不含 $\lambda$ 的 Adam 更新。
#
# 一个极端的例子最清楚：数据梯度恒为 0，只剩权重衰减。AdamW 让 $\omega$ 每步乘 $(1-\eta\lambda)$，指数衰减；Adam 里的 $\lambda\omega$ 经过 $\hat m/\sqrt{\hat v}$ 归一化后变成 $\pm1$，于是 $\omega$ 每步固定减少约 $\eta$，和 $\lambda$ 几乎无关。

# %%
# NBVAL_CHECK_OUTPUT
def decay_only(make_optimizer, steps=50):
    w = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    opt = make_optimizer([w])
    for _ in range(steps):
        w.grad = torch.zeros_like(w)   # the data say nothing: only weight decay acts
        opt.step()
    return w.item()

# %%
# NBVAL_CHECK_OUTPUT
plain_l2 = decay_only(lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=0.5), steps=20)
momentum_l2 = decay_only(lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.5), steps=20)
print(f"SGD，20 步：L2 = {plain_l2:.4f}，解耦 2(1 - lr*lambda)^20 = {2 * 0.95 ** 20:.4f}；带动量 0.9 的 L2 = {momentum_l2:.4f}")
assert math.isclose(plain_l2, 2 * 0.95 ** 20, rel_tol=1e-12) and momentum_l2 < 0 < 0.7 < 2 * 0.95 ** 20

# %%
# NBVAL_CHECK_OUTPUT
for lam in (0.1, 1.0):
    adam_l2 = decay_only(lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=lam))
    adamw = decay_only(lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=lam))
    print(f"lambda = {lam}：Adam(L2) 后 w = {adam_l2:.4f}，AdamW 后 w = {adamw:.4f}，2(1 - lr*lambda)^50 = {2 * (1 - 0.01 * lam) ** 50:.4f}")
    assert abs(adam_l2 - 1.5) < 0.03 and math.isclose(adamw, 2 * (1 - 0.01 * lam) ** 50, rel_tol=1e-9)

# %% [markdown]
# Adam(L2) 两次都从 2 减到约 1.5（每步约 $-\eta$），与 $\lambda$ 几乎无关；AdamW 严格按 $2(1-\eta\lambda)^{50}$ 衰减。
# 数据梯度不为 0 时也一样：AdamW 的衰减不管梯度多大都是同一个量，Adam 里的 L2 却几乎被梯度的尺度吞掉——梯度越大，它越不起作用（下一格）。

# %%
# NBVAL_CHECK_OUTPUT
def decay_effect(make, g, steps=50):
    """How far weight decay moves w in `steps` steps with a constant data gradient g: w without decay - w with it."""
    def end(wd):
        w = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
        opt = make([w], wd)
        for _ in range(steps):
            w.grad = torch.full_like(w, g)
            opt.step()
        return w.item()
    return end(0.0) - end(0.1)

# %%
# NBVAL_CHECK_OUTPUT
l2 = {}
for g in (100.0, 1.0, 0.01):
    l2[g] = decay_effect(lambda p, wd: torch.optim.Adam(p, lr=0.01, weight_decay=wd), g)
    dw = decay_effect(lambda p, wd: torch.optim.AdamW(p, lr=0.01, weight_decay=wd), g)
    print(f"数据梯度恒为 {g:g}：weight_decay=0.1 让 w 变了 Adam(L2) {l2[g]:+.1e}，AdamW {dw:+.3f}")
    assert math.isclose(dw, 0.0855, abs_tol=5e-4)
assert abs(l2[100.0]) < 1e-3 * dw and abs(l2[100.0]) < abs(l2[1.0]) < abs(l2[0.01]) < dw

# %% [markdown]
# **验证**：`helpers.optim.Adam(decoupled=True)` 等于 `torch.optim.AdamW`，`decoupled=False` 等于 `torch.optim.Adam(weight_decay=...)`，两者轨迹不同。

# %%
# NBVAL_CHECK_OUTPUT
decoupled = path_of(lambda p: optim.Adam(p, lr=0.1, weight_decay=0.5, decoupled=True), grads)
coupled = path_of(lambda p: optim.Adam(p, lr=0.1, weight_decay=0.5), grads)
assert gap(decoupled, path_of(lambda p: torch.optim.AdamW(p, lr=0.1, weight_decay=0.5), grads)) < 1e-9
assert gap(coupled, path_of(lambda p: torch.optim.Adam(p, lr=0.1, weight_decay=0.5), grads)) < 1e-9
assert gap(decoupled, coupled) > 0.01
print("AdamW       :", rounded(decoupled[-3:], 5))
print("Adam (L2)   :", rounded(coupled[-3:], 5))

# %% [markdown]
# ## 9. 优化器赛跑
#
# 现在把所有优化器放到同一张地形图上。这个面板是 Distill "Why Momentum Really Works"（也就是第 4.2 节）的延伸：除了二次函数，还有 Rosenbrock 香蕉谷（`rosenbrock`）、鞍点（`saddle`）、多个极小点（`multi_minima`）和平台（`plateau`）；除了动量，还有 AdaGrad、RMSProp、Adam 和 AdamW。
#
# 面板上方是两组控件：
#
# - **optimizers**：每个优化器一行，勾选框打开/关闭它，后面是它自己的超参数（都从 `OPTIMIZERS` 的记录生成）：`lr` 是学习率（SGD 一族的滑块是 $10^{-4}$–$1$，自适应一族是 $10^{-3}$–$1$：自适应方法先把梯度除以它自己的尺度，学习率的尺度本来就不同）；`β` 是动量系数（Momentum、Nesterov），`β1`、`β2` 是 Adam 一族的两个 EMA 系数，`α` 是 RMSProp 的 $\alpha$；`wd` 是 weight decay（对 Adam、NAdam 是 L2，对 AdamW 是解耦衰减）。关掉的优化器，它那一行的滑块是灰的。
# - **surface and start**：选曲面，再选起点。`start` 列出这个曲面上几个有名字的起点（第一个是默认起点 "default"；其余的比如 `saddle` 上的 "saddle ridge" 正好在山脊上，`multi_minima` 上的 "near the second minimum" 在第二个极小点旁边）；勾选 "free start (sliders)"，才出现两个起点滑块，可以把起点放在任何地方（−1 和 1 是视野的两条边，0 是中间）。
# - **steps**：`steps` 是跑多少步，`step t` 是看第几步。每个优化器在第 $t$ 步的位置在地形图上画成大圆点，在右边的 $f(\omega) - f^*$ 曲线上也有同色的点；点 `step t` 左边的 ▶（播放，Play）按钮，$t$ 就一步步往前走，能看到谁先冲过头、谁在谷底来回晃。每条路径只在设置改变时算一次，拖动 $t$ 只移动圆点。
#
# 下方的表格给出每个优化器在第 $t$ 步的位置和 $f - f^*$，以及 `steps` 步后的 $f - f^*$。$f - f^*$ 小于 $10^{-12}$ 时只写 "< 1e-12"（再往下已经是舍入误差）。有的结果是**混沌的**（chaotic）：把起点挪动 $10^{-9}$ 再跑一遍，结果就变了 0.1% 以上（比如 `rosenbrock` 上的 RMSProp：把 $\beta_2$ 在第 16 位有效数字上改一下，300 步后的 $f - f^*$ 就从 0.78 变成 0.40）。这种结果表格只给一位有效数字并注明 "(chaotic)"：它的数量级有意义，具体数字没有。
#
# 在 `quadratic` 上，右侧多出 Distill 文章里的**分量视图**：把误差 $\omega_k - \omega^*$ 沿 Hessian 的两个特征向量分解（这里就是 $x$ 和 $y$ 两个方向，曲率 $\lambda = 1$ 和 $10$），画出每个分量的绝对值随步数的变化（对数坐标，实线 $\lambda = 1$，虚线 $\lambda = 10$）。上图是 SGD 那一行的设置（普通梯度下降），下图是 Momentum 那一行（重球法）；灰线是第 4.2 节的最优设置：GD 取 $\alpha^* = 2/(\lambda_1 + \lambda_2) = 0.182$，两个分量都按 $(\kappa-1)/(\kappa+1) = 0.818$ 每步缩小；动量取 $\alpha^* = 0.231$、$\beta^* = 0.270$，按 $(\sqrt\kappa-1)/(\sqrt\kappa+1) = 0.519$ 缩小。对数坐标上，每步缩小的倍数就是直线的斜率。
#
# 可以试试（和第 4.2 节一样，直角引号里的名字是面板上方"试试："那一行的按钮，点一下就把面板设成这个实验；按钮没提到的控件回到面板打开时的值，"↺ 默认"回到开头）：
#
# 1. 「SGD 不发散」「SGD 发散」：`rosenbrock` 上，SGD 那一行的学习率超过约 0.006 就发散：滑块上 0.005（准确值 $10^{-2.3} \approx 0.00501$）及以下都不发散，往右一格 0.0063（$10^{-2.2} \approx 0.00631$）及以上都发散，表里写着 "diverged at step …"（起点处谷壁的曲率是 1330）。「Adam lr=1」：Adam 在它整个学习率滑块上（0.001–1）都不发散，这个按钮把它放在最右端：自适应方法把梯度除以它自己的尺度，对曲率的大小不敏感；
# 2. 「鞍点山脊」：`saddle` 上把 `start` 选成 "saddle ridge"，起点就是 $(-2, 0)$，正好在山脊上：梯度的 $y$ 分量恒为 0，所有优化器都只能沿 $x$ 轴走，永远离不开 $y = 0$ 这条线。走得快的（动量、RMSProp、Adam）300 步内停到了鞍点上。表里 RMSProp 和 Adam 这时标着 "chaotic"：检验时起点被挪开 1e-9，离开了山脊，于是滑下去了；这说明停在鞍点上是一种不稳定的平衡，稍一扰动就保不住，并不是轨迹本身在乱跳；SGD 用默认的 lr = 0.001 每步只把 $x$ 缩小 0.2%，300 步后还在半路（从 $x = -2$ 出发停在 $-1.10$）。「离开山脊」：换回默认起点 "default (just off the ridge)"（$y = 0.01$），按 ▶ 看：动量和 Adam 300 步内都滑下了山脊（$y$ 从 0.01 到了 1 以上）；
# 3. 「平原」：`plateau` 上，SGD 几乎不动（300 步挪了不到 0.002）。自适应方法把梯度除以它自己的尺度，所以坡再缓也照样迈步：Adam 在平原上每步每个坐标移动约 $\eta$（$\hat m/\sqrt{\hat v} \approx \pm 1$）；RMSProp 的步子开头大得多：$V$ 从 0 起步，前两步每个坐标都移动约 $\eta/\sqrt{1-\alpha} = 10\eta$（$\alpha = 0.99$），两步就跳出了平原（「平原 t=2」把 `step t` 放在 2：RMSProp 的圆点刚离开平原；再拖到 1 比一比）。之后它在坑里来回跳，不会停下：步子和梯度的大小无关，梯度变小时也不缩小，每步的位移长度 $|\Delta\omega|$ 前 20 步平均约 0.6（$6\eta$），300 步平均约 0.17（$1.7\eta$），300 步后 $f - f^*$ 还有约 0.015；Adam 的一阶矩把来回的方向平均掉，300 步后已降到 $10^{-12}$ 以下（「Adam β1=0」把 Adam 那一行的 `β1` 调到 0，Adam 也像 RMSProp 一样停不下来）；
# 4. `multi_minima` 有四个极小点（星号）：最深的在左下 $(-0.80, -1.62)$；左边 $(-1.90, 0.29)$ 的高出约 0.18，右边的高出约 0.65，上面那个最浅，高出约 0.83，默认起点就在它旁边。「第二个坑」：起点 "near the second minimum" 在左边那个坑旁，四个优化器都停在（SGD 还在滑向）这个坑里，谁也不知道左下还有更深的；「两坑之间」：起点 "between the wells" 夹在两个坑之间，Momentum 滑进左边的坑，RMSProp 和 Adam 落进最深的坑，SGD 300 步只挪了约 0.1；「自选起点」：勾选了 "free start (sliders)"，两个起点滑块都在 0.5，起点是 $(1.25, 1.25)$：SGD、Momentum、Adam 都往上面那个最浅的坑走，RMSProp 第一步每个坐标就移动约 1（$10\eta$，见第 3 条），跨过了山脊，落进右边的坑。再拖这两个滑块，自己换几个起点看看；
# 5. 「wd=0」「wd=0.5」：`rosenbrock` 上打开 AdamW。两行的 `wd` 都是 0 时，Adam 和 AdamW 是同一个算法，两条路径完全重合；把两行的 `wd` 都调到 0.5，两条路径就分开了（一个是 L2，一个是解耦衰减）；
# 6. 「分量视图」：`quadratic` 上看分量视图。SGD 那一行的 lr 是 0.001 时，上图里 SGD 颜色的两条线（实线 $\lambda = 1$、虚线 $\lambda = 10$）几乎是平的；「GD 近 α*」拖到 0.158（滑块上最接近 $\alpha^*$ 而不超过它的值，准确值 $10^{-0.8} \approx 0.1585$），两个分量的最大缩小率是 0.842，接近最优的 0.818；「刚过 α*」再往右一格到约 0.200（滑块上的值是 $10^{-0.7} \approx 0.1995$，刚过 $\alpha^*$），$\lambda = 10$ 的分量每步变号、几乎不缩小（$|1 - 0.1995 \times 10| = 0.995$）；「GD 发散」再一格到 0.251 就发散了。「动量最快」：Momentum 那一行取 lr = 0.200（同样是滑块上的 0.1995）、$\beta$ = 0.31，这是滑块上缩小得最快的组合，最大缩小率约 0.557，比 GD 在滑块上最好的 0.842 快得多；在下图里能看到 $\lambda = 10$ 的分量（虚线）来回震荡：这时它的特征根是复数，$|z| = \sqrt\beta$。「浅特征向量」把 `start` 选成 "on the shallow eigenvector"（SGD 的 lr 放在 0.158）：误差只剩 $\lambda = 1$ 这一个分量，另一条线消失了（它是 0）。
#
# 最后一行 NAdam 是 Adam 加上 Nesterov 式的"往前看一步"（`torch.optim.NAdam`）。它在 `helpers.optim` 里是一个类加 `OPTIMIZERS` 里的一条记录，面板的那一行控件、颜色、图例和表格都从记录里生成，不用改面板的代码。

# %%
race_panel = optimizer_race_panel()
race_panel

# %% [markdown]
# **验证**：面板为了速度，把每个优化器自己的 `update`（就是前面 `show_source` 显示的那几行）直接用在 Python 浮点数上，一次算一个坐标（`helpers.optim.race_path`，梯度用复数步长法精确求出）。
# 面板里的每个优化器都是 `helpers.optim.OPTIMIZERS` 里的一条记录：名字、用到的滑块、`helpers.optim` 里的类、对应的 `torch.optim` 类和公式。下面逐条拿它和 `torch.optim` 在所有曲面上比 30 步：

# %%
# NBVAL_CHECK_OUTPUT
others = {"beta1": 0.8, "beta2": 0.95, "weight_decay": 0.3}   # lr: half the slider's default
torch.set_default_dtype(torch.float64)   # torch.optim.NAdam keeps its product of momenta in the default dtype
worst = 0.0
for name, spec in optim.OPTIMIZERS.items():
    hp = {h.name: h.default / 2 if h.name == "lr" else others[h.name] for h in spec.hypers}
    for surface in SURFACES.values():
        ours, _ = optim.race_path(name, surface.fn, surface.start, 30, **hp)
        theirs, _ = optim.optimize_path(surface.fn, surface.start, lambda p: spec.torch(p, **hp), 30)
        worst = max(worst, (torch.from_numpy(ours) - theirs).abs().max().item())
torch.set_default_dtype(torch.float32)
print(f"{len(optim.OPTIMIZERS)} 个优化器 x {len(SURFACES)} 个曲面 x 30 步，与 torch.optim 的最大差 < 1e-9：{worst < 1e-9}")
assert worst < 1e-9

# %% [markdown]
# **验证**：上面"可以试试"里第 1 到 5 条说的结果（第 6 条在本节最后），以及第 4 节关于 Nesterov 的那句话。每条的设置都从面板的按钮读出来，不在这里另抄一份：`race_panel.state_values("SGD 发散")` 是按下这个按钮后每个控件的值（按钮没提到的就是面板打开时的默认值：SGD 一族 lr = 0.001，自适应一族 lr = 0.1，$\beta_1 = 0.9$，$\beta_2 = 0.99$，300 步）。说"滑块上"的，就把滑块上的每个值都跑一遍。

# %%
# NBVAL_CHECK_OUTPUT
settings = {state: race_panel.state_values(state) for state in [None, *race_panel.states]}   # None: the defaults
def race(name, state=None, **changes):
    """Optimizer `name`'s run in the race panel with button `state` pressed (its surface, start, steps and that
    optimizer's row), then `changes` to the row's sliders."""
    v = settings[state]
    surf = SURFACES[v["surface"]]
    start = (optim.view_point(surf, v["x0"], v["y0"]) if v["free_start"]
             else optim.NAMED_STARTS[surf.name][v[f"start_{surf.name}"]])
    hp = {h.name: changes.get(h.name, v[f"{name}_{h.name}"]) for h in optim.OPTIMIZERS[name].hypers}
    return optim.race_path(name, surf.fn, start, v["steps"], **hp)

# %%
# NBVAL_CHECK_OUTPUT
def positions(slider):
    """Every position of one of the panel's log sliders: 10**(min + k*step), its top end exactly."""
    return [min(10 ** (slider.min + k * slider.step), 10 ** slider.max)
            for k in range(round((slider.max - slider.min) / slider.step) + 1)]

print("按钮：", list(race_panel.states))
assert all(v["steps"] == 300 for v in settings.values())

# %%
# NBVAL_CHECK_OUTPUT
rb = SURFACES["rosenbrock"]
sgd_diverged = {lr: not math.isfinite(race("SGD", "SGD 发散", lr=lr)[1][-1]) for lr in positions(race_panel.controls["SGD_lr"])}
adam_lrs = positions(race_panel.controls["Adam_lr"])
adam_finite = all(math.isfinite(race("Adam", "Adam lr=1", lr=lr)[1][-1]) for lr in adam_lrs)
curvature = torch.autograd.functional.hessian(lambda w: rb.fn(w[0], w[1]), torch.tensor(rb.start, dtype=torch.float64))
stable, unstable = settings["SGD 不发散"]["SGD_lr"], settings["SGD 发散"]["SGD_lr"]
print(f"1. rosenbrock：SGD 不发散的最大 lr {max(lr for lr, bad in sgd_diverged.items() if not bad):.5f}，"
      f"发散的最小 lr {min(lr for lr, bad in sgd_diverged.items() if bad):.5f}；起点处的曲率 {curvature.diag().tolist()}；"
      f"Adam 整个滑块都不发散 {adam_finite}（lr = 1 时 300 步后 f - f* = {race('Adam', 'Adam lr=1')[1][-1]:.3f}）")
assert all(bad == (lr > 0.006) for lr, bad in sgd_diverged.items()) and adam_finite and round(curvature[0, 0].item()) == 1330
assert stable == max(lr for lr, bad in sgd_diverged.items() if not bad) and unstable == min(lr for lr, bad in sgd_diverged.items() if bad)
assert (round(stable, 3), round(stable, 5), round(unstable, 4), round(unstable, 5)) == (0.005, 0.00501, 0.0063, 0.00631)
assert settings["SGD 发散"]["surface"] == "rosenbrock" and settings["Adam lr=1"]["Adam_lr"] == max(adam_lrs) == 1

# %%
# NBVAL_CHECK_OUTPUT
assert optim.NAMED_STARTS["saddle"][settings["鞍点山脊"]["start_saddle"]] == (-2.0, 0.0)
assert optim.NAMED_STARTS["saddle"][settings["离开山脊"]["start_saddle"]] == (-2.0, 0.01)
ends = {name: race(name, "鞍点山脊")[0][-1] for name in optim.OPTIMIZERS}
print("2. saddle，从 (-2, 0) 出发 300 步后的 x：", {name: round(float(end[0]), 3) for name, end in ends.items()})
assert all(end[1] == 0 for end in ends.values()) and abs(ends["SGD"][0] + 1.10) < 0.01
assert all(abs(ends[name][0]) < 0.01 for name in ("Momentum", "Nesterov", "RMSProp", "Adam"))
assert all(race(n, "离开山脊")[0][-1][1] > 1 for n in ("Momentum", "Adam"))   # from y = 0.01: slid off the ridge
excess = {(n, s): race(n, state)[1][-1] - optim.lowest_value(SURFACES[s])
          for n in ("Momentum", "Nesterov") for s, state in (("saddle", "离开山脊"), ("rosenbrock", None))}
print("Nesterov 与动量 300 步后的 f - f*：", {f"{n} {s}": f"{e:.3f}" for (n, s), e in excess.items()})
assert excess["Nesterov", "saddle"] < excess["Momentum", "saddle"] and excess["Nesterov", "rosenbrock"] > excess["Momentum", "rosenbrock"]

# %%
# NBVAL_CHECK_OUTPUT
path_sgd, _ = race("SGD", "平原")
path_adam, f_adam = race("Adam", "平原")
path_rms, f_rms = race("RMSProp", "平原")
moved = float(((path_sgd[-1] - path_sgd[0]) ** 2).sum() ** 0.5)
adam_steps = abs(path_adam[1:] - path_adam[:-1]).max(axis=1)[f_adam[:-1] > 0.9]
rms_steps = abs(path_rms[1:] - path_rms[:-1]).max(axis=1)[f_rms[:-1] > 0.9]
t_left = settings["平原 t=2"]["t"]
print(f"3. plateau：SGD 300 步挪了 {moved:.4f}；Adam 在平原上（f > 0.9）走了 {len(adam_steps)} 步，每步每坐标最多移动 "
      f"{adam_steps.min():.3f}–{adam_steps.max():.3f}；RMSProp 只在平原上走了 {len(rms_steps)} 步，"
      f"前两步每个坐标移动 {abs(path_rms[1:3] - path_rms[:2]).round(3).tolist()}；第 {t_left} 步的 f = {f_rms[t_left]:.3f}")
assert moved < 0.002 and all(0.09 < d < 0.11 for d in adam_steps) and len(rms_steps) == 2
assert (abs(abs(path_rms[1:3] - path_rms[:2]) - 0.1 / math.sqrt(1 - 0.99)) < 0.01).all()   # 10 eta, up to eps
assert settings["平原"]["RMSProp_beta2"] == 0.99 and settings["平原"]["RMSProp_lr"] == 0.1
assert t_left == 2 and (f_rms[:t_left] > 0.9).all() and f_rms[t_left] <= 0.9   # at t = 2 the dot has just left

# %%
# NBVAL_CHECK_OUTPUT
rms_length = (((path_rms[1:] - path_rms[:-1]) ** 2).sum(axis=1)) ** 0.5         # |Δw| of every step
adam_no_momentum = race("Adam", "Adam β1=0")[1][-1]
print(f"   RMSProp 的 |Δw|：前 20 步平均 {rms_length[:20].mean():.2f}，300 步平均 {rms_length.mean():.2f}；300 步后 f - f*："
      f"RMSProp {f_rms[-1]:.3f}，Adam {f_adam[-1]:.0e}，beta1 = 0 的 Adam {adam_no_momentum:.3f}")
assert 0.5 < rms_length[:20].mean() < 0.7 and 0.14 < rms_length.mean() < 0.2
assert f_rms[-1] > 0.01 and adam_no_momentum > 0.01 and f_adam[-1] < 1e-12
assert settings["Adam β1=0"]["Adam_beta1"] == 0 and settings["Adam β1=0"]["surface"] == "plateau"

# %% [markdown]
# 第 4 条：`multi_minima` 的四个极小点各高出最深的多少，每个优化器 300 步后离哪个最近（`helpers.optim.race_chaotic` 也确认这些结果都不是混沌的：起点挪动 $10^{-9}$，结果不变）：

# %%
# NBVAL_CHECK_OUTPUT
mm = SURFACES["multi_minima"]
heights = [float(mm.fn(torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64))) - optim.lowest_value(mm)
           for a, b in mm.minima]
print("4. 极小点（最深的在前）：", [(round(a, 2), round(b, 2)) for a, b in mm.minima], "高出最深的：", [round(h, 2) for h in heights])
assert [(round(a, 2), round(b, 2)) for a, b in mm.minima[:2]] == [(-0.8, -1.62), (-1.9, 0.29)]
assert [round(h, 2) for h in heights] == [0.0, 0.18, 0.65, 0.83]
assert mm.minima[3][1] > 1 and mm.minima[2][0] > 1 and mm.minima[1][0] < -1    # the top, right and left ones
assert min(range(4), key=lambda i: math.dist(mm.minima[i], mm.start)) == 3      # the default start: by the shallowest

# %%
# NBVAL_CHECK_OUTPUT
def well(name, state):
    """Which minimum (0: the deepest) optimizer `name` ends nearest to, in the race panel's state `state`."""
    end = race(name, state)[0][-1]
    return min(range(4), key=lambda i: math.dist(mm.minima[i], end))
shown = [n for n in optim.OPTIMIZERS if settings["第二个坑"][n]]     # the four rows switched on in the panel
wells = {state: {n: well(n, state) for n in shown} for state in ("第二个坑", "两坑之间", "自选起点")}
print("   离谁最近：", wells)
assert shown == ["SGD", "Momentum", "RMSProp", "Adam"]
assert wells["第二个坑"] == dict.fromkeys(shown, 1)

# %%
assert race("SGD", "第二个坑")[1][-1] - optim.lowest_value(mm) > heights[1] + 0.01   # SGD: still sliding in
assert {n: wells["两坑之间"][n] for n in ("Momentum", "RMSProp", "Adam")} == {"Momentum": 1, "RMSProp": 0, "Adam": 0}
sgd_between = race("SGD", "两坑之间")[0]
assert round(math.dist(sgd_between[0], sgd_between[-1]), 1) == 0.1
free = race("RMSProp", "自选起点")[0]
assert tuple(free[0]) == (1.25, 1.25) and (settings["自选起点"]["x0"], settings["自选起点"]["y0"]) == (0.5, 0.5)
assert wells["自选起点"] == {"SGD": 3, "Momentum": 3, "RMSProp": 2, "Adam": 3}
assert (abs(abs(free[1] - free[0]) - 1.0) < 0.01).all()                        # first step: ~10 eta = 1 per coordinate

# %%
for state in ("第二个坑", "两坑之间", "自选起点"):
    v = settings[state]
    start = optim.view_point(mm, v["x0"], v["y0"]) if v["free_start"] else optim.NAMED_STARTS[mm.name][v["start_multi_minima"]]
    for n in shown:
        hp = {h.name: v[f"{n}_{h.name}"] for h in optim.OPTIMIZERS[n].hypers}
        assert not optim.race_chaotic(n, mm.fn, start, 300, optim.lowest_value(mm), **hp), (state, n)

# %%
# NBVAL_CHECK_OUTPUT
split = max(abs(race("Adam", "wd=0.5")[0] - race("AdamW", "wd=0.5")[0]).max(axis=1))
same = bool((race("Adam", "wd=0")[0] == race("AdamW", "wd=0")[0]).all())
print(f"5. weight decay 0.5：Adam(L2) 与 AdamW 的路径最远相差 {split:.2f}；weight decay 0 时两条路径完全相同：{same}")
assert split > 0.1 and same
assert settings["wd=0.5"]["Adam_weight_decay"] == settings["wd=0.5"]["AdamW_weight_decay"] == 0.5
assert settings["wd=0"]["AdamW"] and settings["wd=0"]["Adam_weight_decay"] == settings["wd=0"]["AdamW_weight_decay"] == 0

# %% [markdown]
# **验证**：表格里的"混沌"说的是什么。`rosenbrock` 上的 RMSProp，$\beta_2$ 只在第 16 位有效数字上不同，300 步后的 $f - f^*$ 就差了一倍；`helpers.optim.race_chaotic` 用表格的规则（起点挪动 $10^{-9}$，结果变了 0.1% 以上）也判它混沌，而同一曲面上的 SGD、Adam 不混沌：

# %%
# NBVAL_CHECK_OUTPUT
f_min = optim.lowest_value(rb)
beta2_nudged = {b: race("RMSProp", beta2=b)[1][-1] - f_min for b in (0.99, 0.99 + 2 ** -53)}
chaotic = {n: optim.race_chaotic(n, rb.fn, rb.start, 300, f_min, **{h.name: settings[None][f"{n}_{h.name}"] for h in optim.OPTIMIZERS[n].hypers})
           for n in ("SGD", "RMSProp", "Adam")}
print("RMSProp 300 步后的 f - f*：", {f"beta2 = {b!r}": f"{g:.2f}" for b, g in beta2_nudged.items()}, "；判为混沌：", chaotic)
assert max(beta2_nudged.values()) > 1.5 * min(beta2_nudged.values()) and chaotic == {"SGD": False, "RMSProp": True, "Adam": False}

# %% [markdown]
# **验证**：分量视图。`helpers.optim.eigen_errors` 把误差沿特征向量的每个分量单独按 `SGD.update` 迭代（二次函数上各分量互不影响），它先要和 `torch.optim.SGD` 的路径一致；再在最优设置下量出最慢分量每步缩小的倍数，和闭式解 $(\kappa-1)/(\kappa+1)$、$(\sqrt\kappa-1)/(\sqrt\kappa+1)$ 比。动量在 $\beta^*$ 处特征根是重根，误差是 $(c_1 + c_2 k) r^k$，所以量第 300 到 600 步的几何平均：

# %%
# NBVAL_CHECK_OUTPUT
lams, quad = (1.0, 10.0), SURFACES["quadratic"]
kappa = lams[1] / lams[0]
(a_gd, _), (a_hb, b_hb, _) = optim.gd_optimal(*lams), optim.momentum_optimal(*lams)
theirs, _ = optim.optimize_path(quad.fn, quad.start, lambda p: torch.optim.SGD(p, lr=a_hb, momentum=b_hb), 50)
assert (torch.from_numpy(optim.eigen_errors(lams, quad.start, a_hb, b_hb, 50)) - theirs).abs().max() < 1e-12
e = abs(optim.eigen_errors(lams, quad.start, a_gd, 0.0, 60))
gd_rate = (e[1:] / e[:-1]).max()
e = abs(optim.eigen_errors(lams, quad.start, a_hb, b_hb, 600))
hb_rate = ((e[600] / e[300]) ** (1 / 300)).max()
print(f"GD: alpha* = {a_gd:.4f}，量得 {gd_rate:.4f}，闭式 (kappa-1)/(kappa+1) = {(kappa - 1) / (kappa + 1):.4f}")
print(f"动量: alpha* = {a_hb:.4f}，beta* = {b_hb:.4f}，量得 {hb_rate:.4f}，闭式 = {(kappa ** 0.5 - 1) / (kappa ** 0.5 + 1):.4f}")
assert math.isclose(gd_rate, (kappa - 1) / (kappa + 1), rel_tol=1e-9)
assert math.isclose(hb_rate, (kappa ** 0.5 - 1) / (kappa ** 0.5 + 1), rel_tol=5e-3)

# %% [markdown]
# **验证**：第 6 条里说的滑块上的值（SGD 一族的 lr 滑块是 $10^{-4}$ 到 1、每格 $10^{0.1}$；$\beta$ 滑块每格 0.01）和它那几个按钮的设置。缩小率用 `component_rates`（每个分量的 $2\times2$ 迭代矩阵的谱半径）：

# %%
# NBVAL_CHECK_OUTPUT
lr_slider, beta_slider = race_panel.controls["Momentum_lr"], race_panel.controls["Momentum_beta1"]
assert (lr_slider.min, lr_slider.max, lr_slider.step, beta_slider.step) == (-4, 0, 0.1, 0.01)
lr_grid = positions(lr_slider)
beta_grid = [round(beta_slider.min + k * beta_slider.step, 12) for k in range(round((beta_slider.max - beta_slider.min) / beta_slider.step) + 1)]
rate = lambda lr, beta=0.0: optim.component_rates(lams, lr, beta).max()
below, above = max(lr for lr in lr_grid if lr <= a_gd), sorted(lr for lr in lr_grid if lr > a_gd)[:2]
best = min((rate(lr, b), lr, b) for lr in lr_grid for b in beta_grid)
print(f"6. GD: lr = {below:.4f} 缩小率 {rate(below):.3f}；{above[0]:.4f}：{rate(above[0]):.3f}；{above[1]:.3f}：{rate(above[1]):.3f}")
print(f"   动量在滑块上最好：lr = {best[1]:.4f}，beta = {best[2]}，缩小率 {best[0]:.3f}")
assert round(below, 3) == 0.158 and round(below, 4) == 0.1585 and round(rate(below), 3) == 0.842
assert round(above[0], 4) == 0.1995 and round(rate(above[0]), 3) == 0.995 < 1 < rate(above[1]) and round(above[1], 3) == 0.251
assert (round(best[1], 3), best[2], round(best[0], 3)) == (0.2, 0.31, 0.557)
assert (1 + 0.31 - best[1] * lams[1]) ** 2 < 4 * 0.31       # lambda = 10 at beta = 0.31: complex roots, it oscillates

# %%
# the buttons of suggestion 6 are these settings
assert all(settings[s]["surface"] == "quadratic" for s in ("分量视图", "GD 近 α*", "刚过 α*", "GD 发散", "动量最快", "浅特征向量"))
assert settings["分量视图"]["SGD_lr"] == 0.001 and rate(0.001) > 0.99                    # the flat lines
assert [settings[s]["SGD_lr"] for s in ("GD 近 α*", "刚过 α*", "GD 发散")] == [below, *above]
assert (settings["动量最快"]["Momentum_lr"], settings["动量最快"]["Momentum_beta1"]) == best[1:]
shallow_start = optim.NAMED_STARTS["quadratic"][settings["浅特征向量"]["start_quadratic"]]
assert quad.minima[0] == (0.0, 0.0) and settings["浅特征向量"]["SGD_lr"] == below   # the error is the start itself
shallow = optim.eigen_errors(lams, shallow_start, below, 0.0, 300)
assert (shallow[:, 1] == 0).all() and (shallow[:, 0] != 0).all()

# %% [markdown]
# ## 10. 训练循环
#
# ### 10.1 笔记的四段示例代码
#
# 笔记给 SGD+动量、AdaGrad、RMSProp、Adam 各写了一段训练循环，结构都一样：`zero_grad` → 前向算损失 → `backward` → `step`。
# 代码能跑，但有几处要改：没有固定随机种子（每次结果不同）；每一步打印一行（100 行输出）；动量那段和笔记自己的公式不一致（第 4 节的勘误）；RMSProp 那段的 `alpha=0.9` 不是默认值（第 6 节的勘误）。
# 下面把共同的循环写成一个函数，固定数据，只记录损失：

# %%
def notes_loop(make_optimizer, steps=100):
    """The notes' loop on their data (10 samples, 3 features -> 2 outputs), seeded; returns every loss."""
    torch.manual_seed(0)
    x, y = torch.randn(10, 3), torch.randn(10, 2)
    model = nn.Linear(3, 2)
    optimizer = make_optimizer(model.parameters())
    criterion = nn.MSELoss()
    losses = []
    for step in range(steps):
        optimizer.zero_grad()            # 清掉上一步累积的梯度
        loss = criterion(model(x), y)    # 前向传播，算损失
        loss.backward()                  # 反向传播，算梯度
        optimizer.step()                 # 用梯度更新参数
        losses.append(loss.item())
    return losses

# %% [markdown]
# 这是一个线性最小二乘问题，最优损失可以直接解出来，作为参照：

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
x_lin, y_lin = torch.randn(10, 3), torch.randn(10, 2)
X1 = torch.cat([x_lin, torch.ones(10, 1)], dim=1)            # 加一列 1 表示偏置
best = nn.functional.mse_loss(X1 @ torch.linalg.lstsq(X1, y_lin).solution, y_lin).item()
print(f"最优损失（最小二乘解）= {best:.4f}")

# %%
examples = {
    "SGD(lr=0.01, momentum=0.9)        ": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9),
    "笔记公式: SGD(lr=0.01*0.1, mom=0.9)": lambda p: torch.optim.SGD(p, lr=0.01 * (1 - 0.9), momentum=0.9),
    "Adagrad(lr=0.01, eps=1e-10)       ": lambda p: torch.optim.Adagrad(p, lr=0.01, eps=1e-10),
    "RMSprop(lr=0.01, alpha=0.9)       ": lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-10),
    "Adam(lr=0.001)                    ": lambda p: torch.optim.Adam(p, lr=0.001, betas=(0.9, 0.999), eps=1e-8),
}
results = {name: notes_loop(make) for name, make in examples.items()}
for name, losses in results.items():
    print(f"{name}  第 0 步 {losses[0]:.4f}  第 99 步 {losses[-1]:.4f}")

# %% [markdown]
# 100 步后只有动量（PyTorch 写法，有效学习率约 $0.01/(1-0.9) = 0.1$）和 RMSProp 接近了最优损失；按笔记公式的动量（有效学习率 0.01）、AdaGrad（有效学习率不断变小）和 Adam（`lr=0.001`，每个参数每步最多移动约 0.001）都还差得远（下一格检查）。
# 这不是说它们"更差"，而是同一个 `lr` 数值对不同优化器的含义不同：比较优化器之前，要先给每个优化器调自己的学习率。

# %%
# NBVAL_CHECK_OUTPUT
excess = {name.strip(): losses[-1] - best for name, losses in results.items()}
print("第 99 步离最优损失还差：", {name: round(e, 3) for name, e in excess.items()})
close, far = [excess[n] for n in excess if n.startswith(("SGD(", "RMSprop"))], \
    [excess[n] for n in excess if not n.startswith(("SGD(", "RMSprop"))]
assert max(close) < 0.05 and min(far) > 4 * max(close)

# %% [markdown]
# ### 10.2 同一个网络、同一份数据，比较所有优化器
#
# 用手写数字训练一个小的多层感知机（64 → 64 → 10），每个优化器用同样的初始权重、同样的批次顺序、各自常用的学习率，训练 10 个 epoch，通过课程统一的 `helpers.training.fit` 完成（Nesterov 和 NAdam 这里省略，可以在第 9 节的面板里比较）：

# %%
def make_mlp():
    torch.manual_seed(0)          # the same initial weights for every optimizer
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))

choices = {
    "SGD lr=0.1": lambda p: torch.optim.SGD(p, lr=0.1),
    "Momentum lr=0.02": lambda p: torch.optim.SGD(p, lr=0.02, momentum=0.9),
    "AdaGrad lr=0.05": lambda p: torch.optim.Adagrad(p, lr=0.05),
    "RMSProp lr=1e-3": lambda p: torch.optim.RMSprop(p, lr=1e-3),
    "Adam lr=1e-3": lambda p: torch.optim.Adam(p, lr=1e-3),
    "AdamW lr=1e-3": lambda p: torch.optim.AdamW(p, lr=1e-3, weight_decay=0.01),
}

# %%
histories = {}
for name, make in choices.items():
    model = make_mlp()
    torch.manual_seed(1)          # the same batch order for every optimizer
    histories[name] = fit(model, (X_train, y_train), nn.CrossEntropyLoss(), make(model.parameters()),
                          epochs=10, batch_size=64, val_data=(X_val, y_val), metrics={"acc": accuracy}, progress=False)
show(plot_histories(histories, keys=("train_loss", "val_loss", "val_acc"), logy=False))

# %% [markdown]
# **验证**：每个优化器都把训练损失降了一半以上，验证准确率都远高于随机猜测的 0.1；打印最后一个 epoch 的结果。

# %%
for name, h in histories.items():
    print(f"{name:18s} 训练损失 {h.train_loss[0]:.2f} -> {h.train_loss[-1]:.2f}，验证准确率 {h.metrics['val_acc'][-1]:.2f}")
    assert h.train_loss[-1] < h.train_loss[0] / 2 and h.metrics["val_acc"][-1] > 0.75
adam, adamw = histories["Adam lr=1e-3"], histories["AdamW lr=1e-3"]
shrink = 1 - (1 - 1e-3 * 0.01) ** (10 * len(loader))
print(f"Adam 与 AdamW 的训练损失最多相差 {max(abs(a - b) for a, b in zip(adam.train_loss, adamw.train_loss)):.4f}；"
      f"weight decay 让权重缩小 {shrink:.2%}")
assert max(abs(a - b) for a, b in zip(adam.train_loss, adamw.train_loss)) < 0.01 and 0.0021 < shrink < 0.0023

# %% [markdown]
# 这些数字会随随机种子（初始权重和批次顺序）变：换 5 个种子，10 个 epoch 后的验证准确率 SGD 是 0.81–0.92，其他几个在 0.90–0.97 之间。训练损失的排序在这 5 个种子上倒是一样的（AdaGrad 最低，Adam 最高），但那是这几个学习率的排序，学习率没有为这个问题调过，不能据此说哪个优化器更好。
# Adam 和 AdamW 的曲线几乎重合，因为 10 个 epoch 里 `weight_decay=0.01` 只让权重缩小了约 $1-(1-10^{-3}\cdot 0.01)^{220} \approx 0.2\%$。真正的差别出现在更难的地形上（第 9 节的面板：`rosenbrock` 上 SGD 的学习率超过 0.006 就发散，Adam 在整个学习率滑块上都不发散）和更深的网络里。实践中常见的经验（本章没有演示）：Adam/AdamW 对学习率不那么挑剔、上手快，是很多任务的默认选择；调得好的 SGD+动量在一些视觉任务上泛化更好。
#
# ## 小结
#
# - 一个 epoch 用完整个训练集，包含 $\lceil N/B \rceil$ 个 iteration（参数更新）；默认打乱方式下一个 epoch 不重复取样。
# - 梯度下降只看当前坡度：可能落入局部极小、在鞍点上停住或久久离不开、在平台上爬行，结果依赖起点。
# - EMA $v_t = \beta v_{t-1} + (1-\beta)x_t$ 的权重是 $(1-\beta)\beta^k$，前 $t$ 步之和为 $1-\beta^t$，除以它就是偏置修正。
# - 笔记的动量公式等于 `SGD(lr=η(1−β), momentum=β)`；PyTorch 的 `SGD(lr, momentum)` 第一步走 $\eta g_1$，梯度恒定时稳态的有效学习率是 $\eta/(1-\beta)$。
# - 二次函数上，最优梯度下降的速率是 $\frac{\kappa-1}{\kappa+1}$，最优动量是 $\frac{\sqrt\kappa-1}{\sqrt\kappa+1}$。
# - AdaGrad 的有效学习率只降不升；RMSProp 用 EMA 让它可以回升（PyTorch 默认 `alpha=0.99`），但开头几步偏大（第一步 $\eta/\sqrt{1-\alpha}$）。
# - Adam = 动量 + RMSProp + 偏置修正，第一步的位移是 $\eta$（忽略 $\varepsilon$）；AdamW 把权重衰减从梯度里解耦出来，和 `Adam(weight_decay=...)` 不同。
#
# ## 面试速答
#
# **问：动量法为什么能加速？**
# 答：它把历史梯度累加起来。在来回震荡的陡峭方向上正负梯度互相抵消，在一致的平缓方向上不断累加，相当于在缓的方向用了更大的步长。对二次函数，最优动量把收敛速率从 $\frac{\kappa-1}{\kappa+1}$ 提到 $\frac{\sqrt\kappa-1}{\sqrt\kappa+1}$。
#
# **问：PyTorch 的 `SGD(momentum=0.9)` 和教科书上的 EMA 动量一样吗？**
# 答：不一样。PyTorch 是 $v = 0.9v + g$，没有 $(1-\beta)$，梯度稳定时有效学习率大 10 倍；EMA 写法等价于 `SGD(lr=η(1−β), momentum=β)`。换算学习率时要注意。
#
# **问：AdaGrad 的问题是什么，RMSProp 怎么解决？**
# 答：AdaGrad 累加全部历史梯度平方，有效学习率只降不升，训练久了会降到几乎为 0。RMSProp 改用梯度平方的 EMA，旧梯度被遗忘，学习率能随最近的梯度尺度回升。
#
# **问：Adam 为什么要做偏置修正？**
# 答：$m$ 和 $v$ 都从 0 开始，前 $t$ 步的权重之和是 $1-\beta^t$ 而不是 1，估计值偏小。$\beta_1$ 和 $\beta_2$ 不同，两个偏差消失的速度不同，不修正时第一步会是学习率的 $(1-\beta_1)/\sqrt{1-\beta_2} \approx 3.16$ 倍。除以 $1-\beta^t$ 后第一步的位移就是 $\eta$（忽略 $\varepsilon$）。
#
# **问：L2 正则和权重衰减是一回事吗？**
# 答：只对不带动量的 SGD 是。带动量时 $\lambda\omega$ 进了动量缓冲，会被累加；在 Adam 里它还会被 $\sqrt{\hat v}$ 除掉。解耦的权重衰减（AdamW）每步直接把 $\omega$ 乘 $(1-\eta\lambda)$，不经过这些。
#
# **问：Adam 的 weight_decay 和 AdamW 有什么区别？**
# 答：Adam 把 $\lambda\omega$ 加进梯度，之后又被自适应分母缩放，梯度大的参数几乎不衰减；AdamW 在 Adam 更新之外单独做 $\omega \leftarrow \omega(1-\eta\lambda)$，每个参数按同样比例衰减。这正是"L2 正则"和"权重衰减"在自适应方法里不再等价的地方。
#
# ## 练习
#
# **练习 1**：按笔记的公式写 `notes_momentum(grads, lr, beta)`：从 $\omega_0 = 0$、$V_0 = 0$ 出发，对列表 `grads` 里的每个梯度做一步更新，返回每一步之后的 $\omega$（一个列表）。检查器会用几组不同的梯度、学习率和 $\beta$ 来试，并看你的函数实际运行了什么：`torch.optim` 的任何部分（包括 `torch.optim._functional` 的函数式写法）、`torch._foreach_*` 这类多张量算子和课程自带的优化器都不能用。

# %%
notes_momentum = None  # 在这里写你的函数：def notes_momentum(grads, lr, beta): ...
exercises.check_notes_momentum(notes_momentum)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# ```python
# def notes_momentum(grads, lr, beta):
#     w, V, path = 0.0, 0.0, []
#     for g in grads:
#         V = beta * V + (1 - beta) * g
#         w = w - lr * V
#         path.append(w)
#     return path
#
# exercises.check_notes_momentum(notes_momentum)
# ```
#
# </details>
#
# **练习 2**：写一步 Adam：`adam_step(w, g, m, v, t, lr, beta1, beta2, eps)` 返回更新后的 `(w, m, v)`，其中 `t` 从 1 开始，返回的 `m`、`v` 是**未修正**的 EMA。检查器会在三组设置下连续调用，并与 `torch.optim.Adam` 比较：默认设置、非默认的 `beta1`/`beta2`，以及梯度很小的一组（这时 $\hat v$ 远小于 `eps`，`eps` 放在根号里还是根号外差别很大）。和练习 1 一样，不能借用 `torch.optim` 的任何部分。

# %%
adam_step = None  # 在这里写你的函数：def adam_step(w, g, m, v, t, lr, beta1, beta2, eps): ...
exercises.check_adam_step(adam_step)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# ```python
# def adam_step(w, g, m, v, t, lr, beta1, beta2, eps):
#     m = beta1 * m + (1 - beta1) * g
#     v = beta2 * v + (1 - beta2) * g * g
#     m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
#     return w - lr * m_hat / (math.sqrt(v_hat) + eps), m, v
#
# exercises.check_adam_step(adam_step)
# ```
#
# </details>
#
# **练习 3**：用 PyTorch 默认设置的 `torch.optim.RMSprop(params, lr=0.01)`（$\alpha = 0.99$）更新一个参数，第一步的位移 $|\omega_1 - \omega_0|$ 是多少？（提示：和梯度大小无关。）

# %%
answer = None  # 在这里写你的答案（一个数）
exercises.check_rmsprop_first_step(answer)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# $V_1 = (1-\alpha)g^2$，$|\Delta\omega| = \eta|g|/\sqrt{(1-\alpha)g^2} = \eta/\sqrt{1-\alpha} = 0.01/\sqrt{0.01} = 0.1$。
#
# ```python
# answer = 0.01 / math.sqrt(1 - 0.99)
# exercises.check_rmsprop_first_step(answer)
# ```
#
# </details>
#
# **练习 4**：一个二次函数的曲率落在 $[1, 100]$。按 Goh 的公式，`torch.optim.SGD` 最好取多大的 `lr` 和 `momentum`？把二元组 `(lr, momentum)` 赋给 `answer`，再到第 4.2 节的面板里选 $\kappa = 100$ 验证（面板的曲率是 $[0.01, 1]$，学习率要乘 100）。

# %%
answer = None  # 在这里写你的答案：(lr, momentum)
exercises.check_optimal_momentum(answer)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# $\sqrt\kappa = 10$：$\alpha = \big(2/(\sqrt1 + \sqrt{100})\big)^2 = (2/11)^2 \approx 0.0331$，$\beta = \big((10-1)/(10+1)\big)^2 = (9/11)^2 \approx 0.669$，速率 $9/11 \approx 0.818$。
#
# ```python
# answer = ((2 / 11) ** 2, (9 / 11) ** 2)
# exercises.check_optimal_momentum(answer)
# ```
#
# </details>
#
# [← 第4章 损失函数](04_losses.ipynb) · [第6章 学习率衰减 →](06_lr_schedules.ipynb)
