# %% [markdown]
# # 第3章 参数初始化 (Initialization)
#
# **学习目标**
#
# - 说清初始化的三个作用：让信号在深层网络里既不消失也不爆炸、让训练一开始就走得动、打破隐藏单元之间的对称性
# - 用 `torch.nn.init` 的**真实签名**初始化 `nn.Linear` / `nn.Conv2d`（每个函数都要传入要修改的张量）
# - 会算 fan_in / fan_out，并从方差出发推导 Kaiming 与 Xavier 的公式——包括"ReLU 减半的是**二阶矩**而不是方差"这个关键细节
# - 知道 `nn.Linear` 的默认初始化**不是** He 初始化
# - 在交互面板里观察深度、宽度、初始化和激活函数怎样决定前向信号与反向梯度的逐层变化
#
# **预计用时**：60–75 分钟
#
# **先修**：第1章（张量）、第2章（激活函数及其导数）

# %%
import inspect
import math

import numpy as np
import torch
import torch.nn as nn

# %%
from helpers import init as init_helpers, show_source
from helpers.exercises import init as exercises
from helpers.data import spirals
from helpers.init import (INIT_METHODS, apply_init, deep_signal_stats, fan_in_fan_out, init_distribution, kaiming_bound,
                          kaiming_std, relu_second_moment, relu_variance, sample_init, uniform_variance, xavier_bound, xavier_std)
from helpers.panels.init import depth_panel, init_gallery_figure, init_histogram_panel, layer_std_figure
from helpers.plotting import COLORS, new_figure, show
from helpers.training import fit, plot_histories
torch.set_num_threads(1)  # 本章的网络很小，单线程就够快

# %% [markdown]
# 训练开始之前，网络里的每个权重都必须先有一个数值，这就是参数初始化（parameter initialization）。
# 它看起来只是"随便给个起点"，其实决定了三件事：信号能不能顺利穿过几十层、梯度下降一开始有没有力气、同一层的神经元能不能各自学到不同的东西。
#
# 本章按笔记的顺序展开：先讲初始化的作用，再逐个介绍 `nn.init` 里的方法（常数、均匀、正态、Kaiming、Xavier），中间把 Kaiming 的方差推导重新做一遍，最后用同一个小网络比较几种初始化的训练曲线。
# 公式都在 `helpers/init.py` 里照着写了一份，本章会逐个拿它和 PyTorch 对数字。

# %% [markdown]
# ## 1. 初始化的作用
#
# ### 1.1 防止信号消失或爆炸
#
# 一个神经元先算加权和 $z = \sum_{i=1}^{fan_{in}} w_i x_i + b$，再过激活函数。先不管偏置 $b$（手动初始化时常置 0；PyTorch 的默认值是很小的均匀随机数，见 2.10 节）；如果权重彼此独立、均值为 0，并且与输入无关，那么
#
# $$\mathrm{Var}(z) = fan_{in}\cdot \mathrm{Var}(w)\cdot E[x^2]$$
#
# （推导见 2.8 节）。也就是说，$z$ 的尺度由"输入个数 × 权重方差"决定：
#
# - 权重**太大**：$|z|$ 很大，Sigmoid / Tanh 落进**饱和区**（saturation），导数接近 0，反向传播的梯度在这里几乎被"掐断"；
# - 权重**太小**：每过一层信号就缩小一截，几十层之后前向输出和反向梯度都小到可以忽略。
#
# 下面让 1000 个标准正态输入穿过一个 512 → 256 的层，再过 tanh，比较三种权重尺度。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
x = torch.randn(1000, 512)  # 均值 0、方差 1 的输入，fan_in = 512
for std in (1.0, 0.01, 1 / math.sqrt(512)):
    z = x @ (torch.randn(256, 512) * std).T
    a = torch.tanh(z)
    saturated = (a.abs() > 0.99).float().mean().item()
    print(f"std(w) = {std:.4f}: std(z) = {z.std():6.2f}, |tanh| > 0.99 的比例 = {saturated:.3f}, "
          f"平均导数 tanh'(z) = {(1 - a**2).mean():.3f}")

# %% [markdown]
# 权重标准差为 1 时 $\mathrm{std}(z)\approx\sqrt{512}\approx 22.6$，九成以上的单元饱和，tanh 的平均导数只剩 0.035 左右；标准差 0.01 时 $z$ 又太小（约 0.23）。
# 取 $\mathrm{std}(w) = 1/\sqrt{fan_{in}}$ 正好让 $\mathrm{Var}(z)\approx 1$。下图是两种尺度下 tanh 输出的分布：左边几乎全部挤在 ±1 上。

# %%
fig, axes = new_figure((8.0, 2.8), ncols=2)
for ax, std in zip(axes, (1.0, 1 / math.sqrt(512))):
    a = torch.tanh(x @ (torch.randn(256, 512) * std).T)
    ax.hist(a.flatten().numpy(), bins=60, color=COLORS["main"])
    ax.set(title=f"tanh(z) with std(w) = {std:.3f}", xlabel="activation", ylabel="count")
show(fig)

# %% [markdown]
# **验证**：$\mathrm{Var}(z) = fan_{in}\cdot\mathrm{Var}(w)\cdot E[x^2]$，以及"权重过大 → tanh 饱和"（饱和比例超过 0.9、平均导数在 0.03 到 0.04 之间）；$\mathrm{std}(w) = 0.01$ 时 $\mathrm{std}(z)$ 约 0.23。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(1)
for std in (1.0, 1 / math.sqrt(512)):
    z = x @ (torch.randn(256, 512) * std).T
    predicted = 512 * std**2 * (x**2).mean().item()
    print(f"std(w) = {std:.4f}: Var(z) = {z.var():.4g}, 公式 = {predicted:.4g}")
    assert abs(z.var().item() / predicted - 1) < 0.05
big_tanh = torch.tanh(x @ torch.randn(256, 512).T)
saturated, mean_slope = (big_tanh.abs() > 0.99).float().mean().item(), (1 - big_tanh**2).mean().item()
small_std = (x @ (torch.randn(256, 512) * 0.01).T).std().item()
print(f"std(w) = 1 时饱和比例 {saturated:.3f}，平均导数 {mean_slope:.4f}；std(w) = 0.01 时 std(z) = {small_std:.3f}")
assert saturated > 0.9 and 0.03 < mean_slope < 0.04 and abs(small_std - 0.01 * math.sqrt(512)) < 0.01

# %% [markdown]
# ### 1.2 提高收敛速度
#
# 好的起点让每一层的输出和梯度都处在"正常"的量级，优化器第一步就能有效地更新所有层；坏的起点则可能让损失在很多步里纹丝不动。
# 第 3 节会用同一个网络、同一个优化器，只换初始化，把这一点画成训练曲线。
#
# ### 1.3 打破对称性（symmetry breaking）
#
# 设隐藏层第 $j$ 个单元的输入权重是 $W$ 的第 $j$ 行 $W_{j,:}$，输出权重是 $v_j$。它的梯度是
#
# $$\frac{\partial L}{\partial W_{j,:}} = \delta_j\, x^\top,\qquad \delta_j = \frac{\partial L}{\partial z_j} = v_j\, f'(z_j)\,\frac{\partial L}{\partial \hat y}.$$
#
# 如果所有单元一开始的 $W_{j,:}$、$b_j$、$v_j$ 完全相同，它们的 $z_j$、$\delta_j$ 就完全相同，每一步的更新也完全相同——**永远**相同。
# 于是一层 3 个单元其实只相当于 1 个单元。下面用 `constant_` 把一个 4 → 3 → 1 的小网络全部设成 0.5，用 `fit` 训练 100 轮。
# 目标 $y = \tanh(2x_1) - \tanh(2x_2)$ 需要至少两个"方向不同"的单元才拟合得好。

# %%
torch.manual_seed(0)
X = torch.randn(128, 4)
y = torch.tanh(2 * X[:, :1]) - torch.tanh(2 * X[:, 1:2])


def small_net(constant=None):
    net = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 1))
    if constant is not None:
        for p in net.parameters():
            nn.init.constant_(p, constant)  # 所有参数取同一个值
    return net


