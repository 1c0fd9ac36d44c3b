# %% [markdown]
# # 第2章 激活函数 (Activation functions)
#
# **学习目标**
#
# - 说清楚为什么神经网络离不开非线性：没有激活函数，再多的线性层也只等于一层
# - 掌握 Sigmoid、Tanh、ReLU、Softmax 的公式、值域、导数和饱和区，并能和 PyTorch 的实现逐点对照
# - 用链式法则解释**梯度消失**（vanishing gradient），理解"非零中心"输出为什么让更新走锯齿
# - 认识 ReLU 神经元死亡（dying ReLU）的三种成因，会统计一层里死了多少单元
# - 把 Softmax 当作概率分布来用：平移不变、数值稳定的写法、温度（temperature）的作用
#
# **预计用时**：约 60 分钟
#
# **先修**：第1章（张量运算、广播、自动求导）

# %%
import torch
from torch import nn
import torch.nn.functional as F

from helpers import activations as act
from helpers import show_source
from helpers import figures
from helpers.exercises import activations as exercises
from helpers.panels import activations as actp
from helpers.data import two_moons
from helpers.plotting import show
from helpers.training import fit

# %% [markdown]
# ## 1. 激活函数的作用
#
# 神经网络的一层先做线性变换（加权求和），再把结果交给激活函数（activation function）$g$：
#
# $$z = Wx + b, \qquad a = g(z)$$
#
# 如果去掉 $g$，两层线性层叠在一起会发生什么？把第一层代入第二层：
#
# $$W_2(W_1x + b_1) + b_2 = \underbrace{(W_2W_1)}_{W}\,x + \underbrace{(W_2b_1 + b_2)}_{b}$$
#
# 结果还是一个线性层。叠多少层都一样，网络能表示的永远只是一个线性（仿射）函数；用来分类时，决策边界永远是一张超平面。激活函数在每层之后加入一个**非线性**的弯折，网络才有能力拟合弯曲的决策边界。
#
# **验证**：随机建两个 `nn.Linear`，用 `act.merge_linear` 按上式算出合并后的 $W$ 和 $b$，看它和两层串联的输出是否一致。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
l1, l2 = nn.Linear(3, 5), nn.Linear(5, 2)
W, b = act.merge_linear(l1, l2)          # W = W2 W1,  b = W2 b1 + b2
x = torch.randn(100, 3)
diff = (l2(l1(x)) - (x @ W.T + b)).abs().max().item()
print(f"两层串联与合并后一层的最大差: {diff:.5f} | 合并后 W 的形状: {tuple(W.shape)}")
assert torch.allclose(l2(l1(x)), x @ W.T + b, atol=1e-6)

# %% [markdown]
# ### 动手：有无激活函数，在 two moons 上差多少
#
# 两个交错的半月形（two moons）无法用一条直线分开。下面训练两个结构相同的小网络，唯一的区别是中间有没有 `nn.ReLU()`：
#
# - `linear_net`：`Linear(2, 16) → Linear(16, 2)`
# - `relu_net`：`Linear(2, 16) → ReLU → Linear(16, 2)`
#
# 两者都用交叉熵损失和 Adam，全批量训练 100 轮（训练循环在 `helpers.training.fit` 里）。

# %%
X, y = two_moons(n=200, noise=0.1, seed=0)
torch.manual_seed(0)
linear_net = nn.Sequential(nn.Linear(2, 16), nn.Linear(16, 2))
relu_net = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
for model in (linear_net, relu_net):
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    hist = fit(model, (X, y), nn.CrossEntropyLoss(), opt, epochs=100, progress=False)
    acc = (model(X).argmax(1) == y).float().mean().item()
    print(f"{'relu_net' if model is relu_net else 'linear_net':10s}  最终损失 {hist.train_loss[-1]:.3f}  准确率 {acc:.2f}")

# %%
show(actp.decision_boundary_figure({"Linear-Linear": linear_net, "Linear-ReLU-Linear": relu_net}, X, y))

# %% [markdown]
# 左图的边界是一条直线：16 个隐藏单元（unit）没有带来任何额外的表达能力。（本章说的"单元"和"神经元"（neuron）是同一个东西：一层输出里的一个分量，对应权重矩阵的一行加一个偏置。）右图只多了一个 ReLU，边界就能绕着半月弯过去。
#
# 具体的准确率随随机种子（数据和初始权重）变化：种子取 0 到 5 时，`linear_net` 在 0.84 到 0.91 之间，`relu_net` 在 0.99 到 1.00 之间。差距始终在 0.08 以上。
#
# **验证**：训练好的 `linear_net` 仍然严格等于一个线性层，而且它的准确率明显不如 `relu_net`（差距超过 0.05）。

# %%
# NBVAL_CHECK_OUTPUT
W, b = act.merge_linear(linear_net[0], linear_net[1])
with torch.no_grad():
    diff = (linear_net(X) - (X @ W.T + b)).abs().max().item()
    collapsed = torch.allclose(linear_net(X), X @ W.T + b, atol=1e-5)
    acc_linear = (linear_net(X).argmax(1) == y).float().mean().item()
    acc_relu = (relu_net(X).argmax(1) == y).float().mean().item()
print(f"linear_net 与合并后一层的最大差: {diff:.4f}")
print(f"准确率: linear_net {acc_linear:.3f} (< 0.93)   relu_net {acc_relu:.3f} (> 0.97)   差距 {acc_relu - acc_linear:.3f} (> 0.05)")
assert collapsed and acc_linear < 0.93 and acc_relu > 0.97 and acc_relu - acc_linear > 0.05

# %% [markdown]
# ## 2. Sigmoid
#
# Sigmoid（也叫 logistic 函数）把任意实数压进 $(0, 1)$：
#
# $$\sigma(x) = \frac{1}{1 + e^{-x}}$$
#
# - 定义域 $(-\infty, +\infty)$，值域 $(0, 1)$，单调递增，$\sigma(0) = 0.5$，且 $\sigma(-x) = 1 - \sigma(x)$；
# - 输出可以读成"是正类的概率"，所以它常放在**二分类的输出层**。
#
# `helpers/activations.py` 里的 `act.sigmoid` 就是照着公式写的一行代码（第一行只检查输入类型）：

# %%
show_source(act.sigmoid)

# %% [markdown]
# 和 `torch.sigmoid` 逐点对照一下：

# %%
# NBVAL_CHECK_OUTPUT
x = torch.tensor([-50.0, -3.0, 0.0, 3.0, 50.0])
print("act.sigmoid  :", [f"{v:.4f}" for v in act.sigmoid(x).tolist()])
print("torch.sigmoid:", [f"{v:.4f}" for v in torch.sigmoid(x).tolist()])
assert torch.allclose(act.sigmoid(x), torch.sigmoid(x), atol=1e-6)

# %%
show(figures.make_figure("sigmoid.png"))

# %% [markdown]
# 下面的面板画出函数（蓝）和导数（红虚线）。拖动 **x range** 看整体形状，灰色阴影是**饱和区**：那里导数已经不到最大值的 1%。试试：把 x range 缩到 ±3，阴影消失，整段曲线都还有明显的斜率；再拉到 ±20，阴影从 $|x| \approx 6$ 开始，占了大半个画面——输入稍大，Sigmoid 就几乎不传梯度。切换 activation 可以对比后面两节的 Tanh 和 ReLU。

# %%
actp.activation_panel("sigmoid")

# %% [markdown]
# **验证**：值域在 $(0, 1)$ 内、单调递增、关于点 $(0, 0.5)$ 中心对称。

# %%
# NBVAL_CHECK_OUTPUT
x = torch.linspace(-10, 10, 2001, dtype=torch.float64)
s = act.sigmoid(x)
print(f"min {s.min().item():.6f}  max {s.max().item():.6f}  sigmoid(0) = {act.sigmoid(torch.tensor(0.0)).item()}")
print("单调递增:", bool((s[1:] > s[:-1]).all()), "| sigmoid(-x) == 1 - sigmoid(x):", torch.allclose(act.sigmoid(-x), 1 - s))
assert 0 < s.min() and s.max() < 1 and (s[1:] > s[:-1]).all()

# %% [markdown]
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：一处说输入要在 $(-3, 3)$ 之间输出才有明显差异；另一处又说 $|x| > 6$ 时"输出值始终为 1 或者 0"。
# >
# > **正确的说法**：两个阈值都只是经验划分：谈不上矛盾，但也都不精确。数学上 $\sigma(x)$ 永远到不了 0 或 1，只是越来越接近；在 `float32` 里，$\sigma(17)$ 会因为舍入**恰好**等于 1.0，$\sigma(-100)$ 会下溢成 0.0。$x = \pm 3$ 时导数还有峰值的约 18%，$x = \pm 6$ 时只剩约 1%（面板里的阴影边界就在 6.0 附近）。证据见下一格。

# %%
# NBVAL_CHECK_OUTPUT
for v in (3.0, 6.0):
    t = torch.tensor([-v, v])
    print(f"sigmoid(±{v:.0f}) = {[round(p, 5) for p in act.sigmoid(t).tolist()]}   sigmoid'({v:.0f}) = {act.sigmoid_grad(t)[1].item():.5f}")
print("float32: sigmoid(17) == 1.0 ?", act.sigmoid(torch.tensor(17.0)).item() == 1.0,
      "  sigmoid(-100) =", act.sigmoid(torch.tensor(-100.0)).item())
print("float64: sigmoid(17) < 1 ?", act.sigmoid(torch.tensor(17.0, dtype=torch.float64)).item() < 1)
assert act.sigmoid(torch.tensor(17.0)).item() == 1.0 and act.sigmoid(torch.tensor(17.0, dtype=torch.float64)) < 1
assert act.sigmoid(torch.tensor(-100.0)).item() == 0.0
peak_share = {v: act.sigmoid_grad(torch.tensor(v, dtype=torch.float64)).item() / 0.25 for v in (3.0, 6.0)}
print(f"导数占峰值的比例: x = 3 时 {peak_share[3.0]:.1%}，x = 6 时 {peak_share[6.0]:.2%}")
assert abs(peak_share[3.0] - 0.18) < 0.005 and 0.0095 < peak_share[6.0] < 0.01

# %% [markdown]
# ### Sigmoid 的导数
#
# 对 $\sigma(x) = (1 + e^{-x})^{-1}$ 求导，再整理一下就能用函数值本身表示导数：
#
# $$\sigma'(x) = \frac{e^{-x}}{(1 + e^{-x})^2} = \sigma(x)\bigl(1 - \sigma(x)\bigr)$$
#
# 这种写法在反向传播中很方便：前向时已经算出的 $\sigma(x)$ 可以直接复用。

# %%
show(figures.make_figure("sigmoid_derivative.png"))

# %% [markdown]
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：Sigmoid 导数的值域是 $(0, 0.25)$。
# >
# > **正确的说法**：$(0, 0.25]$。笔记上一行自己就写了 $x = 0$ 时导数取到最大值 $0.25$，能取到的端点要用方括号。证据见下一格：下面的验证打印出最大导数正好是 $0.25$，位置在 $x = 0$。
#
# **验证**：用 autograd 在 $[-10, 10]$ 的 20 万个点上求 `torch.sigmoid` 的导数，与公式 $\sigma(1-\sigma)$ 对照，并找出最大值和它的位置。

# %%
# NBVAL_CHECK_OUTPUT
x = torch.linspace(-10, 10, 200001, dtype=torch.float64, requires_grad=True)
torch.sigmoid(x).sum().backward()
grad = x.grad
print(f"公式与 autograd 的最大差: {(act.sigmoid_grad(x.detach()) - grad).abs().max().item():.12f}")
print(f"最大导数 {grad.max().item():.6f}，位置 |x| = {abs(x[grad.argmax()].item()):.4f}；最小导数 {grad.min().item():.3e} > 0")
assert torch.allclose(act.sigmoid_grad(x.detach()), grad, atol=1e-12) and (grad > 0).all()
assert abs(grad.max().item() - 0.25) < 1e-12 and abs(x[grad.argmax()].item()) < 1e-3

# %% [markdown]
# ### 为什么 Sigmoid 不适合做隐藏层
#
# **(1) 梯度消失。** 设 $z_l$ 是第 $l$ 层的线性输出、$a_l = \sigma(z_l)$ 是激活值。按链式法则，损失对第一层权重的梯度是一串因子的乘积：
#
# $$\frac{\partial L}{\partial \omega_1} = \frac{\partial L}{\partial a_2}\cdot\frac{\partial a_2}{\partial z_2}\cdot\frac{\partial z_2}{\partial a_1}\cdot\frac{\partial a_1}{\partial z_1}\cdot\frac{\partial z_1}{\partial \omega_1}$$
#
# 其中每个 $\partial a/\partial z = \sigma'(z) \le 0.25$。网络有 $n$ 层，就要乘上 $n$ 个不超过 $0.25$ 的数，离输入越近的层梯度越小，几乎学不动。
#
# **验证**：把 `sigmoid` 从 $x = 0$ 开始连续套 $n$ 次，用 autograd 求导，和上界 $0.25^n$ 比较。