# %%
symmetric, random_init = small_net(constant=0.5), small_net()
runs = {name: fit(net, (X, y), nn.MSELoss(), torch.optim.SGD(net.parameters(), lr=0.3), epochs=100, progress=False)
        for name, net in (("constant 0.5", symmetric), ("default random", random_init))}
print(symmetric[0].weight.data)

# %%
show(plot_histories(runs, keys=("train_loss",), title="same net, constant vs random init (train MSE)", logy=True))

# %% [markdown]
# **验证**：常数初始化训练 100 轮后，三行权重仍然逐位相同；随机初始化的网络损失低得多。

# %%
# NBVAL_CHECK_OUTPUT
W = symmetric[0].weight.data
v = symmetric[2].weight.data.squeeze()
print(f"第一层三行权重之间的最大差值：{(W - W[0]).abs().max().item():.1e}")
print(f"输出层三个权重之间的最大差值：{(v - v[0]).abs().max().item():.1e}")
loss_sym, loss_rand = runs["constant 0.5"].train_loss[-1], runs["default random"].train_loss[-1]
print(f"最终损失：常数 {loss_sym:.3f}，随机 {loss_rand:.3f}")
assert all(torch.equal(W[0], W[j]) for j in range(3))
assert torch.equal(v[0], v[1]) and torch.equal(v[1], v[2])
assert loss_rand < 0.5 * loss_sym

# %% [markdown]
# ## 2. 参数初始化方法
#
# `torch.nn.init` 里的函数名都以下划线 `_` 结尾，这是 PyTorch 的惯例：**原地（in-place）修改**传进来的张量，并把它返回。
# 所以第一个参数永远是要初始化的张量（通常是 `layer.weight` 或 `layer.bias`）。
#
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：所有方法都写成不带参数的调用：`nn.init.zeros_()`、`nn.init.uniform_()`、`nn.init.kaiming_normal_()` ……这些代码一运行就是 `TypeError`（单独运行时还缺 `import torch.nn as nn`）。
# >
# > **正确的说法**：要传入被初始化的张量，`constant_` 还必须给出常数 `val`，例如 `nn.init.kaiming_normal_(layer.weight, mode='fan_in', nonlinearity='relu')`、`nn.init.constant_(layer.bias, 0.1)`。
# >
# > 证据见下一格；再下一格列出 torch 2.13 中的真实签名。

# %%
# NBVAL_CHECK_OUTPUT
for call in (lambda: nn.init.zeros_(), lambda: nn.init.kaiming_normal_(), lambda: nn.init.constant_(torch.empty(3))):
    try:
        call()
    except TypeError as err:
        print("TypeError:", err)

# %%
for name in ("zeros_", "ones_", "constant_", "uniform_", "normal_", "kaiming_normal_", "kaiming_uniform_",
             "xavier_normal_", "xavier_uniform_", "calculate_gain"):
    print(f"nn.init.{name}{inspect.signature(getattr(nn.init, name))}")

# %% [markdown]
# ### 2.1 全 0 / 全 1 / 固定值初始化
#
# $$w = 0,\qquad w = 1,\qquad w = c$$
#
# 对应 `nn.init.zeros_(tensor)`、`nn.init.ones_(tensor)`、`nn.init.constant_(tensor, val)`。
# 由 1.3 节可知，它们用在**权重**上会造成对称性问题；常见的正当用途是偏置（bias）置 0，或者把 BatchNorm 的缩放参数置 1。

# %%
layer = nn.Linear(4, 3)
nn.init.ones_(layer.weight)
nn.init.zeros_(layer.bias)
print(layer.weight.data, layer.bias.data, sep="\n")
nn.init.constant_(layer.bias, 0.1)
print(layer.bias.data)

# %% [markdown]
# 权重全 0 更糟。对 tanh 网络：输出层权重 $v_j = 0$，传回隐藏层的梯度 $\delta_j = v_j f'(z_j)\,\partial L/\partial\hat y$ 恰好为 0，第一层权重不动；
# 隐藏层输出 $h_j = \tanh(0) = 0$，输出层权重的梯度 $\delta_{out}\, h_j$ 也是 0。于是两层权重**永远**停在 0，只有输出层的偏置在学习。

# %%
# NBVAL_CHECK_OUTPUT
zero_net = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 1))
for p in zero_net.parameters():
    nn.init.zeros_(p)
nn.MSELoss()(zero_net(X), y).backward()
print(f"第一层权重梯度的最大绝对值 {zero_net[0].weight.grad.abs().max().item():.1e}，"
      f"输出层权重梯度的最大绝对值 {zero_net[2].weight.grad.abs().max().item():.1e}")
print(f"输出层偏置的梯度 {zero_net[2].bias.grad.item():.4f}")
assert (zero_net[0].weight.grad == 0).all() and (zero_net[2].weight.grad == 0).all()
assert zero_net[2].bias.grad.abs().item() > 0

# %% [markdown]
# "永远"也可以直接看：用 SGD 把这个全 0 网络训练 100 轮，两层权重仍然全是 0，只有输出层偏置变了。

# %%
# NBVAL_CHECK_OUTPUT
fit(zero_net, (X, y), nn.MSELoss(), torch.optim.SGD(zero_net.parameters(), lr=0.3), epochs=100, progress=False)
weights_max = max(zero_net[0].weight.abs().max().item(), zero_net[2].weight.abs().max().item())
print(f"100 轮之后：两层权重的最大绝对值 {weights_max}，第一层偏置 {zero_net[0].bias.abs().max().item()}，"
      f"输出层偏置 {zero_net[2].bias.item():.4f}（y 的均值 {y.mean().item():.4f}）")
assert weights_max == 0.0 and zero_net[0].bias.abs().max().item() == 0.0 and zero_net[2].bias.abs().item() > 0

# %% [markdown]
# ### 2.2 均匀分布初始化
#
# $w \sim U(a, b)$ 的均值是 $\frac{a+b}{2}$，方差是 $\frac{(b-a)^2}{12}$；对称区间 $U(-a, a)$ 的方差是 $\frac{(2a)^2}{12} = \frac{a^2}{3}$。
#
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：在 $w \sim U(-a, a)$ 旁边写 `nn.init.uniform_()`，容易让人以为它默认就是对称区间。
# >
# > **正确的说法**：实际签名是 `uniform_(tensor, a=0.0, b=1.0)`：**默认是 $U(0, 1)$**，所有权重都是正数、均值 0.5。对称区间要显式写 `nn.init.uniform_(w, -a, a)`。
# >
# > 证据见下一格。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
w = torch.empty(1000, 1000)
nn.init.uniform_(w)  # 默认参数
print(f"uniform_ 默认参数:      最小 {w.min():.4f}  最大 {w.max():.4f}  均值 {w.mean():.4f}")
nn.init.uniform_(w, -0.1, 0.1)  # 显式给出对称区间
print(f"uniform_(w, -0.1, 0.1): 最小 {w.min():.4f}  最大 {w.max():.4f}  均值 {w.mean():.4f}")

# %% [markdown]
# **验证**：默认区间是 $[0, 1)$；$U(-a, a)$ 的方差是 $a^2/3$（与 `helpers.init.uniform_variance` 和采样结果对比）。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
nn.init.uniform_(w)
print(f"默认区间：最小 {w.min():.6f} ≥ 0，最大 {w.max():.6f} < 1，均值 {w.mean():.4f} ≈ 0.5")
assert 0 <= w.min() and w.max() < 1 and abs(w.mean().item() - 0.5) < 0.01
nn.init.uniform_(w, -0.1, 0.1)
print(f"采样方差 {w.var():.6f}，公式 a^2/3 = {0.1**2 / 3:.6f}，(b-a)^2/12 = {uniform_variance(-0.1, 0.1):.6f}")
assert abs(w.var().item() / uniform_variance(-0.1, 0.1) - 1) < 0.01

# %% [markdown]
# ### 2.3 正态分布初始化
#
# $w \sim \mathcal{N}(0, \sigma^2)$，对应 `nn.init.normal_(tensor, mean=0.0, std=1.0)`。
# 注意默认的 `std=1` 对宽的层来说太大了（见 1.1 节：fan_in = 512 时 $\mathrm{std}(z)\approx 22.6$），实践中总要自己给出 `std`，而下面的 Kaiming / Xavier 正是在告诉我们 `std` 该取多少。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
nn.init.normal_(w, mean=0.0, std=0.01)
print(f"normal_(std=0.01): 均值 {w.mean():+.5f}  标准差 {w.std():.5f}")
assert abs(w.std().item() - 0.01) < 1e-4 and abs(w.mean().item()) < 1e-4