# %%
# NBVAL_CHECK_OUTPUT
for n in (1, 5, 10, 20):
    x = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    h = x
    for _ in range(n):
        h = act.sigmoid(h)
    h.backward()
    print(f"n = {n:2d}:  d/dx = {x.grad.item():.3e}   <=  0.25^n = {0.25 ** n:.3e}")
    assert x.grad.item() <= 0.25 ** n

# %% [markdown]
# 真实网络里还有权重矩阵参与连乘。下面的面板建一个宽 32、深 $L$ 层的随机 MLP，用一批随机数据和 MSE 损失做一次反向传播，画出每层权重梯度的范数 $\lVert \partial L/\partial W_l \rVert$（对数纵轴；左边是靠近输入的第 1 层）。
#
# - 选 **sigmoid**（init 保持默认的 Xavier）：从右往左，梯度大约每层缩小 4 倍，$L = 50$ 时第 1 层比最后一层小约 31 个数量级。每层缩小多少也取决于初始化：换成 Kaiming 约 3 倍，换成 PyTorch 默认约 7 倍，但不管哪种都是指数衰减；
# - 换成 **tanh** 或 **relu**（配合对应的初始化 Xavier / Kaiming）：在 $L$ 的整个范围内，各层梯度基本持平，最大与最小只差几倍（对数纵轴上看不出高低）。Xavier 和 Kaiming 是两种按层宽缩放随机权重的初始化（initialization）方法，分别为 tanh 和 ReLU 设计，公式在第 3 章推导，这里先当作"合适的权重尺度"来用；
# - 换成 PyTorch 默认初始化：tanh 和 relu 的梯度整体变小，而且层数越多小得越多：默认初始化下最大的梯度，比配合合适初始化时最小的梯度还小，$L = 20$ 时差 3 个数量级以上，$L = 50$ 时差 10 个数量级以上。初始化同样重要，第 3 章细讲。

# %%
actp.vanishing_gradient_panel()

# %% [markdown]
# **验证**：sigmoid 在 $L = 50$ 时，首层/末层梯度比在 $10^{-34}$ 到 $10^{-28}$ 之间，平均每层缩小 3.5 到 5 倍（Xavier，随机种子 0 到 3；Kaiming 约 3 倍，默认初始化约 7 倍）；tanh + Xavier 与 ReLU + Kaiming 在面板的每个深度 $L = 2, \dots, 50$ 上，各层梯度的最大/最小之比都小于 10；默认初始化在 $L = 20$ 和 $L = 50$ 时，最大的梯度也比合适初始化的最小梯度小 $10^{3}$ 和 $10^{10}$ 倍以上。

# %%
# NBVAL_CHECK_OUTPUT
for seed in range(4):
    g = act.layer_gradient_norms("sigmoid", 50, init="xavier", seed=seed)
    ratio = (g[0] / g[-1]).item()
    per_layer = ratio ** (-1 / 49)
    print(f"sigmoid + Xavier, 种子 {seed}: |dL/dW_1| / |dL/dW_50| = {ratio:.1e}，平均每层缩小 {per_layer:.2f} 倍")
    assert 1e-34 < ratio < 1e-28 and 3.5 < per_layer < 5
for init, (low, high) in (("kaiming", (2.5, 4)), ("default", (6, 9))):
    g = act.layer_gradient_norms("sigmoid", 50, init=init)
    per_layer = (g[0] / g[-1]).item() ** (-1 / 49)
    print(f"sigmoid + {init}: 平均每层缩小 {per_layer:.2f} 倍")
    assert low < per_layer < high

# %%
# NBVAL_CHECK_OUTPUT
for name, init in [("tanh", "xavier"), ("relu", "kaiming")]:
    spread = max((lambda g: (g.max() / g.min()).item())(act.layer_gradient_norms(name, depth, init=init)) for depth in range(2, 51))
    print(f"{name} + {init}: L = 2..50 中，各层梯度最大/最小之比的最大值 {spread:.2f}")
    assert spread < 10
for depth, gap in ((20, 1e3), (50, 1e10)):
    for name, good in [("tanh", "xavier"), ("relu", "kaiming")]:
        fine, default = act.layer_gradient_norms(name, depth, init=good), act.layer_gradient_norms(name, depth, init="default")
        print(f"L = {depth}, {name}: 合适初始化的最小梯度 {fine.min().item():.1e}，默认初始化的最大梯度 {default.max().item():.1e}")
        assert default.max() * gap < fine.min()

# %% [markdown]
# **(2) 饱和区太宽。** 当 $|x|$ 较大时 $\sigma'(x) \approx 0$，这个神经元就处于**饱和**（saturation）状态：无论损失怎么变，传回来的梯度都被乘上一个近似 0 的数，权重几乎不动。上面的面板里阴影部分就是饱和区，而只要权重稍大，$z$ 就很容易落进去。
#
# **(3) 输出不以 0 为中心。** Sigmoid 的输出全是正数。设下一层某个神经元 $z = \sum_i w_i a_i + b$，它的每个权重梯度是
#
# $$\frac{\partial L}{\partial w_i} = \frac{\partial L}{\partial z}\, a_i, \qquad a_i > 0$$
#
# 所以这一个神经元的**所有**权重梯度都和上游的 $\partial L/\partial z$ 同号；一次更新里，这些权重要么一起增大，要么一起减小。
#
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：非零中心"导致权重更新方向始终正偏"。
# >
# > **正确的说法**：不是"始终为正"，而是**同一个神经元的所有输入权重梯度同号**，符号由上游梯度 $\partial L/\partial z$ 决定，每一步都可能不同。更新方向因此只能落在两个**卦限**（orthant）：全正或全负；如果最优方向需要一部分权重增大、另一部分减小，就只能来回**锯齿折线**（zig-zag）逼近，收敛变慢。证据见下一格：上游梯度取 $+1$ 时 8 个权重梯度全正，取 $-1$ 时全负；换成以 0 为中心的 tanh 输出，符号就有正有负。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
z_prev = torch.randn(8)
for name, a in [("sigmoid", act.sigmoid(z_prev)), ("tanh", act.tanh(z_prev))]:
    for upstream in (1.0, -1.0):
        w = torch.randn(8, requires_grad=True)
        (w @ a).backward(torch.tensor(upstream))    # 上游梯度 dL/dz = upstream
        print(f"{name:7s} dL/dz = {upstream:+.0f} -> sign(dL/dw) = {torch.sign(w.grad).int().tolist()}")
        if name == "sigmoid":
            assert (torch.sign(w.grad) == upstream).all()
        else:
            assert (w.grad > 0).any() and (w.grad < 0).any()