# %% [markdown]
# ### 2.4 fan_in 与 fan_out
#
# - $fan_{in}$：这一层每个输出神经元连着多少个输入（前向时参与加权求和的项数）；
# - $fan_{out}$：每个输入在前向计算时连到的输出个数（也是反向传播时每个输入收到的梯度项个数）。
#
# PyTorch 完全从权重的**形状**计算它们。注意 `nn.Linear(in_features, out_features)` 的权重形状是 `(out_features, in_features)`，卷积 `nn.Conv2d` 的权重形状是 `(out_channels, in_channels, kernel_h, kernel_w)`：
#
# $$\text{Linear: } fan_{in} = \text{in\_features},\quad fan_{out} = \text{out\_features}$$
# $$\text{Conv2d: } fan_{in} = C_{in}\cdot k_h\cdot k_w,\quad fan_{out} = C_{out}\cdot k_h\cdot k_w$$
#
# `helpers.init.fan_in_fan_out` 按这两行公式写成（最后两行就是公式）；PyTorch 内部用的是 `nn.init._calculate_fan_in_and_fan_out`。

# %%
show_source(fan_in_fan_out)

# %%
# NBVAL_CHECK_OUTPUT
for module in (nn.Linear(512, 256), nn.Conv2d(3, 16, kernel_size=(5, 3)), nn.Conv2d(64, 128, kernel_size=3)):
    ours = fan_in_fan_out(module)
    torchs = nn.init._calculate_fan_in_and_fan_out(module.weight)
    print(f"{str(module):<60} 权重形状 {tuple(module.weight.shape)}  我们的 {ours}  PyTorch {torchs}")

# %% [markdown]
# **验证**：两种计算逐个相等；`Conv2d(3, 16, (5, 3))` 的 $(fan_{in}, fan_{out}) = (3\cdot 15, 16\cdot 15) = (45, 240)$。

# %%
# NBVAL_CHECK_OUTPUT
conv = nn.Conv2d(3, 16, kernel_size=(5, 3))
print(fan_in_fan_out(conv), nn.init._calculate_fan_in_and_fan_out(conv.weight))
assert fan_in_fan_out(conv) == nn.init._calculate_fan_in_and_fan_out(conv.weight) == (45, 240)
assert fan_in_fan_out(nn.Linear(512, 256)) == (512, 256)

# %% [markdown]
# ### 2.5 He / Kaiming 正态分布初始化
#
# 为 ReLU 网络设计（He 等人，2015）：
#
# $$w \sim \mathcal{N}\!\left(0,\ \frac{2}{fan_{in}}\right),\qquad \sigma = \sqrt{\frac{2}{fan_{in}}}$$
#
# PyTorch 写成更一般的形式 $\sigma = \dfrac{\text{gain}}{\sqrt{fan}}$：`mode='fan_in'`（默认）用 $fan_{in}$，`mode='fan_out'` 用 $fan_{out}$；
# 增益（gain）由 `nonlinearity` 决定，可以用 `nn.init.calculate_gain` 查到。ReLU 的增益是 $\sqrt 2$，所以 $\sigma = \sqrt{2}/\sqrt{fan_{in}}$ 正是上式。
#
# 一个容易忽略的默认值：`kaiming_normal_` 默认 `nonlinearity='leaky_relu', a=0`，斜率为 0 的 LeakyReLU 就是 ReLU，增益同样是 $\sqrt 2$。
#
# 下面的采样会和 `helpers.init.kaiming_std` 比较，它就是 $\sigma = \text{gain}/\sqrt{fan_{in}}$ 这一行（`kaiming_bound` 再乘以 $\sqrt 3$，见 2.6 节）：

# %%
show_source(kaiming_std)

# %%
# NBVAL_CHECK_OUTPUT
for args in (("linear",), ("sigmoid",), ("tanh",), ("relu",), ("leaky_relu", 0), ("leaky_relu", 0.01), ("selu",)):
    print(f"calculate_gain{args!s:<22} = {nn.init.calculate_gain(*args):.4f}")

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
layer = nn.Linear(512, 256)
nn.init.kaiming_normal_(layer.weight, mode="fan_in", nonlinearity="relu")
print(f"采样标准差 {layer.weight.std():.5f}   sqrt(2/fan_in) = {kaiming_std(512):.5f}")

# %% [markdown]
# **验证**：在一个大张量上采样，标准差与 $\sqrt{2/fan_{in}}$ 吻合；默认参数与 `nonlinearity='relu'` 的增益相同。

# %%
# NBVAL_CHECK_OUTPUT
big = torch.empty(2048, 512)
torch.manual_seed(0)
nn.init.kaiming_normal_(big)  # 全部用默认参数
print(f"默认参数的 kaiming_normal_：采样标准差 {big.std():.5f}，公式 {kaiming_std(512):.5f}")
assert abs(big.std().item() / kaiming_std(512) - 1) < 0.01
assert math.isclose(nn.init.calculate_gain("relu"), math.sqrt(2)) and math.isclose(
    nn.init.calculate_gain("leaky_relu", 0), math.sqrt(2))

# %% [markdown]
# ### 2.6 He / Kaiming 均匀分布初始化
#
# 方差不变、换成均匀分布：令 $U(-a, a)$ 的方差 $a^2/3$ 等于 $2/fan_{in}$，得到
#
# $$w \sim U\!\left(-\sqrt{\frac{6}{fan_{in}}},\ +\sqrt{\frac{6}{fan_{in}}}\right)$$
#
# 一般形式是 $a = \text{gain}\cdot\sqrt{3/fan}$。对应 `nn.init.kaiming_uniform_(tensor, a=0, mode='fan_in', nonlinearity='leaky_relu')`——注意这里的参数 `a` 是 LeakyReLU 的负半轴斜率，**不是**区间端点。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
nn.init.kaiming_uniform_(big, nonlinearity="relu")
bound = kaiming_bound(512)
print(f"max|w| = {big.abs().max():.5f}  区间半宽 sqrt(6/512) = {bound:.5f}")
print(f"Var(w) = {big.var():.6f}  2/fan_in = {2 / 512:.6f}")

# %% [markdown]
# **验证**：所有样本都落在 $[-a, a]$ 内，最大值贴近 $a$，方差等于 $2/fan_{in}$。

# %%
# NBVAL_CHECK_OUTPUT
assert big.abs().max().item() <= bound and big.abs().max().item() > 0.999 * bound
print(f"max|w| / a = {big.abs().max().item() / bound:.5f}（应在 (0.999, 1] 内）")
print(f"Var(w) / (2/fan_in) = {big.var().item() * 512 / 2:.4f}（应接近 1）")
assert abs(big.var().item() * 512 / 2 - 1) < 0.01

# %% [markdown]
# ### 2.7 为什么 Kaiming 是为 ReLU 特制的？方差有什么用？
#
# 方差（或标准差）衡量一层输出的**离散程度**，可以把它看作信号的"音量"：
#
# - 音量太小，所有神经元输出都差不多（接近 0），后面的层分辨不出不同的输入；反向传播时，梯度也按同样的比例一层层变小；
# - 音量太大，数值越来越极端，最终溢出成 `inf` / `nan`。
#
# ReLU 把负半轴全部置 0：一个对称分布的 $z$ 经过 ReLU 后，大约一半的单元输出 0，只剩一半在"工作"，信号的能量（二阶矩 $E[a^2]$）减半。
# 如果每层都减半，50 层之后就只剩 $2^{-50}\approx 10^{-15}$。Kaiming 让权重方差是 $1/fan_{in}$ 的两倍，正好把这一半补回来。
#
# 下面复现这件事：一个 50 层、宽 512、无偏置的 ReLU 网络，记录每层输出的标准差。实验由 `helpers.init.deep_signal_stats` 完成：它逐层算 $z_k = h_{k-1}W_k^\top$、$h_k = f(z_k)$ 并记下 $\mathrm{std}(h_k)$（`_forward`），再从顶层把梯度一层层传回去（`_backward`，后面的面板要用）。前向和反向都是手写的，测试里和 autograd 对照过。先读代码：

# %%
show_source(deep_signal_stats)

# %%
show_source(init_helpers._forward)
show_source(init_helpers._backward)

# %% [markdown]
# 每一层的权重矩阵用 `apply_init` 填充，它调用的就是对应的 `nn.init` 函数（例如 `"xavier_normal"` 调用 `nn.init.xavier_normal_`）。同一批输入 `x_relu0` 送进五种初始化的网络：

# %%
def mlp_weights(method, depth=50, width=512, seed=1):
    """depth 个 (width, width) 的权重矩阵，用 method 对应的 nn.init 函数填充（自带随机数生成器，不动全局种子）。"""
    g = torch.Generator().manual_seed(seed)
    return [apply_init(torch.empty(width, width), method, generator=g) for _ in range(depth)]


torch.manual_seed(0)
x_relu0 = torch.randn(64, 512)
labels = ("kaiming_normal_ (relu)", "xavier_normal_", "nn.Linear default", "normal_(std=0.01)", "normal_() = N(0, 1)")
relu_stats = {label: deep_signal_stats(x_relu0, mlp_weights(INIT_METHODS[label]), "relu") for label in labels}
relu_stds = {label: stats[0] for label, stats in relu_stats.items()}  # stats = (前向 std(h_k), 反向 std(dL/dz_k))
show(layer_std_figure(relu_stds, "ReLU MLP, width 512: std of h_k per layer (x: last finite std)"))

# %% [markdown]
# 只有 Kaiming 那条线保持在 1 附近；Xavier 每层把标准差缩小为约 $1/\sqrt 2$ 倍（宽度相同时 $\mathrm{Var}(w)=1/512$，ReLU 再减半），PyTorch 的默认初始化和 $\mathcal{N}(0, 0.01^2)$ 衰减得更快；$\mathcal{N}(0, 1)$ 每层放大约 $\sqrt{512/2} = 16$ 倍。
#
# $\mathcal{N}(0, 1)$ 那条线在第 28 层之后就画不出来了（图中的 × 是最后一个有限的标准差），但先坏掉的并不是激活值，而是**求标准差这一步**：ReLU 的输出全是非负数，求均值时要把 $64 \times 512 = 32768$ 个约 $10^{34}$ 的数加起来，总和超过了 `float32` 的上限 $3.4 \times 10^{38}$，于是 `h.std()` 得到 `inf`；这时每个激活值本身都还是有限的，用 `float64` 算标准差也完全正常。再往后几层，矩阵乘法内部的求和也溢出，激活值里才出现 `inf`，接着 `inf - inf` 变成 `nan`。下一格逐层检查这两件事。

# %%
# NBVAL_CHECK_OUTPUT
h, first_bad_std, first_bad_h = x_relu0, None, None
for k, w in enumerate(mlp_weights("normal_1", depth=34), start=1):
    h = torch.relu(h @ w.T)
    std32, finite = h.std().item(), bool(torch.isfinite(h).all())
    first_bad_std = first_bad_std or (k if not math.isfinite(std32) else None)
    first_bad_h = first_bad_h or (k if not finite else None)
    if 28 <= k <= 32:
        print(f"第 {k} 层: 激活值全有限 {finite!s:5}  max {h.max().item():.1e}  sum {h.sum().item():.1e}  "
              f"std(float32) {std32:.1e}  std(float64) {h.double().std().item():.1e}")
print(f"标准差从第 {first_bad_std} 层起不再有限，激活值从第 {first_bad_h} 层起才出现 inf/nan")
assert first_bad_std == 29 and first_bad_h - first_bad_std >= 2

# %% [markdown]
# 下面的面板把同一个实验做成可调的：**深度、宽度、初始化、激活函数**。
#
# - 左图是前向每层输出 $h_k$ 的标准差。前向信号从第 1 层走到第 $L$ 层，所以**从左往右**读。
# - 右图是反向传播时每层预激活的梯度 $\partial L/\partial z_k$ 的标准差。梯度从损失出发，先到第 $L$ 层，再一层层传回第 1 层，所以要**从右往左**读（损失取 $L=\sum g\odot h_L$，$g$ 是固定的标准正态噪声，所以顶层梯度的尺度约为 1）。
#
# 纵轴是对数坐标，超出 $10^{\pm 12}$ 的值被截在边上，左下角的文字会告诉你从第几层开始越界或变成 `inf/nan`；黑色虚线是 2.8 节推导出的理论值（ReLU 和 linear 有闭式解）。
#
# 可以试试（「」里的名字是面板上方"试试："一行里的按钮，点一下就设好这个实验，"↺ 默认"回到开始的设置）：「Xavier」把 init 换成 xavier_normal_。左图的曲线往右下降，右图的曲线却往右**上升**：从右往左读，梯度在传回输入的路上同样逐层变小（反向每层的方差乘以 $\tfrac12\,fan_{out}\,\mathrm{Var}(w) = \tfrac12$），两条曲线互为镜像。「窄网络」把 init 换回默认的 kaiming_normal_、width 拉到 16：理论线这时是水平的，窄网络的曲线却在它附近随机起伏，偏离可达好几倍，偏多少全看抽到的那组权重；width 256 时偏离不到 2.5 倍。

# %%
depth_panel()

# %% [markdown]
# **验证**（第 1/10/25/50 层的标准差）：Kaiming 全程在 $[0.2, 5]$ 之内；Xavier 在第 50 层已低于 $10^{-6}$，平均每层缩小为 0.68 到 0.73 倍（$1/\sqrt2 \approx 0.707$）；默认初始化和 $\mathcal{N}(0,0.01^2)$ 更小；$\mathcal{N}(0,1)$ 在前 25 层平均每层放大 15 到 17 倍，最后溢出。Xavier 的反向梯度从第 50 层传到第 1 层时同样缩小了 $10^{6}$ 倍以上（右图往右上升的那条线）。

# %%
# NBVAL_CHECK_OUTPUT
for name, stds in relu_stds.items():
    print(f"{name:<24}" + "  ".join(f"L{k}: {stds[k - 1]:.1e}" for k in (1, 10, 25, 50)))
kaiming = relu_stds["kaiming_normal_ (relu)"]
assert all(0.2 < s < 5 for s in kaiming)
assert relu_stds["xavier_normal_"][-1] < 1e-6 and relu_stds["nn.Linear default"][-1] < 1e-12
assert relu_stds["normal_(std=0.01)"][-1] < 1e-30 and not math.isfinite(relu_stds["normal_() = N(0, 1)"][-1])
xavier_factor = (relu_stds["xavier_normal_"][-1] / relu_stds["xavier_normal_"][0]) ** (1 / 49)
normal_factor = (relu_stds["normal_() = N(0, 1)"][24] / relu_stds["normal_() = N(0, 1)"][0]) ** (1 / 24)
print(f"平均每层的标准差倍数：Xavier {xavier_factor:.3f}（1/sqrt 2 = {1 / math.sqrt(2):.3f}），N(0, 1) {normal_factor:.2f}（sqrt(256) = 16）")
assert 0.68 < xavier_factor < 0.73 and 15 < normal_factor < 17
xavier_grad = relu_stats["xavier_normal_"][1]
print(f"Xavier 的 std(dL/dz): 第 50 层 {xavier_grad[-1]:.1e} -> 第 1 层 {xavier_grad[0]:.1e}")
assert xavier_grad[0] < 1e-6 * xavier_grad[-1]

# %% [markdown]
# **验证**（面板的两个按钮）：「Xavier」的前向标准差逐层变小、反向梯度的标准差从第 $L$ 层往第 1 层逐层变小（曲线一降一升）。「窄网络」（Kaiming，宽 16，30 层）偏离理论线的最大倍数：面板用的那组权重超过 5 倍；另换 10 组随机权重，中位数超过 5 倍、每组至少 2 倍；宽 256 时 10 组都不到 2.5 倍。