# %% [markdown]
# ## 3. Tanh
#
# 双曲正切（hyperbolic tangent）：
#
# $$\tanh(x) = \frac{e^x - e^{-x}}{e^x + e^{-x}}$$
#
# - 定义域 $(-\infty, +\infty)$，值域 $(-1, 1)$，单调递增，是奇函数：$\tanh(-x) = -\tanh(x)$；
# - 输出**以 0 为中心**，上一节的"同号梯度"问题因此缓解，做隐藏层时通常比 Sigmoid 收敛快。
#
# 直接照公式算 $e^{x}$，在 $|x| > 88.7$ 时会溢出（`float32` 里 $e^{89}$ 就是 `inf`，结果变成 inf/inf = `nan`），`act.tanh` 用的是等价但不溢出的写法 $\operatorname{sign}(x)\,\frac{1 - e^{-2|x|}}{1 + e^{-2|x|}}$（指数的参数 $-2|x| \le 0$，最大只是 $e^0 = 1$）：

# %%
show_source(act.tanh)

# %%
# NBVAL_CHECK_OUTPUT
x = torch.tensor([-100.0, -2.0, 0.0, 2.0, 100.0])
naive = (torch.exp(x) - torch.exp(-x)) / (torch.exp(x) + torch.exp(-x))
print("照公式直接算:", [f"{v:.4f}" for v in naive.tolist()])
print("act.tanh     :", [f"{v:.4f}" for v in act.tanh(x).tolist()])
print("torch.tanh   :", [f"{v:.4f}" for v in torch.tanh(x).tolist()])
assert torch.isnan(naive[[0, -1]]).all() and torch.allclose(act.tanh(x), torch.tanh(x), atol=1e-6)

# %%
show(figures.make_figure("tanh.png"))

# %% [markdown]
# 面板已切到 tanh：把 x range 拉到 ±8，对比阴影（饱和区）的起点和 Sigmoid 的有什么不同。

# %%
actp.activation_panel("tanh")

# %% [markdown]
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：tanh 在 $(-3, 3)$ 之间变化最明显，和 Sigmoid 用同一个区间。
# >
# > **正确的说法**：$\tanh(x) = 2\sigma(2x) - 1$，tanh 就是把 Sigmoid 横向压缩一半、纵向拉伸到 $(-1, 1)$。所以它饱和得快一倍，和 Sigmoid 的 $(-3, 3)$ 相当的敏感区间大约是 $(-1.5, 1.5)$，到 $|x| = 2$ 导数只剩 $0.07$，到 $|x| = 3$ 只剩 $0.01$（面板里的阴影从 3.0 开始）。下面验证恒等式，并比较两者的"相对斜率" $f'(x)/f'(0)$：tanh 在 $x$ 处的值恰好等于 Sigmoid 在 $2x$ 处的值。证据见下一格。

# %%
# NBVAL_CHECK_OUTPUT
x = torch.linspace(-8, 8, 1601, dtype=torch.float64)
print(f"tanh(x) 与 2*sigmoid(2x) - 1 的最大差: {(act.tanh(x) - (2 * act.sigmoid(2 * x) - 1)).abs().max().item():.12f}")
assert torch.allclose(act.tanh(x), 2 * act.sigmoid(2 * x) - 1, atol=1e-12)
for v in (1.0, 1.5, 2.0, 3.0):
    t, s = act.tanh_grad(torch.tensor(v)).item(), act.sigmoid_grad(torch.tensor(2 * v)).item() / 0.25
    print(f"tanh'({v}) / tanh'(0) = {t:.4f}    sigmoid'({2 * v:.0f}) / sigmoid'(0) = {s:.4f}")
    assert abs(t - s) < 1e-6
assert abs(act.tanh_grad(torch.tensor(2.0)).item() - 0.07) < 0.001 and 0.0095 < act.tanh_grad(torch.tensor(3.0)).item() < 0.01

# %% [markdown]
# ### Tanh 的导数
#
# $$\tanh'(x) = 1 - \tanh^2(x)$$
#
# 导数在 $x = 0$ 取最大值 $1$，值域 $(0, 1]$——是 Sigmoid 最大导数 $0.25$ 的 4 倍，所以梯度衰减得慢得多，但 $|x|$ 大时仍然趋于 0。

# %%
show(figures.make_figure("tanh_derivative.png"))

# %% [markdown]
# **验证**：autograd 与公式一致，最大导数为 1，出现在 $x = 0$。

# %%
# NBVAL_CHECK_OUTPUT
x = torch.linspace(-10, 10, 200001, dtype=torch.float64, requires_grad=True)
torch.tanh(x).sum().backward()
grad = x.grad
print(f"公式与 autograd 的最大差: {(act.tanh_grad(x.detach()) - grad).abs().max().item():.12f}")
print(f"最大导数 {grad.max().item():.6f}，位置 |x| = {abs(x[grad.argmax()].item()):.4f}")
assert torch.allclose(act.tanh_grad(x.detach()), grad, atol=1e-12)
assert abs(grad.max().item() - 1.0) < 1e-12 and abs(x[grad.argmax()].item()) < 1e-3

# %% [markdown]
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：tanh 因为仍有梯度消失，"只适用于浅层神经网络（5 层以下）"。
# >
# > **正确的说法**：这是一条经验之谈，不存在硬性的层数上限。能训练多深取决于初始化和归一化：用 Xavier 初始化（权重方差 $1/n$）时，50 层的 tanh 网络里激活值只是缓慢变小，各层的梯度大小基本持平。下面前向传播一个 50 层、宽 256 的 tanh 网络，打印若干层激活值的标准差，再看各层梯度（上面的面板也可以选 tanh + Xavier、L = 50 亲自看）。证据见下一格。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
h = torch.randn(256, 256)
stds = {}
for layer in range(1, 51):
    h = torch.tanh(h @ (torch.randn(256, 256) / 256 ** 0.5))   # Xavier 初始化：std = 1/sqrt(n)
    stds[layer] = h.std().item()
print("第 1/10/25/50 层激活值的标准差:", [f"{stds[k]:.2f}" for k in (1, 10, 25, 50)])
g = act.layer_gradient_norms("tanh", 50, init="xavier")
print(f"|dL/dW_1| / |dL/dW_50| = {(g[0] / g[-1]).item():.2f}")
assert stds[1] > stds[10] > stds[25] > stds[50] > 0.05 and 0.1 < (g[0] / g[-1]).item() < 10