# %%
# NBVAL_CHECK_OUTPUT
depth = depth_panel()                                   # the panel's states, without showing it
xavier = depth.state_values("Xavier")
act, grad = init_helpers.depth_stats(xavier["depth"], xavier["width"], xavier["init"], xavier["activation"])
assert all(np.diff(act) < 0) and all(np.diff(grad) > 0)
print(f"「Xavier」: std(h) layer 1 {act[0]:.1e} -> layer {xavier['depth']} {act[-1]:.1e}; "
      f"std(dL/dz) layer {xavier['depth']} {grad[-1]:.1e} -> layer 1 {grad[0]:.1e}")


# %%
# NBVAL_CHECK_OUTPUT
narrow = depth.state_values("窄网络")
panel_act, panel_grad = init_helpers.depth_stats(narrow["depth"], narrow["width"], narrow["init"], "relu")
panel_gap = init_helpers.worst_gap(panel_act, panel_grad, narrow["width"], narrow["init"])
gaps = {w: [init_helpers.random_net_gap(w, narrow["depth"], s) for s in range(10)] for w in (narrow["width"], 256)}
print(f"「窄网络」 panel weights: {panel_gap:.1f}x off the theory line; 10 random nets, width 16: "
      f"{min(gaps[16]):.1f}x to {max(gaps[16]):.0f}x (median {np.median(gaps[16]):.1f}x); width 256: "
      f"{min(gaps[256]):.2f}x to {max(gaps[256]):.2f}x")
assert narrow["init"] == "kaiming_normal" and panel_gap > 5
assert np.median(gaps[16]) > 5 and min(gaps[16]) > 2 and max(gaps[256]) < 2.5

# %% [markdown]
# ### 2.8 Kaiming 的区间是怎么推出来的（更正版）
#
# 设第 $l$ 层 $z_l = W_l x_l$，$x_l = \mathrm{ReLU}(z_{l-1})$，权重独立同分布、均值为 0、与 $x_l$ 独立。对单个神经元：
#
# $$\mathrm{Var}(z_l) = \sum_{i=1}^{fan_{in}} \mathrm{Var}(w_i x_i) = fan_{in}\cdot \mathrm{Var}(w)\cdot E[x_l^2]$$
#
# 这里是 $E[x^2]$ 而不是 $\mathrm{Var}(x)$：因为 $E[w]=0$，$\mathrm{Var}(wx) = E[w^2]E[x^2]$，而 ReLU 的输出均值不为 0，两者并不相等。
#
# 再看 ReLU。若 $z_{l-1}$ 关于 0 对称、方差为 $\sigma^2$，负的一半被置 0，正的一半平方不变，所以 **二阶矩**正好减半：
#
# $$E[x_l^2] = E[\mathrm{ReLU}(z_{l-1})^2] = \tfrac12\,\mathrm{Var}(z_{l-1})$$
#
# 合起来 $\mathrm{Var}(z_l) = \tfrac12\, fan_{in}\,\mathrm{Var}(w)\,\mathrm{Var}(z_{l-1})$。要让**预激活的方差**逐层不变，就要 $\tfrac12 fan_{in}\mathrm{Var}(w) = 1$，即
#
# $$\mathrm{Var}(w) = \frac{2}{fan_{in}}$$
#
# 而 ReLU 输出的**方差**并不是一半：若 $z\sim\mathcal N(0,\sigma^2)$，$E[\mathrm{ReLU}(z)] = \sigma/\sqrt{2\pi}$，所以
#
# $$\mathrm{Var}(\mathrm{ReLU}(z)) = \frac{\sigma^2}{2} - \frac{\sigma^2}{2\pi} = \left(\frac12 - \frac{1}{2\pi}\right)\sigma^2 \approx 0.34\,\sigma^2$$
#
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：$\mathrm{Var}(a) \approx \frac12\mathrm{Var}(z) = \frac12 fan_{in}\mathrm{Var}(w)\mathrm{Var}(x)$，目标是 $\mathrm{Var}(a)\approx\mathrm{Var}(x)$。
# >
# > **正确的说法**：这里有三处不严谨——
# >
# > 1. ReLU 减半的是**二阶矩** $E[a^2] = \frac12\mathrm{Var}(z)$，它的方差约为 $0.34\,\mathrm{Var}(z)$；
# > 2. 线性一步应是 $\mathrm{Var}(z) = fan_{in}\mathrm{Var}(w)E[x^2]$，用 $E[x^2]$ 而不是 $\mathrm{Var}(x)$，因为 ReLU 的输出不是零均值；
# > 3. 逐层保持不变的是**预激活** $z$ 的方差 $\mathrm{Var}(z_l)\approx\mathrm{Var}(z_{l-1})$。
# >
# > 结论 $\mathrm{Var}(w) = 2/fan_{in}$ 仍然正确。证据见下一格（第二个证据紧随其后）。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
a = torch.relu(torch.randn(4_000_000))  # z ~ N(0, 1)
print(f"E[a^2]  = {(a**2).mean():.4f}   理论 sigma^2/2          = {relu_second_moment(1.0):.4f}")
print(f"Var(a)  = {a.var():.4f}   理论 (1/2 - 1/(2 pi)) sigma^2 = {relu_variance(1.0):.4f}")
assert abs((a**2).mean().item() - 0.5) < 0.002 and abs(a.var().item() - relu_variance(1.0)) < 0.002

# %% [markdown]
# 第二个证据：把 ReLU 输出送进一个 Kaiming 初始化的层，实测 $\mathrm{Var}(z)$ 与两种公式比较——用 $E[x^2]$ 的对，用 $\mathrm{Var}(x)$ 的偏小约三分之一。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
x_relu = torch.relu(torch.randn(2000, 512))
w = nn.init.kaiming_normal_(torch.empty(512, 512), nonlinearity="relu")
z = x_relu @ w.T
with_second_moment = 512 * w.var().item() * (x_relu**2).mean().item()
with_variance = 512 * w.var().item() * x_relu.var().item()
print(f"实测 Var(z) = {z.var():.3f}   fan_in*Var(w)*E[x^2] = {with_second_moment:.3f}   fan_in*Var(w)*Var(x) = {with_variance:.3f}")
assert abs(z.var().item() / with_second_moment - 1) < 0.03 and 0.63 < with_variance / z.var().item() < 0.73

# %% [markdown]
# 图中是 $z\sim\mathcal{N}(0,1)$ 经过 ReLU 后的分布：一半的质量堆在 0 上（竖线），另一半是半个正态分布。

# %%
fig, ax = new_figure((6.0, 3.0))
ax.hist(a[a > 0][:200_000].numpy(), bins=80, density=True, color=COLORS["main"], alpha=0.6,
        label="a > 0 (half of the samples)")
ax.axvline(0, color=COLORS["grad"], lw=4, label=f"a = 0: {(a == 0).float().mean():.3f} of the samples")
ax.set(xlabel="a = ReLU(z), z ~ N(0, 1)", ylabel="density (positive part)",
       title=f"E[a^2] = {(a**2).mean():.3f}, Var(a) = {a.var():.3f}")
ax.legend(fontsize=8)
show(fig)

# %% [markdown]
# > **⚠ 笔记勘误（符号）**
# >
# > **笔记的写法**：同一段推导里先写权重方差为 $\frac{2}{n_{\text{in}}}$（其余地方都叫 $fan_{in}$），后面又写 $\frac{(b-a)^2}{12} = \frac{2}{fan_{in}} \Rightarrow a = \sqrt{6/fan_{in}}$，把 $a$ 同时当成区间下端点和半宽。
# >
# > **正确的说法**：统一写 $fan_{in}$；对 $U(-a, a)$ 应写成 $\mathrm{Var} = \frac{(2a)^2}{12} = \frac{a^2}{3} = \frac{2}{fan_{in}} \Rightarrow a = \sqrt{\frac{6}{fan_{in}}}$。
# >
# > 证据见下一格。

# %%
# NBVAL_CHECK_OUTPUT
half_width = math.sqrt(6 / 512)
print(f"a = sqrt(6/512) = {half_width:.5f}: Var U(-a, a) = {uniform_variance(-half_width, half_width):.8f}, "
      f"a^2/3 = {half_width**2 / 3:.8f}, 2/fan_in = {2 / 512:.8f}")
assert math.isclose(uniform_variance(-half_width, half_width), 2 / 512)

# %% [markdown]
# ### 2.9 Xavier 正态与均匀分布初始化
#
# Xavier（Glorot 与 Bengio，2010）同时照顾前向和反向：
#
# $$w \sim \mathcal{N}\!\left(0,\ \frac{2}{fan_{in}+fan_{out}}\right),\qquad w \sim U\!\left(-\sqrt{\frac{6}{fan_{in}+fan_{out}}},\ +\sqrt{\frac{6}{fan_{in}+fan_{out}}}\right)$$
#
# 对应 `nn.init.xavier_normal_(tensor, gain=1.0)` 与 `nn.init.xavier_uniform_(tensor, gain=1.0)`，一般形式是 $\sigma = \text{gain}\cdot\sqrt{2/(fan_{in}+fan_{out})}$。
# fan 的计算与 2.4 节相同（Linear 用输入/输出特征数，Conv2d 再乘上卷积核面积）。
#
# **为什么适合 tanh？** tanh 关于原点对称、输出零均值，而且在 0 附近 $\tanh(z)\approx z$（$\tanh'(0) = 1$）。在这个近似线性的区域里：
#
# - 前向每层把方差乘以 $fan_{in}\cdot\mathrm{Var}(w)$，想保持不变需要 $\mathrm{Var}(w) = 1/fan_{in}$；
# - 反向每层把梯度方差乘以 $fan_{out}\cdot\mathrm{Var}(w)$，想保持不变需要 $\mathrm{Var}(w) = 1/fan_{out}$。
#
# 两个条件只有在 $fan_{in} = fan_{out}$ 时才能同时满足，Xavier 取折中 $\mathrm{Var}(w) = 2/(fan_{in}+fan_{out})$。
# 这里没有 ReLU 那个"一半被置 0"的损失，所以不需要因子 2；反过来，把 Xavier 用在 ReLU 网络上，每层都会丢掉一半能量（2.7 节图里 Xavier 那条下降的线；此处 fan_in = fan_out）。
# tanh 毕竟会把大的值压扁，PyTorch 为它推荐的增益是 `calculate_gain('tanh') = 5/3`。
#
# `helpers.init.xavier_std` 与 `xavier_bound` 照上面的公式写成，下面拿它们和 `nn.init` 的采样对照：

# %%
show_source(xavier_std)

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
nn.init.xavier_normal_(big)  # big 的形状是 (2048, 512)：fan_in = 512，fan_out = 2048
print(f"xavier_normal_:  采样标准差 {big.std():.5f}  公式 {xavier_std(512, 2048):.5f}")
nn.init.xavier_uniform_(big)
print(f"xavier_uniform_: max|w| {big.abs().max():.5f}  区间半宽 {xavier_bound(512, 2048):.5f}")

# %% [markdown]
# 同样的 50 层实验换成 tanh（宽 256）：Xavier 缓慢变小，加上增益 5/3 后基本稳定，$\mathcal{N}(0, 0.01^2)$ 迅速消失。
# 增益 5/3 用 `deep_signal_stats` 的 `scale` 参数实现：它把每层权重都乘以同一个数，和 `xavier_normal_(w, gain=5/3)` 的效果相同。

# %%
torch.manual_seed(0)
x_tanh0 = torch.randn(64, 256)
tanh_inits = {"xavier_normal_": ("xavier_normal", 1.0), "xavier_normal_(gain=5/3)": ("xavier_normal", 5 / 3),
              "kaiming_normal_ (relu)": ("kaiming_normal", 1.0), "normal_(std=0.01)": ("normal_0.01", 1.0)}
tanh_stds = {name: deep_signal_stats(x_tanh0, mlp_weights(m, width=256), "tanh", scale=s)[0]
             for name, (m, s) in tanh_inits.items()}
show(layer_std_figure(tanh_stds, "tanh MLP, width 256: std of h_k per layer"))

# %% [markdown]
# 回到 2.7 节的面板，把 activation 切到 `tanh`、init 切到 `xavier_normal_`，可以看到同样的现象和对应的梯度。再切到 `normal_() = N(0, 1)`（depth 30，width 保持 256）：几乎所有单元饱和在 ±1，前向标准差约为 1，看似"健康"；右图的梯度从右往左（从第 30 层传回第 1 层）却一路**爆炸**，第 30 层约 0.18，第 1 层约 $10^{12}$ 到 $10^{13}$（面板里是 $7 \times 10^{12}$；换 6 组随机权重，在 $4 \times 10^{12}$ 到 $8 \times 10^{12}$ 之间）。这个数对宽度很敏感：width 16 时只有约 $10^{4}$，width 512 时约 $10^{15}$。
#
# 原因在反向每一层乘上的因子。$\partial L/\partial h_{k-1} = (\partial L/\partial z_k)\,W_k$ 把方差乘以 $fan_{out}\cdot\mathrm{Var}(w)$，再乘以 $\tanh'(z_{k-1})$ 又乘以 $E[\tanh'(z)^2]$：
#
# $$\frac{\mathrm{Var}(\partial L/\partial z_{k-1})}{\mathrm{Var}(\partial L/\partial z_k)} \approx fan_{out}\cdot\mathrm{Var}(w)\cdot E[\tanh'(z)^2] \approx 256 \times 1 \times 0.034 \approx 9$$
#
# 饱和确实让 $\tanh'(z)$ 几乎处处接近 0：$z$ 的标准差约 16，$E[\tanh'(z)^2]$ 只有约 0.034，顶层梯度因此只剩 $\sqrt{0.034} \approx 0.18$。但权重方差是 Xavier（$1/256$）的 256 倍，这个放大远远盖过了饱和带来的缩小，每往输入方向退一层，梯度的标准差就放大约 3 倍。
#
# **验证**：用 `deep_signal_stats` 在一个 30 层、宽 256、$\mathcal{N}(0, 1)$ 权重的 tanh 网络上重做（权重和面板里的不是同一组），并用 $z \sim \mathcal{N}(0, fan_{in}\mathrm{Var}(w)E[h^2])$ 估计上式的因子；梯度标准差每层放大的倍数（方差倍数的平方根）在 2.5 到 3.5 之间；宽度换成 16 和 512 时，第 1 层的梯度分别在 $10^{3}$–$10^{5}$ 和 $10^{14}$–$10^{16}$ 之间。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
act_std, grad_std = deep_signal_stats(torch.randn(64, 256), mlp_weights("normal_1", depth=30, width=256), "tanh")
z = torch.randn(1_000_000) * math.sqrt(256 * (act_std**2).mean())   # z 的方差 = fan_in · Var(w) · E[h^2]
tanh_grad_sq = ((1 - torch.tanh(z) ** 2) ** 2).mean().item()        # E[tanh'(z)^2]
measured = (grad_std[0] / grad_std[-1]) ** (2 / 29)                   # 29 次反向传递，每次方差之比的几何平均
print(f"前向 std(h): 第 1 层 {act_std[0]:.3f}，第 30 层 {act_std[-1]:.3f}")
print(f"反向 std(dL/dz): 第 30 层 {grad_std[-1]:.3f} -> 第 1 层 {grad_std[0]:.1e}")
print(f"E[tanh'(z)^2] = {tanh_grad_sq:.4f}；每层方差放大：实测 {measured:.2f}，公式 256 x 1 x E = {256 * tanh_grad_sq:.2f}")
assert act_std.min() > 0.9 and 0.15 < grad_std[-1] < 0.22 and 1e12 < grad_std[0] < 1e13
assert abs(measured / (256 * tanh_grad_sq) - 1) < 0.15 and 2.5 < math.sqrt(measured) < 3.5

# %%
# NBVAL_CHECK_OUTPUT
for width, (low, high) in ((16, (1e3, 1e5)), (512, (1e14, 1e16))):
    torch.manual_seed(0)
    first = deep_signal_stats(torch.randn(64, width), mlp_weights("normal_1", depth=30, width=width), "tanh")[1][0]
    print(f"width {width}: 第 1 层的 std(dL/dz) = {first:.1e}")
    assert low < first < high