# %% [markdown]
# 层数更深时，标准差会缓慢下降（tanh 在 0 附近斜率为 1，离开 0 后小于 1），这正是"经验上 tanh 更适合浅层"的来源；但这是程度问题，不是 5 层这样的分界线。
#
# ## 4. ReLU
#
# 修正线性单元（rectified linear unit, ReLU）：
#
# $$\mathrm{ReLU}(x) = \max(0, x)$$
#
# - 定义域 $(-\infty, +\infty)$，值域 $[0, +\infty)$；
# - 分段线性：$x < 0$ 时恒为 0，$x > 0$ 时就是 $x$ 本身；非严格单调递增。

# %%
# NBVAL_CHECK_OUTPUT
x = torch.tensor([-50.0, -1.0, 0.0, 1.0, 50.0])
print("act.relu  :", act.relu(x).tolist())
print("torch.relu:", torch.relu(x).tolist())
assert torch.equal(act.relu(x), torch.relu(x))

# %%
show(figures.make_figure("relu.png"))

# %% [markdown]
# 切到 relu：负半轴整段都是导数为 0 的区域，正半轴导数恒为 1，没有饱和。

# %%
actp.activation_panel("relu")

# %% [markdown]
# ### ReLU 的导数
#
# $$\mathrm{ReLU}'(x) = \begin{cases} 0, & x < 0 \\ 1, & x > 0 \end{cases}$$
#
# 在 $x = 0$ 处左右导数不相等（0 和 1），严格说不可导。实现时必须取一个值（数学上叫次梯度（subgradient），$[0, 1]$ 中任意值都合法）；**PyTorch 取 0**。

# %%
show(figures.make_figure("relu_derivative.png"))

# %% [markdown]
# **验证**：autograd 在 $x = -1, 0, 1$ 处给出的导数是 `[0, 0, 1]`，`act.relu_grad` 也一样。

# %%
# NBVAL_CHECK_OUTPUT
x = torch.tensor([-1.0, 0.0, 1.0], requires_grad=True)
torch.relu(x).sum().backward()
print("autograd     :", x.grad.tolist())
print("act.relu_grad:", act.relu_grad(x.detach()).tolist())
assert x.grad.tolist() == [0.0, 0.0, 1.0] == act.relu_grad(x.detach()).tolist()

# %% [markdown]
# ### 为什么 ReLU 适合做隐藏层
#
# 1. **计算便宜**：只是一次比较和选择，没有指数运算。
# 2. **缓解梯度消失**：正半轴导数恒为 1，链式相乘时不会像 $0.25^n$ 那样衰减（回到上面的梯度面板，选 relu + Kaiming 看看）。
# 3. **稀疏激活**（sparse activation）：负半轴输出为 0，每个样本只点亮一部分神经元。对关于 0 对称的输入（例如 $N(0,1)$），大约一半单元输出 0。
# 4. **潜在问题**：一个单元若对**所有**样本都落在负半轴，它的输出和梯度都恒为 0，参数再也不会更新——这就是**神经元死亡**（dying ReLU）。
#
# **验证**（稀疏性）：对一百万个 $N(0, 1)$ 输入，ReLU 输出为 0 的比例约为一半。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
zero_fraction = (act.relu(torch.randn(1_000_000)) == 0).float().mean().item()
print(f"ReLU 输出为 0 的比例: {zero_fraction:.3f}")
assert abs(zero_fraction - 0.5) < 0.005

# %% [markdown]
# > **⚠ 笔记勘误（错别字）** **笔记的写法**："潜在问题"一段里写的是"部门输入"。**正确的说法**："**部分**输入"。
#
# ### 神经元什么时候会"死"
#
# 把第 $j$ 个单元在第 $n$ 个样本上的输入记为 $z_{nj} = w_j^\top x_n + b_j$。如果对数据中的每个样本都有 $z_{nj} \le 0$，那么 $\mathrm{ReLU}'(z_{nj}) = 0$，$w_j$ 和 $b_j$ 收到的梯度恒为 0。我们把这样的单元称为"死亡"，用 `act.dead_fraction(z)` 统计一层里死亡单元的比例。常见的三种成因：
#
# **(1) 偏置太负**：$b \ll 0$ 时，对几乎所有 $x$ 都有 $z < 0$。**验证**：`Linear(5, 1)` 的偏置设为 $-100$，在 $N(0,1)$ 输入上从不激活，权重和偏置的梯度都是 0。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
layer = nn.Linear(5, 1)
nn.init.constant_(layer.bias, -100.0)
x = torch.randn(1000, 5)
act.relu(layer(x)).sum().backward()
print("死亡比例:", act.dead_fraction(layer(x).detach()),
      "| 权重梯度最大绝对值:", layer.weight.grad.abs().max().item(), "| 偏置梯度:", layer.bias.grad.item())
assert act.dead_fraction(layer(x).detach()) == 1.0 and layer.weight.grad.abs().max().item() == 0.0

# %% [markdown]
# **(2) 学习率太大，一步把参数推进负半区**。参数更新为
#
# $$\omega \leftarrow \omega - \eta\frac{\partial L}{\partial \omega}, \qquad b \leftarrow b - \eta\frac{\partial L}{\partial b}$$
#
# $\eta$ 很大时，一次更新就可能让 $\omega^\top x + b < 0$ 对所有样本成立，之后梯度为 0，再也拉不回来。隐藏层的输入通常是上一层的 ReLU 输出（全部 $\ge 0$），这时梯度对 $w$ 和 $b$ 的推动方向一致，特别容易一步"跳死"。
#
# `act.relu_step_preactivations(b, lr)` 建一个 64 个单元的 ReLU 层（输入是 256 个非负样本），对一个 MSE 损失做**一步** SGD，返回更新前后的 $z$。（测试里把它和真正的 `torch.optim.SGD` 一步做了对照。）

# %%
# NBVAL_CHECK_OUTPUT
for lr in (0.01, 1.0, 10.0, 30.0, 100.0):
    z_before, z_after = act.relu_step_preactivations(0.0, lr, inputs="relu")
    print(f"lr = {lr:6.2f}:  更新前死亡 {act.dead_fraction(z_before):.0%}  ->  一步之后 {act.dead_fraction(z_after):.0%}")
_, z_small = act.relu_step_preactivations(0.0, 0.01)
_, z_large = act.relu_step_preactivations(0.0, 30.0)
assert act.dead_fraction(z_small) == 0.0 and act.dead_fraction(z_large) > 0.2

# %% [markdown]
# **验证**（面板的说法）：在面板的整个学习率范围里，非负输入、$b = 0$ 时从 2.5 左右开始有单元死亡，学习率 100 时死掉四成多；$N(0, 1)$ 输入、$b$ 取 $-1$ 到 $2$ 的每一格时，死亡比例最多增加 2%。

# %%
# NBVAL_CHECK_OUTPUT
lr_grid = torch.logspace(-3, 2, 101).tolist()                       # 面板里学习率的范围


def extra_dead(b, inputs):
    """对面板的每个学习率：一步之后比更新前多死的单元比例。"""
    before = act.dead_fraction(act.relu_step_preactivations(b, 0.0, inputs=inputs)[0])
    return [act.dead_fraction(act.relu_step_preactivations(b, lr, inputs=inputs)[1]) - before for lr in lr_grid]


threshold = min(lr for lr, extra in zip(lr_grid, extra_dead(0.0, "relu")) if extra > 0)
worst_normal = max(max(extra_dead(b / 10, "normal")) for b in range(-10, 21))   # b = -1.0, -0.9, ..., 2.0
print(f"非负输入、b = 0：从学习率 {threshold:.2f} 起开始有单元死亡；N(0, 1) 输入、b >= -1：死亡比例最多增加 {worst_normal:.1%}")
dead_at_100 = act.dead_fraction(act.relu_step_preactivations(0.0, 100.0)[1])
assert 2 < threshold < 3 and 0.4 < dead_at_100 < 0.5 and worst_normal <= 0.02

# %% [markdown]
# **(3) 输入分布偏移或初始化不当**：例如误用 `nn.init.uniform_(w)`，它的默认区间是 $U(0, 1)$，权重全为正（见第 3 章 2.2 节的勘误）；如果输入又整体偏负，$z$ 从一开始就几乎全负。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
layer = nn.Linear(16, 64)
nn.init.uniform_(layer.weight)                       # 默认 U(0, 1)：全正
x_centered, x_shifted = torch.randn(256, 16), torch.randn(256, 16) - 2.0
with torch.no_grad():
    dead_ok, dead_bad = act.dead_fraction(layer(x_centered)), act.dead_fraction(layer(x_shifted))
print(f"输入均值 0: 死亡 {dead_ok:.0%}   输入均值 -2: 死亡 {dead_bad:.0%}")
assert dead_ok < 0.1 and dead_bad > 0.9

# %% [markdown]
# 面板：左边是 64 个单元在 256 个样本上的 $z$ 的直方图（灰：更新前，橙：一步 SGD 之后），右边是"一步之后的死亡比例"随学习率的变化（红线，圆点是当前学习率，虚线是更新前的死亡比例）。
#
# - 把 **initial bias b** 往负方向拖：不用训练，很多单元一开始就是死的（成因 1）；
# - $b = 0$ 时把 **learning rate** 拖过 2.5 左右：一步更新就让一部分单元死亡（成因 2），学习率到 100 时死掉四成多。这个门槛取决于随机抽到的权重和数据，换随机种子会落在 2 到 5 之间；
# - 把 **inputs** 换成零均值的 $N(0, 1)$，并让 $b \ge -1$：学习率拖到最大，一步更新也几乎杀不死单元（死亡比例最多增加 2%）——更新只是把超平面转了个方向，数据的另一侧仍会把它激活。偏置更负时，本来就接近"全负"的单元仍然会被推过去。

# %%
actp.dying_relu_panel()

# %% [markdown]
# 常见的对策：较小的学习率或学习率预热（warmup）、合适的初始化（Kaiming）、批归一化（Batch Normalization, BatchNorm），或者换用负半轴保留小斜率的 LeakyReLU。
#
# ## 5. Softmax
#
# 多分类的输出层会给出 $K$ 个实数打分 $z = (z_1, \dots, z_K)$（称为 logits）。Softmax 把它们变成一个概率分布：
#
# $$\mathrm{Softmax}(z)_i = \frac{e^{z_i}}{\sum_{j=1}^{K} e^{z_j}}$$
#
# - 数学上每个分量都严格在 $(0, 1)$ 之内（分子 $e^{z_i} > 0$，又小于分母），所有分量之和为 1（浮点数会在两端舍入，见下文）；
# - 指数保持了大小顺序：打分最高的类，概率也最高；
# - **平移不变**：所有 $z_i$ 同时加上常数 $c$，分子分母同乘 $e^{c}$，结果不变。
#
# 最后一条给出了数值稳定的算法：先减去 $\max_j z_j$，最大的指数就是 $e^0 = 1$，不会溢出。`act.softmax(z, dim)` 就是这样写的，`dim` 指定沿哪一维归一化：

# %%
show_source(act.softmax)

# %%
# NBVAL_CHECK_OUTPUT
z = torch.tensor([1000.0, 0.0])
naive = torch.exp(z) / torch.exp(z).sum()            # e^1000 = inf，inf / inf = nan
print("直接照公式:", naive.tolist())
print("act.softmax:", act.softmax(z).tolist(), "  torch.softmax:", torch.softmax(z, dim=0).tolist())
assert torch.isnan(naive).any() and act.softmax(z).tolist() == [1.0, 0.0]

# %% [markdown]
# 结果 `[1.0, 0.0]` 里出现了精确的 1 和 0，这和"每个分量严格在 $(0, 1)$ 之内"并不矛盾，它是 `float32` 的舍入：
#
# - 数学上第二个分量是 $e^{-1000}/(1 + e^{-1000}) \approx 10^{-434.3}$，确实大于 0；但 `float32` 能表示的最小正数约为 $1.4 \times 10^{-45}$，$e^{-1000}$ **下溢**（underflow）成了 0，第一个分量于是正好是 $1/(1 + 0) = 1$；
# - 在 1 这一端，舍入来得更早：`float32` 里小于 1 的最大数是 $1 - 2^{-24} \approx 0.99999994$。logits 为 `[20, 0]` 时，第二个分量 $\approx 2.1 \times 10^{-9}$ 仍是正数，第一个分量 $1 - 2.1 \times 10^{-9}$ 却离 1 更近，于是存成了 1.0。
#
# 所以"概率严格小于 1"只在数学上成立；代码里对概率取 $\log(1 - p)$ 之类的量时，要预料到 $p$ 可能恰好是 1。

# %%
# NBVAL_CHECK_OUTPUT
smallest = torch.nextafter(torch.tensor(0.0), torch.tensor(1.0)).item()   # float32 最小的正数
below_one = torch.nextafter(torch.tensor(1.0), torch.tensor(0.0)).item()  # float32 里小于 1 的最大数
e1000 = torch.exp(torch.tensor(-1000.0)).item()
print(f"float32 最小正数 {smallest:.2e}，exp(-1000) = {e1000}；小于 1 的最大数 {below_one:.8f} = 1 - 2^-24")
p20 = act.softmax(torch.tensor([20.0, 0.0]))
print(f"float32: softmax([20, 0]) = [{p20[0].item()}, {p20[1].item():.3e}]")
assert e1000 == 0.0 and below_one == 1 - 2**-24
assert p20[0].item() == 1.0 and 0 < p20[1].item() < 1e-8