# %% [markdown]
# **验证**：Xavier 的标准差和区间与公式一致（Linear(512, 256) 时 std ≈ 0.05103、界 ≈ 0.08839）；tanh 网络里 Xavier 第 50 层的标准差仍在 $[0.03, 0.3]$，加上增益 5/3 后第 50 层仍有第 1 层的七成以上，而 $\mathcal{N}(0, 0.01^2)$ 已经消失。

# %%
# NBVAL_CHECK_OUTPUT
print(f"Linear(512, 256)：Xavier 标准差 {xavier_std(512, 256):.5f}，区间半宽 {xavier_bound(512, 256):.5f}")
assert abs(xavier_std(512, 256) - 0.05103) < 1e-5 and abs(xavier_bound(512, 256) - 0.08839) < 1e-5
torch.manual_seed(0)
nn.init.xavier_normal_(big)
print(f"(2048, 512)：采样标准差 / 公式 = {big.std().item() / xavier_std(512, 2048):.4f}", end="，")
assert abs(big.std().item() / xavier_std(512, 2048) - 1) < 0.01
nn.init.xavier_uniform_(big)
print(f"max|w| / 区间半宽 = {big.abs().max().item() / xavier_bound(512, 2048):.5f}")
assert xavier_bound(512, 2048) * 0.999 < big.abs().max().item() <= xavier_bound(512, 2048)
for name, stds in tanh_stds.items():
    print(f"{name:<26} L1: {stds[0]:.3f}  L50: {stds[-1]:.2e}")
assert 0.03 < tanh_stds["xavier_normal_"][-1] < 0.3 and tanh_stds["normal_(std=0.01)"][-1] < 1e-20
gained = tanh_stds["xavier_normal_(gain=5/3)"]
assert gained[-1] > 0.7 * gained[0] and gained[-1] > 3 * tanh_stds["xavier_normal_"][-1]

# %% [markdown]
# ### 2.10 PyTorch 的默认初始化不是 He 初始化
#
# 新建的 `nn.Linear` 和 `nn.Conv2d` 已经有随机权重。它们的 `reset_parameters` 调用的是 `kaiming_uniform_(weight, a=math.sqrt(5))`：
# 把 $a=\sqrt5$ 当作 LeakyReLU 斜率，增益 $\sqrt{2/(1+5)} = \sqrt{1/3}$，界 $\sqrt{1/3}\cdot\sqrt{3/fan_{in}}$，于是
#
# $$w \sim U\!\left(-\frac{1}{\sqrt{fan_{in}}},\ +\frac{1}{\sqrt{fan_{in}}}\right),\qquad \mathrm{Var}(w) = \frac{1}{3\,fan_{in}}$$
#
# 这比 He 的 $\sqrt{6/fan_{in}}$ 窄 $\sqrt6\approx 2.45$ 倍。在很深的纯 ReLU 网络里，每层预激活方差乘以 $\frac12\cdot fan_{in}\cdot\frac{1}{3 fan_{in}} = \frac16$，于是信号衰减（2.7 节图中的 "nn.Linear default"）。
# 实际的网络常配合 BatchNorm / 残差连接（residual connection），所以默认值通常也够用；但想要 He 初始化就得自己调用 `kaiming_*_`。

# %%
print(inspect.getsource(nn.Linear.reset_parameters))

# %% [markdown]
# **验证**：默认权重的最大绝对值贴近 $1/\sqrt{fan_{in}}$，而不是 $\sqrt{6/fan_{in}}$（fan_in = 512 时 0.04419 对 0.10825）；2.7 节那个 50 层 ReLU 网络里，默认初始化让标准差平均每层乘以约 $\sqrt{1/6} \approx 0.41$。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
for module in (nn.Linear(512, 256), nn.Conv2d(3, 16, kernel_size=(5, 3))):
    fan_in = fan_in_fan_out(module)[0]
    w_max = module.weight.abs().max().item()
    print(f"{type(module).__name__}: max|w| = {w_max:.5f}, 1/sqrt(fan_in) = {1 / math.sqrt(fan_in):.5f}, "
          f"He 的界 = {kaiming_bound(fan_in):.5f}")
    assert 0.99 / math.sqrt(fan_in) < w_max <= 1 / math.sqrt(fan_in)
default_stds = relu_stds["nn.Linear default"]
default_factor = (default_stds[-1] / default_stds[0]) ** (1 / 49)
print(f"nn.Linear default 的 ReLU 网络：标准差平均每层乘以 {default_factor:.3f}，sqrt(1/6) = {math.sqrt(1 / 6):.3f}")
assert abs(default_factor - math.sqrt(1 / 6)) < 0.02

# %% [markdown]
# ### 2.11 所有方法一览
#
# 下图在 $fan_{in}=256$、$fan_{out}=128$ 时用 `nn.init` 采样每种方法，并叠上理论密度（正态曲线或均匀分布的"盒子"）。
# 面板里可以换方法、拖动 fan_in / fan_out：Kaiming 只随 fan_in 变窄，Xavier 同时看两者，`normal_` / `uniform_` 的默认值与 fan 无关。

# %%
show(init_gallery_figure(256, 128))

# %%
init_histogram_panel()

# %% [markdown]
# **验证**：每种方法的采样标准差都与理论值相差不到 2%；在面板 fan 范围的几个角上（8 与 256 的组合）也相差不到 3%，而且理论值正如上面所说：Kaiming 与 fan_out 无关，Xavier 随两者变化，`normal_` / `uniform_` 的默认值与 fan 无关。

# %%
# NBVAL_CHECK_OUTPUT
for label, method in INIT_METHODS.items():
    kind, p1, p2 = init_distribution(method, 256, 128)
    theory = p2 if kind == "normal" else math.sqrt(uniform_variance(p1, p2))
    sample = sample_init(method, 256, 128, n_min=200_000).std().item()
    print(f"{label:<26} 理论标准差 {theory:.5f}  采样 {sample:.5f}")
    assert abs(sample / theory - 1) < 0.02

# %%
# NBVAL_CHECK_OUTPUT
def theory_std(method, fan_in, fan_out):
    """method 在这组 (fan_in, fan_out) 下的理论标准差。"""
    kind, p1, p2 = init_distribution(method, fan_in, fan_out)
    return p2 if kind == "normal" else math.sqrt(uniform_variance(p1, p2))


corners = [(8, 8), (8, 256), (256, 8), (256, 256)]                  # 面板 fan 范围的四个角
worst = max(abs(sample_init(m, fi, fo, n_min=50_000).std().item() / theory_std(m, fi, fo) - 1)
            for m in INIT_METHODS.values() for fi, fo in corners)
print(f"面板四个角上，采样标准差与理论值的最大相对差 {worst:.2%}")
assert worst < 0.03

# %%
# NBVAL_CHECK_OUTPUT
for m in ("kaiming_normal", "xavier_normal", "normal_0.01"):
    print(f"{m:<15}" + "  ".join(f"{c}: {theory_std(m, *c):.4f}" for c in corners))
for m in INIT_METHODS.values():
    stds = {c: theory_std(m, *c) for c in corners}
    if m.startswith("kaiming"):
        assert stds[(8, 8)] == stds[(8, 256)] and stds[(256, 8)] == stds[(256, 256)] < stds[(8, 8)]
    elif m.startswith("xavier"):
        assert stds[(8, 8)] > stds[(8, 256)] == stds[(256, 8)] > stds[(256, 256)]
    elif m in ("normal_0.01", "normal_1", "uniform_default"):
        assert len(set(stds.values())) == 1

# %% [markdown]
# ## 3. 不同初始化的训练对比
#
# 最后回到 1.2 节的"收敛速度"。同一个有 6 个隐藏层、每层 32 个 ReLU 单元的网络，在三类螺旋数据上用同一个 SGD（动量 0.9）训练 60 轮，只改变权重的初始化（偏置都置 0）。

# %%
X_sp, y_sp = spirals(n=300, classes=3)


def spiral_net(method, depth=6, width=32):
    dims = [2] + [width] * depth
    layers = []
    for d_in, d_out in zip(dims[:-1], dims[1:]):
        layers += [nn.Linear(d_in, d_out), nn.ReLU()]
    net = nn.Sequential(*layers, nn.Linear(width, 3))
    for m in net:
        if isinstance(m, nn.Linear):
            apply_init(m.weight, method)  # 调用对应的 nn.init 函数
            nn.init.zeros_(m.bias)
    return net


# %%
histories = {}
for method in ("kaiming_normal", "xavier_normal", "linear_default", "normal_0.01"):
    torch.manual_seed(0)
    net = spiral_net(method)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    histories[method] = fit(net, (X_sp, y_sp), nn.CrossEntropyLoss(), opt, epochs=60, progress=False)
curves = {method: h.train_loss for method, h in histories.items()}

# %%
fig = plot_histories(histories, keys=("train_loss",), title="6 x 32 ReLU MLP on spirals: same optimizer, different init")
fig.axes[0].axhline(math.log(3), color="black", lw=0.7, ls=":", label="ln 3 (guessing)")
fig.axes[0].legend(fontsize=8)
show(fig)

# %% [markdown]
# **验证**：Kaiming 最快降到很低的损失；$\mathcal{N}(0, 0.01^2)$ 的信号在 6 层里缩小到几乎为 0，输出恒等于均匀猜测，损失停在 $\ln 3\approx 1.0986$。
# 注意 linear_default 在这个没有 BatchNorm 的 6 层网络里同样几乎不动：每层方差乘以 1/6 左右，几层之后信号就缩得很小——想要 He 初始化就得自己调用。

# %%
# NBVAL_CHECK_OUTPUT
for name, loss in curves.items():
    print(f"{name:<16} epoch 1: {loss[0]:.3f}   epoch 30: {loss[29]:.3f}   epoch 60: {loss[-1]:.3f}")
assert curves["kaiming_normal"][-1] < 0.1
assert curves["kaiming_normal"][29] < min(curves[m][29] for m in ("xavier_normal", "linear_default", "normal_0.01"))
assert abs(curves["normal_0.01"][-1] - math.log(3)) < 1e-3
assert curves["linear_default"][-1] > 0.95 * math.log(3)

# %% [markdown]
# ## 小结
#
# - 初始化的三个作用：控制信号尺度（防止消失/爆炸）、给优化一个能走得动的起点、用随机性打破对称。常数初始化只适合偏置等少数参数。
# - `nn.init` 的函数都是原地操作，第一个参数是张量：`nn.init.kaiming_normal_(layer.weight, nonlinearity='relu')`。`uniform_` 默认是 $U(0,1)$，`normal_` 默认是 $\mathcal{N}(0,1)$，都要自己给范围。
# - $fan_{in}$ / $fan_{out}$ 由权重形状决定：Linear 是输入/输出特征数，Conv2d 再乘以卷积核面积。
# - 线性一步：$\mathrm{Var}(z) = fan_{in}\mathrm{Var}(w)E[x^2]$。ReLU 让二阶矩减半（方差约为 $0.34\,\mathrm{Var}(z)$），所以 Kaiming 取 $\mathrm{Var}(w)=2/fan_{in}$；均匀版的半宽是 $\sqrt{6/fan_{in}}$。
# - Xavier 取 $\mathrm{Var}(w)=2/(fan_{in}+fan_{out})$，在前向与反向之间折中，适合 tanh 这类零中心、原点附近近似线性的激活；用在 ReLU 上会逐层衰减。
# - PyTorch 的 Linear/Conv 默认是 $U(\pm 1/\sqrt{fan_{in}})$，不是 He 初始化。

# %% [markdown]
# ## 面试速答
#
# - **为什么不能把权重全初始化为 0（或同一个常数）？** 同一层的神经元会收到完全相同的梯度，永远保持一样，整层退化成一个神经元；全 0 时连梯度都传不回前面的层。
# - **Kaiming 和 Xavier 的区别？** 两者都让方差随层数保持稳定。Kaiming 针对 ReLU，补偿被置 0 的一半，$\mathrm{Var}(w)=2/fan_{in}$；Xavier 针对 tanh/线性这类对称激活，兼顾前向与反向，$\mathrm{Var}(w)=2/(fan_{in}+fan_{out})$。
# - **ReLU 之后方差是不是减半？** 严格说减半的是二阶矩 $E[a^2]$；方差是 $(\frac12-\frac1{2\pi})\sigma^2\approx0.34\sigma^2$。推导 Kaiming 时用的正是二阶矩。
# - **fan_in 怎么算？** Linear：in_features；Conv2d：in_channels × kernel_h × kernel_w（分组卷积再除以 groups）。
# - **PyTorch 的 nn.Linear 默认怎么初始化？** `kaiming_uniform_(a=√5)`，等价于 $U(\pm1/\sqrt{fan_{in}})$，偏置也是 $U(\pm1/\sqrt{fan_{in}})$。
# - **有了 BatchNorm 还需要在意初始化吗？** 需要得少一些：BN 会重新归一化每层的输入，但对称性仍然要靠随机初始化打破，而且很深的网络或没有 BN 的部分（如残差分支的最后一层）仍然对尺度敏感。

# %% [markdown]
# ## 练习
#
# **练习 1**：`nn.Conv2d(16, 32, kernel_size=(3, 5))` 的 $(fan_{in}, fan_{out})$ 是多少？先手算，再写成一个二元组。

# %%
answer = None  # 在这里写你的答案，例如 (fan_in, fan_out)
exercises.check_conv_fans(answer)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# 权重形状是 `(32, 16, 3, 5)`，感受野大小 $3\times5 = 15$：$fan_{in} = 16\cdot 15 = 240$，$fan_{out} = 32\cdot 15 = 480$。
#
# ```python
# answer = (16 * 3 * 5, 32 * 3 * 5)   # 或 fan_in_fan_out(nn.Conv2d(16, 32, (3, 5)))
# exercises.check_conv_fans(answer)
# ```
# </details>
#
# **练习 2**：把 2.8 节的推导推广到 LeakyReLU（负半轴斜率 $\alpha = 0.2$）：$z$ 对称、方差 $\sigma^2$ 时 $E[\mathrm{LeakyReLU}(z)^2]$ 是多少？
# 由此，`fan_in = 128` 的层用 `kaiming_normal_(w, a=0.2, nonlinearity='leaky_relu')` 时，权重的标准差应是多少？（先推出 $E[a^2]$，再把最终的标准差——一个数——赋给 `answer`）

# %%
answer = None  # 在这里写你的答案（一个浮点数）
exercises.check_leaky_kaiming_std(answer)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# 正半轴贡献 $\frac12\sigma^2$，负半轴乘了 $\alpha$，贡献 $\frac12\alpha^2\sigma^2$，所以 $E[a^2] = \frac{1+\alpha^2}{2}\sigma^2$。
# 要 $fan_{in}\cdot\mathrm{Var}(w)\cdot\frac{1+\alpha^2}{2} = 1$，得 $\mathrm{Var}(w) = \frac{2}{(1+\alpha^2)\,fan_{in}}$，这正是 `calculate_gain('leaky_relu', α)` 的平方除以 $fan_{in}$。
#
# ```python
# answer = math.sqrt(2 / ((1 + 0.2**2) * 128))   # ≈ 0.12257
# # 对照：nn.init.calculate_gain("leaky_relu", 0.2) / math.sqrt(128)
# exercises.check_leaky_kaiming_std(answer)
# ```
# </details>
#
# **练习 3**：写一个函数 `init_tanh_layer(layer)`，把 `nn.Linear` 的权重用带 tanh 增益的 Xavier 均匀分布初始化，偏置置 0。检查器会看权重是否像独立的均匀随机数：范围、标准差、分布形状都要对，两次调用的结果也要不同（排好的等间距数值不算随机）。

# %%
init_tanh_layer = None  # 在这里定义 def init_tanh_layer(layer): ...
exercises.check_tanh_init(init_tanh_layer)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# ```python
# def init_tanh_layer(layer):
#     nn.init.xavier_uniform_(layer.weight, gain=nn.init.calculate_gain("tanh"))
#     nn.init.zeros_(layer.bias)
#
# exercises.check_tanh_init(init_tanh_layer)
# ```
# </details>

# %% [markdown]
# ---
#
# [← 第2章 激活函数](02_activations.ipynb) · [第4章 损失函数 →](04_losses.ipynb)