# %% [markdown]
# **验证**：对一批随机 logits 沿 `dim=1` 做 softmax，每行之和为 1、每个值在 $(0,1)$ 内、整体加 100 后结果不变，并且沿任意一维都和 `torch.softmax` 一致。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
z = torch.randn(4, 6)
p = act.softmax(z, dim=1)
print("行和:", [f"{v:.4f}" for v in p.sum(1).tolist()], "| 全在 (0,1):", bool(((p > 0) & (p < 1)).all()))
print(f"平移不变: |softmax(z+100) - softmax(z)| 最大 {(act.softmax(z + 100, dim=1) - p).abs().max().item():.5f}")
diffs = [(act.softmax(z, dim=d) - torch.softmax(z, dim=d)).abs().max().item() for d in (0, 1)]
print(f"与 torch.softmax 的最大差: dim=0 {diffs[0]:.6f}, dim=1 {diffs[1]:.6f}")
same = all(torch.allclose(act.softmax(z, dim=d), torch.softmax(z, dim=d), atol=1e-6) for d in (0, 1))
assert torch.allclose(p.sum(1), torch.ones(4)) and same and torch.allclose(act.softmax(z + 100, dim=1), p)

# %% [markdown]
# ### 温度（temperature）
#
# 把 logits 先除以温度 $T > 0$ 再做 softmax：
#
# $$p_i(T) = \frac{e^{z_i/T}}{\sum_j e^{z_j/T}}$$
#
# $T < 1$ 会拉大差距，分布更"尖"，$T \to 0$ 时趋于只在最大值处为 1 的 one-hot；$T > 1$ 会抹平差距，$T \to \infty$ 时趋于均匀分布 $1/K$。分布的"平坦程度"可以用熵（entropy）来量：
#
# $$H(p) = -\sum_i p_i \log p_i, \qquad 0 \le H \le \log K$$
#
# 拖动面板里的温度（对数刻度），看柱子的高度、最大概率和熵如何变化：

# %%
actp.softmax_panel()

# %% [markdown]
# **验证**：对面板里的 logits，$T = 0.01$ 时几乎是 one-hot，$T = 10^4$ 时几乎均匀；熵随温度单调增加；`act.entropy` 与 `torch.distributions.Categorical` 的熵一致；任何温度下 argmax 都不变。

# %%
# NBVAL_CHECK_OUTPUT
z = torch.tensor([2.0, 1.0, 0.5, -0.5, -1.5], dtype=torch.float64)
temps = torch.logspace(-2, 4, 61, dtype=torch.float64)
P = torch.stack([act.softmax(z / T) for T in temps])
H = act.entropy(P)
print("T = 0.01:", [f"{v:.3f}" for v in P[0].tolist()], "  T = 1e4:", [f"{v:.3f}" for v in P[-1].tolist()])
print(f"熵从 {H[0].item():.4f} 增加到 {H[-1].item():.4f}（上限 ln 5 = {torch.log(torch.tensor(5.0)).item():.4f}）")
assert (H[1:] >= H[:-1]).all() and (P.argmax(1) == 0).all()
assert torch.allclose(H, torch.distributions.Categorical(probs=P).entropy())

# %% [markdown]
# ### 为什么 Softmax 用在输出层
#
# 1. **概率解释清楚**：输出非负、和为 1，直接就是各类别的预测概率；
# 2. **适合多分类**：训练时和交叉熵（cross entropy）损失配合使用（注意下面的勘误）；
# 3. **不适合隐藏层**：所有输出共享一个分母，彼此竞争。它的**雅可比矩阵**（Jacobian）是
#
# $$\frac{\partial p_i}{\partial z_j} = p_i(\delta_{ij} - p_j), \qquad J = \mathrm{diag}(p) - pp^\top$$
#
# 非对角元全为负：抬高一个 logit，其他所有类的概率都会下降，每一列的和为 0（总概率守恒）。这种耦合适合"选一个类别"，却会让中间层的各个特征互相牵制。
#
# **验证**：`act.softmax_jacobian` 与 autograd 算出的雅可比矩阵一致，列和为 0，非对角元为负。

# %%
# NBVAL_CHECK_OUTPUT
z = torch.tensor([2.0, 1.0, 0.5, -0.5, -1.5], dtype=torch.float64)
J = act.softmax_jacobian(z)
J_autograd = torch.autograd.functional.jacobian(lambda v: torch.softmax(v, dim=0), z)
off_diagonal = J[~torch.eye(5, dtype=torch.bool)]
print(f"公式与 autograd 的最大差: {(J - J_autograd).abs().max().item():.12f} | 列和绝对值最大: {J.sum(0).abs().max().item():.12f}")
print(f"非对角元最大值: {off_diagonal.max().item():.4f} (< 0) | 对角元 p_i(1-p_i):", [f"{v:.3f}" for v in J.diag().tolist()])
assert torch.allclose(J, J_autograd) and torch.allclose(J.sum(0), torch.zeros(5, dtype=torch.float64)) and (off_diagonal < 0).all()

# %% [markdown]
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：Softmax "常与交叉熵损失函数联合使用"，容易让人先算 softmax、再把概率交给 `nn.CrossEntropyLoss`。
# >
# > **正确的说法**：`nn.CrossEntropyLoss`（以及 `F.cross_entropy`）要的是**原始 logits**，它内部自己做 log-softmax；先手动 softmax 再传进去，损失值就错了。梯度会怎样、二分类该怎么办，详见第 4 章。证据见下一格。

# %%
# NBVAL_CHECK_OUTPUT
logits = torch.tensor([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3], [1.2, 0.2, 3.0]])
target = torch.tensor([0, 1, 2])
right = F.cross_entropy(logits, target)
by_hand = -torch.log(act.softmax(logits, dim=1)[torch.arange(3), target]).mean()
wrong = F.cross_entropy(act.softmax(logits, dim=1), target)      # 常见错误：先 softmax
print(f"CE(logits) = {right.item():.4f}   -mean log softmax = {by_hand.item():.4f}   CE(softmax(logits)) = {wrong.item():.4f}")
assert torch.allclose(right, by_hand) and not torch.allclose(right, wrong)

# %% [markdown]
# ## 小结
#
# - 没有激活函数，多层线性网络等价于一层（已用 `allclose` 验证）；加一个 ReLU，two moons 的决策边界就能弯曲。
# - **Sigmoid**：值域 $(0,1)$，导数 $\sigma(1-\sigma) \in (0, 0.25]$；饱和区宽、输出非零中心，多层连乘导致梯度消失。适合二分类输出层。
# - **Tanh**：$2\sigma(2x)-1$，值域 $(-1,1)$、零中心，导数最大为 1；仍会饱和（比 Sigmoid 快一倍），但配合 Xavier 初始化可以很深。
# - **ReLU**：$\max(0,x)$，正半轴导数为 1，计算便宜、稀疏激活；$x=0$ 处 PyTorch 取导数 0。偏置过负、学习率过大、输入/初始化不当会让单元永久死亡。
# - **Softmax**：把 logits 变成概率分布，平移不变，先减最大值保证数值稳定；温度控制分布的尖锐程度；配合交叉熵时直接传 logits。
#
# ## 面试速答
#
# **问：为什么需要激活函数？**
# 答：线性层的复合仍是线性层，没有非线性，网络再深也只能表示一个线性映射；激活函数让网络能拟合非线性的决策边界。
#
# **问：Sigmoid 为什么会梯度消失？**
# 答：它的导数最大只有 0.25，且在 $|x|$ 较大时趋近 0；反向传播时每层都乘一个这样的因子，层数一多，靠近输入的层梯度呈指数级衰减。
#
# **问：什么是"非零中心"问题？**
# 答：Sigmoid 输出全为正，下一层同一个神经元的所有权重梯度和上游梯度同号，只能整体增大或整体减小，更新走锯齿路线，收敛变慢。Tanh 输出以 0 为中心、有正有负，各个权重梯度的符号不再被绑在一起，这个问题大为缓解。
#
# **问：ReLU 的优缺点？**
# 答：优点是计算简单、正半轴梯度为 1 不衰减、激活稀疏；缺点是负半轴梯度为 0，单元可能"死亡"，输出也不是零中心的。
#
# **问：什么情况下 ReLU 会死？怎么办？**
# 答：偏置过负、学习率过大使一次更新后对所有样本都有 $z<0$、输入分布偏移或初始化不当。对策：调小学习率、用 Kaiming 初始化、加 BatchNorm，或改用 LeakyReLU 等变体。
#
# **问：Softmax 怎么算才数值稳定？和交叉熵一起用要注意什么？**
# 答：先减去最大 logit 再取指数（结果不变，且不会溢出）。`nn.CrossEntropyLoss` 内部已经包含 log-softmax，应直接传入 logits，不要先做 softmax。
#
# ## 练习
#
# **练习 1（数值稳定的 log-softmax）**：第 5 节的 `act.softmax` 解决了指数上溢，可如果再对它的结果取 `log`，极小的概率先下溢成 0，就得到 $\log 0 = -\infty$（比如 `[1000., 0.]` 的第二个分量）。分类损失真正需要的正是这个对数，所以请写一个函数 `my_log_softmax(z, dim=-1)`，直接算出沿 `dim` 的 $\log \mathrm{Softmax}(z)$：对 `[1000., 0.]` 要得到有限的 `[0., -1000.]`，梯度也要能传回 `z`。
#
# 提示：$\log \mathrm{Softmax}(z)_i = z_i - \log\sum_j e^{z_j}$，后一项同样可以先减去最大值再算。只用 `torch.exp`、`torch.log`、`sum`、`amax` 这类基本运算。检查器看的是你的函数**实际运行了哪些算子**：现成的 softmax、log-softmax、logsumexp（不管用哪个名字、从哪个模块调用），以及课程自带的函数，都会被认出来；转成 NumPy 算出来的数字没有梯度，也过不了。

# %%
my_log_softmax = None  # 在这里写你的函数：def my_log_softmax(z, dim=-1): return ...
exercises.check_log_softmax(my_log_softmax)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# 记 $m = \max_j z_j$，则 $\log\sum_j e^{z_j} = m + \log\sum_j e^{z_j - m}$。$z - m \le 0$，指数不会上溢；求和里至少有一项 $e^0 = 1$，`log` 的参数不小于 1，也就不会出现 $\log 0$。`keepdim=True` 让最大值和求和结果保持能广播回 `z` 的形状。
#
# ```python
# def my_log_softmax(z, dim=-1):
#     m = z.amax(dim=dim, keepdim=True)
#     return z - m - torch.log(torch.exp(z - m).sum(dim=dim, keepdim=True))
#
# exercises.check_log_softmax(my_log_softmax)
# ```
#
# </details>
#
# **练习 2（用 Sigmoid 写 Tanh）**：只用 `torch.sigmoid` 和四则运算写出 `my_tanh(x)`，要求在 $[-10, 10]$ 上与 `torch.tanh` 一致，梯度也能传回 `x`。检查器会认出任何 tanh 算子（`torch.tanh`、`x.tanh()`、`F.tanh`、`nn.Tanh`……）和本章的 `act.tanh`，不管它是怎么被调用的。

# %%
my_tanh = None  # 在这里写你的函数：def my_tanh(x): return ...
exercises.check_tanh_from_sigmoid(my_tanh)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# 分子分母同除以 $e^{x}$：$\tanh(x) = \dfrac{1 - e^{-2x}}{1 + e^{-2x}} = \dfrac{2}{1 + e^{-2x}} - 1 = 2\sigma(2x) - 1$。
#
# ```python
# def my_tanh(x):
#     return 2 * torch.sigmoid(2 * x) - 1
#
# exercises.check_tanh_from_sigmoid(my_tanh)
# ```
#
# </details>
#
# **练习 3（数一数死亡单元）**：下面的代码建了一个偏置全为 $-2$ 的 `Linear(4, 100)` 和 500 个输入样本。算出 100 个单元中**在所有样本上都不激活**（$z \le 0$）的比例，填到 `answer`（一个 0 到 1 之间的数）。

# %%
torch.manual_seed(2)
layer = nn.Linear(4, 100)
nn.init.constant_(layer.bias, -2.0)
x = torch.randn(500, 4)
answer = None  # 在这里写你的答案
exercises.check_dead_fraction(answer)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# 按单元（列）判断：`(z > 0).sum(dim=0) == 0` 表示这一列在所有样本上都没有激活，再对 100 个单元取平均。
#
# ```python
# with torch.no_grad():
#     z = layer(x)                      # 形状 (500, 100)
# answer = ((z > 0).sum(dim=0) == 0).float().mean().item()
# exercises.check_dead_fraction(answer)  # 也可以用 act.dead_fraction(z)
# ```
#
# </details>

# %% [markdown]
# ---
#
# [← 第1章 张量](01_tensors.ipynb) · [第3章 参数初始化 →](03_initialization.ipynb)
