# %% [markdown]
# # 第4章 损失函数 (Loss functions)
#
# **学习目标**
#
# - 从公式亲手实现多分类交叉熵、二元交叉熵、MAE、MSE 与 Huber 损失，并逐个和 PyTorch 对上数字
# - 分清 logits 和概率：知道 `nn.CrossEntropyLoss`、`nn.BCEWithLogitsLoss` 各自要什么输入
# - 从**梯度的形状**解释每种损失的脾气：MAE 为什么在最优点附近来回跳、MSE 为什么被离群点拖走、Huber 怎样两头兼顾
# - 弄清 `nn.HuberLoss(delta)` 和 `nn.SmoothL1Loss(beta)` 的换算关系
# - 会用 `reduction`、`weight`、`ignore_index`、`label_smoothing`、`pos_weight` 这些参数，并能写出每个参数对应的公式
#
# **预计用时**：60–75 分钟
#
# **先修**：第1章（张量、自动求导）、第2章（sigmoid 与 softmax）

# %%
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from helpers import data, figures, losses, show_source, training
from helpers.exercises import losses as exercises
from helpers.panels.losses import gd_1d_panel, loss_panel, robust_regression_panel
from helpers.plotting import show

# %% [markdown]
# 损失函数（loss function）把"模型的预测离正确答案有多远"压成**一个数**。训练做的事情只有一件：沿着这个数的梯度调整参数，让它变小。
# 所以一个损失函数好不好用，不仅看它的数值，更要看它的**梯度**：梯度的方向告诉参数往哪走，梯度的大小决定每一步迈多远。
#
# 本章按笔记的顺序走一遍：先是分类用的两种交叉熵（输出是概率），再是回归用的 MAE、MSE、Huber（输出是实数），最后把三种回归损失放到同一份带离群点的数据上比一比。
# 所有公式在 `helpers/losses.py` 里都有一份照公式写的实现，本章会逐个拿它和 PyTorch 对比。

# %% [markdown]
# ## 1. 多分类交叉熵（cross-entropy）
#
# 分类模型对每个样本输出 $C$ 个分数，称为 logits（未归一化的分数）$z_{n,1},\dots,z_{n,C}$；softmax 把它们变成概率 $p_{n,i} = e^{z_{n,i}} / \sum_k e^{z_{n,k}}$。
# 交叉熵对 $N$ 个样本取平均：
#
# $$\mathcal{L} = -\frac{1}{N}\sum_{n=1}^{N}\sum_{i=1}^{C} y_{n,i}\,\log p_{n,i}$$
#
# - $N$ 是样本数，$C$ 是类别数；
# - $y_{n,i}$ 是**第 $n$ 个样本**在第 $i$ 类上的独热标签（one-hot）：真实类别处为 1，其余为 0；
# - $p_{n,i}$ 是模型认为第 $n$ 个样本属于第 $i$ 类的概率。
#
# > **⚠ 笔记勘误（轻微）**
# >
# > **笔记的写法**：把 $y_{n,i}$ 解释成"第 $i$ 个类别的标签"，丢了样本下标 $n$。
# >
# > **正确的说法**：同一个类别对不同样本的标签并不相同（样本 1 是 B 类，样本 2 可能是 A 类），所以它是"第 $n$ 个样本在第 $i$ 类上的标签"。
#
# 因为每一行 $y_{n,\cdot}$ 只有一个 1，内层求和里只剩真实类别那一项。记第 $n$ 个样本的真实类别为 $y_n$，就得到**简化公式**：
#
# $$\mathcal{L} = -\frac{1}{N}\sum_{n=1}^{N}\log p_{n,\,y_n}$$
#
# 例如类别是 $(A, B, C)$，某个样本属于 $B$，模型给出 $(P_A, P_B, P_C)$，那么这个样本只贡献 $-\log P_B$，$P_A$、$P_C$ 不直接出现（它们通过 softmax 的归一化间接影响 $P_B$）。
# 直观地说，交叉熵衡量的是模型对**真实类别**有多"不自信"：$P_B$ 越接近 1，损失越接近 0。
#
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：简化公式写成 $\mathcal{L} = -\sum_{n=1}^{N}\log\big(p_{i}))$。它有三处问题：
# >
# > 1. **少了 $\frac{1}{N}$**：和上面的平均公式矛盾，也不是 PyTorch 默认的 `reduction='mean'`；不除以 $N$ 的版本对应的是 `reduction='sum'`；
# > 2. **下标不对**：应当是第 $n$ 个样本真实类别的概率 $p_{n,y_n}$，而不是与 $n$ 无关的 $p_i$；
# > 3. 括号不配对。
# >
# > **正确的说法**：$\mathcal{L} = -\frac{1}{N}\sum_{n=1}^{N}\log p_{n,y_n}$。
# >
# > 证据见下一格：用 5 个样本、3 个类别把几种写法和 PyTorch 对比。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
logits = torch.randn(5, 3)                  # 5 个样本，3 个类别的 logits
target = torch.tensor([1, 0, 2, 1, 1])      # 每个样本的真实类别（类别下标）
log_p = torch.log_softmax(logits, dim=1)
rows = torch.arange(5)
full = -(F.one_hot(target, 3) * log_p).sum() / 5     # 完整公式：one-hot 双重求和，再除以 N
simplified = -log_p[rows, target].mean()             # 正确的简化公式
notes_version = -log_p[rows, target].sum()           # 笔记的写法：没有 1/N
print(f"nn.CrossEntropyLoss()                = {nn.CrossEntropyLoss()(logits, target):.6f}")
print(f"完整公式 / 简化公式                  = {full:.6f} / {simplified:.6f}")
print(f"nn.CrossEntropyLoss(reduction='sum') = {nn.CrossEntropyLoss(reduction='sum')(logits, target):.6f}")
print(f"笔记的公式（没有 1/N）               = {notes_version:.6f}")

# %% [markdown]
# `helpers.losses.cross_entropy` 按简化公式实现。唯一的技巧是 **数值稳定的 log-softmax**：直接算 $e^{z}$ 在 $z=1000$ 时就溢出成 `inf`。
# 先减去每行最大值 $m$ 不改变 softmax 的结果，却保证指数不超过 $e^0 = 1$：
#
# $$\log p_i = (z_i - m) - \log\sum_k e^{\,z_k - m},\qquad m = \max_k z_k$$
#
# 先读这两个函数：`log_softmax` 就是上式；`cross_entropy` 检查完输入的形状和取值后，最后一行取出每个样本真实类别的 $-\log p_{n,y_n}$ 再按 `reduction` 合起来。

# %%
show_source(losses.log_softmax)
show_source(losses.cross_entropy)

# %%
big = torch.tensor([[1000.0, 0.0, -5.0]])
naive = torch.log(torch.exp(big) / torch.exp(big).sum())
print("直接算 log(softmax)：", naive)
print("稳定的 log_softmax： ", losses.log_softmax(big))

# %% [markdown]
# 只看一个样本时，损失就是 $\mathcal{L} = -\log p$，$p$ 是模型给真实类别的概率。$p \to 1$ 时损失趋于 0，$p \to 0$ 时损失趋于无穷：模型越"自信地错"，罚得越重。

# %%
show(figures.make_figure("Cross_Entropy.png"))

# %% [markdown]
# 下面的面板画出交叉熵关于**真实类别 logit** 的曲线（另外两个类别的 logit 固定为 0）和它的导数。导数始终是 $p_{\text{true}} - 1 \in (-1, 0)$：logit 越大，推力越小，但永远不会变成正的。
# 下拉框里还可以换成本章后面的其它损失，先留个印象。

# %%
loss_panel(loss="Cross-entropy (3 classes)")

# %% [markdown]
# **验证**：我们的实现、one-hot 完整公式与 `F.cross_entropy` 一致；`reduction='sum'` 正好是少了 $\frac1N$ 的笔记写法；单样本 $-\log p$ 随 $p$ 增大而减小；对 logits 的梯度是 $(\mathrm{softmax}(z) - \text{onehot})/N$；面板横轴上对真实类别 logit 的导数是 $p_{\text{true}} - 1$，始终在 $(-1, 0)$ 内。

# %%
# NBVAL_CHECK_OUTPUT
ours = losses.cross_entropy(logits, target)
torch_ce = F.cross_entropy(logits, target)
onehot_ce = losses.cross_entropy_onehot(logits, F.one_hot(target, 3).float())
print(f"我们的实现 = {ours:.6f}，one-hot 完整公式 = {onehot_ce:.6f}，F.cross_entropy = {torch_ce:.6f}")
print(f"reduction='sum' = {F.cross_entropy(logits, target, reduction='sum'):.6f}，笔记写法 = {notes_version:.6f}")
assert torch.allclose(ours, torch_ce, atol=1e-6) and torch.allclose(onehot_ce, torch_ce, atol=1e-6)
assert torch.allclose(F.cross_entropy(logits, target, reduction="sum"), notes_version, atol=1e-5)

# %%
# NBVAL_CHECK_OUTPUT
p = torch.tensor([0.99, 0.5, 0.1, 0.01])
print("p       :", [round(v, 2) for v in p.tolist()])
print("-log(p) :", [round(v, 3) for v in (-torch.log(p)).tolist()])
assert torch.all(torch.diff(-torch.log(p)) > 0)
z = logits.clone().requires_grad_()
F.cross_entropy(z, target).backward()
expected_grad = (torch.softmax(logits, 1) - F.one_hot(target, 3)) / 5
print(f"|autograd 梯度 - (softmax - onehot)/N| 的最大值 = {(z.grad - expected_grad).abs().max().item():.6f}")
assert torch.allclose(z.grad, expected_grad, atol=1e-6)
true_logit = torch.linspace(-4, 4, 401, dtype=torch.float64, requires_grad=True)   # 面板的横轴，另两个 logit 为 0
three = torch.stack([true_logit, torch.zeros_like(true_logit), torch.zeros_like(true_logit)], 1)
F.cross_entropy(three, torch.zeros(401, dtype=torch.long), reduction="sum").backward()
p_true = torch.softmax(three.detach(), 1)[:, 0]
assert torch.allclose(true_logit.grad, p_true - 1) and (true_logit.grad > -1).all() and (true_logit.grad < 0).all()

# %% [markdown]
# ### 1.1 logits 还是概率？
#
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：softmax "常与交叉熵联合使用"，RNN 一节也把 softmax 的输出当作送进损失的 $\hat y$，很容易让人在 `nn.CrossEntropyLoss` 前面先手动做一次 softmax。
# >
# > **正确的说法**：`nn.CrossEntropyLoss` 要的是**原始 logits**，它内部自己做 log-softmax（等价于 `nn.LogSoftmax` + `nn.NLLLoss`）。
# > 先 softmax 再送进去，相当于做了两次 softmax，得到一个数值不同、梯度也被压扁的**错误损失**。二分类同理：`nn.BCEWithLogitsLoss` 要 logits，`nn.BCELoss` 要概率。
# >
# > 证据见下一格。

# %%
# NBVAL_CHECK_OUTPUT
ce = nn.CrossEntropyLoss()
right = ce(logits, target)                             # 正确：直接给 logits
wrong = ce(torch.softmax(logits, dim=1), target)       # 常见错误：先 softmax 再给 CE
nll = nn.NLLLoss()(torch.log_softmax(logits, dim=1), target)
print(f"CE(logits)          = {right:.6f}")
print(f"CE(softmax(logits)) = {wrong:.6f}   ← 错误的损失值")
print(f"NLL(log_softmax)    = {nll:.6f}")
assert not torch.isclose(right, wrong) and torch.isclose(right, nll)

# %% [markdown]
# 错在哪里？送进去的"logits"其实是 $[0,1]$ 里的概率，再做一次 softmax 后各类别的概率被挤到 $1/C$ 附近。
# $C = 3$ 时，无论模型多自信，这个错误的损失都被困在 $[\log(1 + 2/e),\ \log(2 + e)] \approx [0.551, 1.551]$ 之间（上下界恰好相差 1），永远降不到 0；梯度也被压扁了。下一格先看第 1 节的 5 个样本，再在 200 批随机 logits（尺度从 0.1 到 10）上检查这两件事：每个样本的错误损失都在界内，每一批的梯度范数都不到正确用法的七成。

# %%
# NBVAL_CHECK_OUTPUT
for name, make_input in [("logits", lambda z: z), ("softmax(logits)", lambda z: torch.softmax(z, 1))]:
    z = logits.clone().requires_grad_()
    ce(make_input(z), target).backward()
    print(f"输入 = {name:16s} 对 logits 的梯度范数 = {z.grad.norm():.4f}")
confident = torch.tensor([[100.0, 0.0, 0.0]])          # 极其自信的模型
for label, true_class, bound in [("自信且正确", 0, math.log(1 + 2 / math.e)), ("自信但错误", 1, math.log(2 + math.e))]:
    t = torch.tensor([true_class])
    wrong_ce = ce(torch.softmax(confident, 1), t).item()
    print(f"{label}：CE(logits) = {ce(confident, t):.4f}，CE(softmax) = {wrong_ce:.4f}，界 = {bound:.4f}")
    assert abs(wrong_ce - bound) < 1e-5

# %%
# NBVAL_CHECK_OUTPUT
wrong_losses, ratios = [], []
for batch in range(200):
    g = torch.Generator().manual_seed(batch)
    z0 = torch.randn(5, 3, generator=g) * [0.1, 1.0, 3.0, 10.0][batch % 4]
    t = torch.randint(0, 3, (5,), generator=g)
    wrong_losses.append(nn.CrossEntropyLoss(reduction="none")(torch.softmax(z0, 1), t))
    z_right, z_wrong = z0.clone().requires_grad_(), z0.clone().requires_grad_()
    ce(z_right, t).backward()
    ce(torch.softmax(z_wrong, 1), t).backward()
    ratios.append(z_wrong.grad.norm().item() / z_right.grad.norm().item())
lowest, highest, worst_ratio = torch.cat(wrong_losses).min().item(), torch.cat(wrong_losses).max().item(), max(ratios)
print(f"200 批随机 logits：错误损失在 [{lowest:.3f}, {highest:.3f}] 内；梯度范数之比（先 softmax / 正确）最大 {worst_ratio:.2f}")
assert math.log(1 + 2 / math.e) - 1e-6 <= lowest and highest <= math.log(2 + math.e) + 1e-6 and worst_ratio < 0.7

# %% [markdown]
# ### 1.2 `nn.CrossEntropyLoss` 的常用参数
#
# 完整的签名是 `nn.CrossEntropyLoss(weight=None, ignore_index=-100, reduction='mean', label_smoothing=0.0)`。记第 $n$ 个样本的损失为 $\ell_n = -\log p_{n,y_n}$，四个参数各自改变的是下面公式里的一处。每一格都用第 1 节的 5 个样本（`logits`、`target`、`log_p`）照公式手算一遍，再和 PyTorch 比较。
#
# **`reduction`**：怎样把 $N$ 个 $\ell_n$ 合成结果。`'none'` 原样返回长度为 $N$ 的向量 $(\ell_1, \dots, \ell_N)$，`'sum'` 返回 $\sum_n \ell_n$，默认的 `'mean'` 返回 $\frac1N\sum_n \ell_n$。想对每个样本另做处理（例如只看最难的几个样本）时，用 `'none'` 拿到逐样本的损失。

# %%
# NBVAL_CHECK_OUTPUT
per_sample = nn.CrossEntropyLoss(reduction="none")(logits, target)
by_hand = -log_p[rows, target]                                      # 每个样本的 ℓ_n
print("reduction='none':", [round(v, 4) for v in per_sample.tolist()])
print(f"'sum' = {nn.CrossEntropyLoss(reduction='sum')(logits, target):.4f}，'mean' = {nn.CrossEntropyLoss()(logits, target):.4f}")
assert torch.allclose(per_sample, by_hand)
assert torch.allclose(nn.CrossEntropyLoss(reduction="sum")(logits, target), by_hand.sum())
assert torch.allclose(nn.CrossEntropyLoss(reduction="mean")(logits, target), by_hand.mean())

# %% [markdown]
# **`weight`**：长度为 $C$ 的类别权重 $w_c$，类别不平衡时给少数类更大的权重。真实类别为 $c$ 的样本，损失乘以 $w_c$；`'mean'` 此时是**加权平均**，分母是这些权重之和，而不是 $N$：
#
# $$\mathcal{L} = \frac{\sum_{n} w_{y_n}\,\ell_n}{\sum_{n} w_{y_n}}$$

# %%
# NBVAL_CHECK_OUTPUT
w = torch.tensor([1.0, 3.0, 0.5])                                   # 类别 1 的样本算 3 份，类别 2 的算半份
weighted = nn.CrossEntropyLoss(weight=w)(logits, target)
by_hand = (w[target] * -log_p[rows, target]).sum() / w[target].sum()
divided_by_n = (w[target] * -log_p[rows, target]).mean()
print(f"PyTorch {weighted:.6f}，手算 Σw·ℓ / Σw = {by_hand:.6f}，（若除以 N：{divided_by_n:.6f}）")
assert torch.allclose(weighted, by_hand) and not torch.allclose(weighted, divided_by_n)

# %% [markdown]
# **`ignore_index`**：标签等于它（默认 $-100$）的样本既不进分子，也不进分母，就像不存在一样。序列模型里常用它跳过补齐长度用的填充位置（padding）：
#
# $$\mathcal{L} = \frac{1}{|S|}\sum_{n \in S} \ell_n, \qquad S = \{\,n : y_n \ne \mathrm{ignore}\,\}$$
#
# 其中 $\mathrm{ignore}$ 就是 `ignore_index` 的值，$|S|$ 是留下来的样本数。

# %%
# NBVAL_CHECK_OUTPUT
padded = torch.tensor([1, 0, -100, 1, -100])                        # 第 3、5 个样本被标成"忽略"
kept = padded != -100
ignored = nn.CrossEntropyLoss()(logits, padded)                      # ignore_index 默认就是 -100
by_hand = -log_p[rows[kept], padded[kept]].mean()                    # 只在剩下的 3 个样本上平均
print(f"PyTorch {ignored:.6f}，手算（3 个样本的平均）{by_hand:.6f}")
assert torch.allclose(ignored, by_hand)

# %% [markdown]
# **`label_smoothing`**：把独热目标换成"大部分给真实类别、剩下的均分给所有类别"的分布。平滑系数为 $\varepsilon$ 时
#
# $$q_{n,i} = (1 - \varepsilon)\,[\,i = y_n\,] + \frac{\varepsilon}{C}, \qquad \mathcal{L} = -\frac1N\sum_{n}\sum_{i} q_{n,i}\log p_{n,i}$$
#
# 这时损失的最小值不再是 0：$p$ 等于 $q$ 时最小，最小值是 $q$ 的熵 $-\sum_i q_i \log q_i$。模型不会被推着把真实类别的 logit 无限抬高，常用来缓解过度自信。下一格也检查这一点：把 logits 取成 $\log q$，梯度为 0，损失等于 $q$ 的熵。

# %%
# NBVAL_CHECK_OUTPUT
eps = 0.1
q = (1 - eps) * F.one_hot(target, 3) + eps / 3                      # 平滑后的目标，每行之和仍为 1
smoothed = nn.CrossEntropyLoss(label_smoothing=eps)(logits, target)
by_hand = -(q * log_p).sum(dim=1).mean()
print(f"PyTorch {smoothed:.6f}，手算 -mean Σ q log p = {by_hand:.6f}，不平滑时 {nn.CrossEntropyLoss()(logits, target):.6f}")
assert torch.allclose(smoothed, by_hand) and torch.allclose(q.sum(dim=1), torch.ones(5))
at_q = torch.log(q).clone().requires_grad_()
smallest = nn.CrossEntropyLoss(label_smoothing=eps)(at_q, target)
smallest.backward()
entropy_q = -(q * torch.log(q)).sum(dim=1).mean()
print(f"logits = log q：损失 {smallest:.6f} = q 的熵 {entropy_q:.6f} > 0，梯度最大绝对值 {at_q.grad.abs().max().item():.1e}")
assert torch.allclose(smallest, entropy_q) and smallest > 0 and at_q.grad.abs().max() < 1e-6

# %% [markdown]
# ## 2. 二元交叉熵（binary cross-entropy）
#
# 二分类只需要一个数 $p \in (0,1)$：样本属于正类的概率；真实标签 $y \in \{0, 1\}$。和第 1 节一样，$N$ 是样本数、$n$ 是样本下标：
#
# $$\mathcal{L} = -\frac{1}{N}\sum_{n=1}^{N}\Big[\,y_n\log p_n + (1-y_n)\log(1-p_n)\Big]$$
#
# 标签只取 0 或 1，所以对每个样本，方括号里的两项总有一项乘了 0：
#
# - 正样本（$y = 1$）只剩 $-\log p$，只看模型给正类的概率。这个概率越靠近 1，罚得越少；越靠近 0，罚分越大，而且没有上限，"很有把握地判错"代价最高。
# - 负样本（$y = 0$）只剩 $-\log(1-p)$，情形正好反过来：$p$ 越小越好，$p$ 逼近 1 时罚分同样无界。
#
# 换个角度看，它就是类别数 $C = 2$ 的多分类交叉熵，两个类别的概率分别是 $1-p$ 和 $p$。

# %%
show(figures.make_figure("Binary_Entropy.png"))

# %%
# NBVAL_CHECK_OUTPUT
p = torch.tensor([0.9, 0.2, 0.6, 0.05, 0.7])
y = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0])
print(f"losses.binary_cross_entropy = {losses.binary_cross_entropy(p, y):.6f}")
print(f"nn.BCELoss()                = {nn.BCELoss()(p, y):.6f}")
print(f"两类交叉熵                  = {F.cross_entropy(torch.log(torch.stack([1 - p, p], 1)), y.long()):.6f}")

# %% [markdown]
# 实际模型输出的是 logit $z$，概率是 $p = \sigma(z)$。`nn.BCEWithLogitsLoss` 把 sigmoid 和 BCE 合在一起算，好处是**数值稳定**。
# 利用 $\log\sigma(z) = -\log(1+e^{-z})$ 可以把损失改写成不会溢出的形式：
#
# $$\ell(z, y) = \max(z, 0) - z\,y + \log\!\big(1 + e^{-|z|}\big)$$
#
# 分开算会出问题：float32 里 $\sigma(-200)$ 直接等于 0，$\log 0 = -\infty$。`nn.BCELoss` 为了不返回 `inf`，把 $\log$ 截断在 $-100$，于是真实损失 200 被报成了 100：

# %%
# NBVAL_CHECK_OUTPUT
z_far = torch.tensor([-200.0])
y_one = torch.tensor([1.0])
print(f"float32 里的 sigmoid(-200)  = {torch.sigmoid(z_far).item()}")
print(f"BCELoss(sigmoid(z), y)     = {nn.BCELoss()(torch.sigmoid(z_far), y_one):.4f}   ← 被截断在 100")
print(f"BCEWithLogitsLoss(z, y)    = {nn.BCEWithLogitsLoss()(z_far, y_one):.4f}")
print(f"losses.bce_with_logits     = {losses.binary_cross_entropy_with_logits(z_far, y_one):.4f}")

# %% [markdown]
# `nn.BCEWithLogitsLoss(weight=None, reduction='mean', pos_weight=None)` 多了一个 `pos_weight`（记作 $w_+$）：只把**正样本**那一项放大，负样本不变。正负样本比例悬殊时（例如 1:4），常取 $w_+ \approx$ 负样本数 / 正样本数，让两类对损失的总贡献差不多：
#
# $$\ell(z, y) = -\Big[\,w_+\, y\log\sigma(z) + (1-y)\log\big(1-\sigma(z)\big)\Big]$$
#
# 注意 `'mean'` 在这里仍然是除以元素个数 $N$，和上面 `CrossEntropyLoss(weight=...)` 除以权重之和不同。

# %%
# NBVAL_CHECK_OUTPUT
z5 = torch.tensor([2.0, -1.0, 0.5, -3.0, 1.0])
y5 = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0])
pos_weight = torch.tensor(4.0)                                      # 正样本的损失乘以 4
weighted = nn.BCEWithLogitsLoss(pos_weight=pos_weight)(z5, y5)
p5 = torch.sigmoid(z5)
by_hand = -(pos_weight * y5 * torch.log(p5) + (1 - y5) * torch.log(1 - p5)).mean()
print(f"PyTorch {weighted:.6f}，手算（除以 N）{by_hand:.6f}，不加权 {nn.BCEWithLogitsLoss()(z5, y5):.6f}")
assert torch.allclose(weighted, by_hand)

# %% [markdown]
# 回到第 1 节的面板，在下拉框里选 "BCE with logits (y=1)"：横轴是 logit $z$，损失是 $\log(1+e^{-z})$，导数是 $\sigma(z) - 1$。和多分类时一样，梯度就是"预测概率减标签"；
# 再切回 "Cross-entropy (3 classes)"：两条曲线形状完全相同，只是三分类的那条向右平移了 $\ln 2 \approx 0.69$。因为另外两个 logit 都是 0，三分类的损失是 $\log(1 + 2e^{-z}) = \log(1 + e^{-(z - \ln 2)})$，正是二元交叉熵在 $z - \ln 2$ 处的值（二元交叉熵就是两个类别的交叉熵，这里只是多了一个同样是 0 的对手）。

# %% [markdown]
# **验证**：公式与 `F.binary_cross_entropy` 一致；`BCEWithLogitsLoss(z)` 等于 `BCELoss(sigmoid(z))`（数值正常时）；对 logit 的梯度是 $\sigma(z) - y$；$p = 0$、$y = 1$ 时 `BCELoss` 给出截断值 100，而 `BCEWithLogitsLoss` 在 $z = -200$ 时给出真实的 200；三分类交叉熵曲线是二元交叉熵曲线右移 $\ln 2$。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
z = torch.randn(8, requires_grad=True)
y8 = torch.tensor([0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0])
with_logits = F.binary_cross_entropy_with_logits(z, y8)
via_sigmoid = F.binary_cross_entropy(torch.sigmoid(z), y8)
assert torch.allclose(losses.binary_cross_entropy_with_logits(z, y8), with_logits, atol=1e-6)
assert torch.allclose(losses.binary_cross_entropy(torch.sigmoid(z), y8), via_sigmoid, atol=1e-6)
assert torch.allclose(with_logits, via_sigmoid, atol=1e-6)
assert torch.allclose(losses.binary_cross_entropy(p, y), F.binary_cross_entropy(p, y), atol=1e-6)
print(f"BCEWithLogits(z) = {with_logits:.6f}，BCE(sigmoid(z)) = {via_sigmoid:.6f}")

# %%
# NBVAL_CHECK_OUTPUT
(g,) = torch.autograd.grad(with_logits * 8, z)      # 乘 8：对总和求梯度，每个样本一个值
assert torch.allclose(g, torch.sigmoid(z) - y8, atol=1e-6)
clamped = F.binary_cross_entropy(torch.tensor([0.0]), torch.tensor([1.0])).item()
assert clamped == 100.0
print(f"|d loss/d z - (sigmoid(z) - y)| 的最大值 = {(g - (torch.sigmoid(z) - y8)).abs().max().item():.6f}")
print(f"BCE(p=0, y=1) = {clamped}")
assert torch.sigmoid(z_far).item() == 0.0 and abs(nn.BCEWithLogitsLoss()(z_far, y_one).item() - 200) < 1e-4
grid = torch.linspace(-4, 4, 401, dtype=torch.float64)                 # 面板的横轴
three_class = F.cross_entropy(torch.stack([grid, 0 * grid, 0 * grid], 1), torch.zeros(401, dtype=torch.long), reduction="none")
shifted_bce = F.binary_cross_entropy_with_logits(grid - math.log(2), torch.ones(401, dtype=torch.float64), reduction="none")
print(f"|CE_3(z) - BCE(z - ln 2)| 的最大值 = {(three_class - shifted_bce).abs().max().item():.1e}")
assert torch.allclose(three_class, shifted_bce, atol=1e-12)

# %% [markdown]
# ## 3. MAE 损失 / L1 损失（平均绝对误差，mean absolute error）
#
# 回归问题直接比较实数预测 $\hat y_n$ 和真实值 $y_n$（$N$ 个样本，下标 $n$，与前两节相同）。MAE 取误差绝对值的平均：
#
# $$\mathcal{L} = \frac{1}{N}\sum_{n=1}^{N}\left|\,y_n - \hat y_n\,\right|$$
#
# 它的含义很直观："平均偏了多少"，单位和 $y$ 相同。

# %%
show(figures.make_figure("MAE_LOSS.png"))

# %%
# NBVAL_CHECK_OUTPUT
y_hat = torch.tensor([2.5, 0.0, 2.0, 8.0])
y_true = torch.tensor([3.0, -0.5, 2.0, 7.0])
print(f"losses.mae = {losses.mae(y_hat, y_true):.4f},  nn.L1Loss() = {nn.L1Loss()(y_hat, y_true):.4f}")

# %% [markdown]
# - **优点**：对离群点（outlier） 稳健——一个误差很大的点只按它的距离线性计分，不会被放大；含义直观；数值上不会爆炸。
# - **缺点**：在误差为 0 处不可导；更要命的是它的**梯度大小恒定**：每个样本的 $\partial|e|/\partial\hat y$ 只能是 $-1$ 或 $+1$，只带方向、不带"离目标还有多远"的信息。
#
# 拿单个样本、单个参数 $\omega$ 的模型 $\hat y = \omega x$ 来看：
#
# $$\mathcal{L} = |\omega x - y|,\qquad \frac{\partial \mathcal{L}}{\partial \omega} = \mathrm{sign}(\omega x - y)\cdot x = \begin{cases} -x, & \omega x < y \\ +x, & \omega x > y \end{cases}$$
#
# 无论误差是 100 还是 0.001，每一步都移动 $\eta\,|x|$。走到最优点附近时，步子太大跨过去，梯度反号又跨回来——**来回震荡**，不会自己停下。
#
# > **⚠ 笔记勘误（轻微）** 笔记说"每次梯度大小都与 $x$ 相等"。$x$ 可以是负数，准确说法是梯度的**大小**为 $|x|$，**符号**为 $\mathrm{sign}(\omega x - y)\cdot\mathrm{sign}(x)$。另外恰好 $\omega x = y$ 时 PyTorch 取梯度 0。

# %%
# NBVAL_CHECK_OUTPUT
errors = torch.tensor([-10.0, -2.0, -0.5, -0.01, 0.0, 0.01, 0.5, 2.0, 10.0], dtype=torch.float64)
e = errors.clone().requires_grad_()
F.l1_loss(e, torch.zeros_like(e), reduction="sum").backward()
print("error       :", errors.tolist())
print("d|e| / de   :", e.grad.tolist())
w = torch.tensor(1.0, requires_grad=True)
(w * -2.0 - 3.0).abs().backward()                 # x = -2、y = 3：这里梯度是 +2，而不是 x = -2
print(f"x = -2：dL/dw = {w.grad.item():+.1f}（大小 |x| = 2，符号 sign(w x - y)·sign(x) = +1）")

# %% [markdown]
# 下面把"来回震荡"做成实验：从 $w=0$ 出发，用学习率 0.1 的梯度下降分别最小化 $|2w-3|$ 和 $(2w-3)^2$，最优点都是 $w^* = 1.5$。
# `helpers.losses.gd_1d` 把更新 $w \leftarrow w - \eta\,\partial\ell/\partial w$ 直接写了出来，三种损失的梯度各占一行（`x`、`y` 默认就是 2 和 3）；后面的面板用的也是它：

# %%
show_source(losses.gd_1d)

# %%
# NBVAL_CHECK_OUTPUT
mae_path = losses.gd_1d("mae", lr=0.1, steps=12)      # w_0, w_1, ..., w_12
mse_path = losses.gd_1d("mse", lr=0.1, steps=12)
print("MAE |2w-3|  :", np.round(mae_path, 4).tolist())
print("MSE (2w-3)^2:", np.round(mse_path, 4).tolist())

# %% [markdown]
# MAE 每步固定走 $0.1 \times 2 = 0.2$，走到 1.4 之后就在 1.4 和 1.6 之间永远跳；MSE 的梯度 $4(2w-3)$ 随误差变小，步子自动变小，平滑地收敛到 1.5。
#
# 在面板里拖动学习率（对数刻度）和起点，同时看 MAE、MSE 和 Huber（$\delta = 1$，第 5 节介绍）：
#
# - 学习率小时 MAE 只是慢；学习率大时它的震荡幅度（$2\eta$）也大；
# - MSE 的学习率超过某个临界值就会发散——临界值是多少？留作练习 3。
# - 勾选 "decay" 让学习率按 $\eta/\sqrt{t+1}$ 衰减，MAE 的震荡随之变小——这就是用 MAE 训练时常配学习率衰减的原因。代价是离得远时走得慢：$\eta = 0.1$、从 $w_0 = -3$ 出发，衰减的步长加起来不够，40 步后离 1.5 还有 2 以上。

# %%
gd_1d_panel()

# %% [markdown]
# **验证**：MAE 在 1.4 / 1.6 之间来回跳而不到达 1.5；MSE 收敛到 1.5；`gd_1d` 手写的更新与 `torch.optim.SGD` 用 autograd 走出的轨迹相同；在面板的学习率范围里，MAE 固定学习率时每步都走 $2\eta$，衰减时最后几步小得多；衰减的例外情形（$\eta = 0.1$、$w_0 = -3$）确实没走到。

# %%
# NBVAL_CHECK_OUTPUT
assert np.allclose(mae_path[7:], [1.4, 1.6] * 3) and abs(mse_path[-1] - 1.5) < 1e-3
print(f"12 步后 MAE 在 {mae_path[-2]:.1f} 和 {mae_path[-1]:.1f} 之间来回跳（到不了 1.5）；MSE 到达 {mse_path[-1]:.4f}")
for name, loss_of_error in [("mae", torch.abs), ("mse", torch.square)]:
    w = torch.zeros(1, requires_grad=True)
    opt, sgd_path = torch.optim.SGD([w], lr=0.1), [0.0]
    for _ in range(12):
        opt.zero_grad()
        loss_of_error(2 * w - 3).sum().backward()
        opt.step()
        sgd_path.append(w.item())
    same = np.allclose(losses.gd_1d(name, lr=0.1, steps=12), sgd_path, atol=1e-6)
    print(f"{name}: gd_1d 与 torch.optim.SGD 的 13 个 w 逐个相差 < 1e-6：{same}")
    assert same

# %%
# NBVAL_CHECK_OUTPUT
for lr in (0.01, 0.1, 1.0):                                          # 面板学习率的两端和默认值
    fixed_steps = np.abs(np.diff(losses.gd_1d("mae", lr, 40)))
    decayed_last = np.abs(np.diff(losses.gd_1d("mae", lr, 40, decay=True)))[-5:]
    print(f"lr = {lr}: 固定学习率每步走 {fixed_steps.min():.3f} 到 {fixed_steps.max():.3f}（2·lr = {2 * lr}），衰减时最后 5 步最多 {decayed_last.max():.4f}")
    assert np.allclose(fixed_steps, 2 * lr) and decayed_last.max() < 0.2 * 2 * lr
far = abs(2 * losses.gd_1d("mae", 0.1, 40, w0=-3.0, decay=True)[-1] - 3)
print(f"衰减、lr = 0.1、w0 = -3：40 步后 |2w - 3| = {far:.2f}（w 离 1.5 还有 {far / 2:.2f}）")
assert far / 2 > 2

# %% [markdown]
# ## 4. MSE 损失 / L2 损失（均方误差，mean squared error）
#
# $$\mathcal{L} = \frac{1}{N}\sum_{n=1}^{N}\big(y_n - \hat y_n\big)^2$$
#
# 每个样本的梯度是 $\partial (\hat y_n - y_n)^2/\partial \hat y_n = 2(\hat y_n - y_n)$：**误差越大，推力越大**。这既是优点也是缺点。

# %%
show(figures.make_figure("MSE_LOSS.png"))

# %%
# NBVAL_CHECK_OUTPUT
print(f"losses.mse = {losses.mse(y_hat, y_true):.4f},  nn.MSELoss() = {nn.MSELoss()(y_hat, y_true):.4f}")
print("逐样本梯度 2(y_hat - y)：", losses.mse_grad(y_hat, y_true).tolist())

# %% [markdown]
# - **优点**：处处光滑可导，梯度随误差减小而减小，梯度下降能自然收敛；大误差被重罚；若噪声服从正态分布，最小化 MSE 就是极大似然估计（maximum likelihood estimation）；对线性模型有闭式解（最小二乘，OLS）。
# - **缺点**：对离群点敏感——误差 10 的点贡献 100，抵得上 100 个误差为 1 的点，拟合会被少数坏点拖走（第 6 节的面板）；单位是 $y$ 的平方，不如 MAE 好解释。
#
# > **⚠ 笔记勘误（轻微）**
# >
# > **笔记的写法**：MSE "不迭代也可 OLS 解"。
# >
# > **正确的说法**：这只对**关于参数是线性的**模型成立，即 $\hat y = X\theta$（特征 $X$ 可以是 $x, x^2, \dots$ 这样的非线性特征）。
# > 这时令梯度为 0 得到线性方程组 $X^\top X\,\theta = X^\top y$（正规方程，normal equations），一步解出。
# > 神经网络、$\hat y = e^{wx}$ 这类关于参数非线性的模型，梯度为 0 的方程不再是线性的，没有这样的闭式解，只能迭代。
# >
# > 证据见下一格。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
x = torch.linspace(-2, 2, 40)
y_quad = 1.0 - 2.0 * x + 0.5 * x**2 + 0.1 * torch.randn(40)
X = torch.stack([torch.ones_like(x), x, x**2], dim=1)     # 对参数 θ 线性：y_hat = X @ θ
theta_ols = torch.linalg.solve(X.T @ X, X.T @ y_quad)      # 正规方程：一步到位
theta = torch.zeros(3, requires_grad=True)                  # 对照：梯度下降
opt = torch.optim.SGD([theta], lr=0.05)
for _ in range(500):
    opt.zero_grad()
    F.mse_loss(X @ theta, y_quad).backward()
    opt.step()
print("正规方程：", [round(v, 3) for v in theta_ols.tolist()])
print("梯度下降：", [round(v, 3) for v in theta.tolist()])
assert torch.allclose(theta_ols, theta.detach(), atol=1e-3)

# %% [markdown]
# ## 5. Huber 损失（Huber loss）与 Smooth L1
#
# Huber 损失想同时拿到两边的好处：误差小时像 MSE（光滑、梯度随误差变小），误差大时像 MAE（线性增长、梯度有上限）。记误差 $e = \hat y - y$，阈值 $\delta > 0$：
#
# $$\ell_\delta(e) = \begin{cases} \frac{1}{2}e^2, & |e| \le \delta \\ \delta\,|e| - \frac{1}{2}\delta^2, & |e| > \delta \end{cases}\qquad \mathcal{L} = \frac{1}{N}\sum_{n=1}^{N}\ell_\delta(e_n)$$
#
# 注意小误差段是 $\frac12 e^2$，是平方误差的一半，所以"误差小时就是 MSE"要打个折扣：形状相同，梯度是 $e$ 而不是 $2e$。
#
# **第二段怎么来的**：希望大误差时损失随 $|e|$ 线性增长，设为 $a|e| + b$。两段在分界点 $|e| = \delta$ 处要接得上：
#
# 1. 函数值连续：$\frac12\delta^2 = a\delta + b$；
# 2. 一阶导数连续：左边导数 $\delta$，右边导数 $a$，所以 $a = \delta$；
# 3. 代回第 1 式：$b = \frac12\delta^2 - \delta^2 = -\frac12\delta^2$。
#
# > **⚠ 笔记勘误（轻微）**
# >
# > **笔记的写法**："因此 $\frac12(y-y_i)^2 = a|y-y_i| + b$"，像是两段处处相等；也没有写出 $b$ 的值。
# >
# > **正确的说法**：只在分界点 $|e| = \delta$ 处要求相等（否则两段就是同一个函数了），并由此得到 $b = -\frac12\delta^2$。此外"梯度大小被限制为 $\delta x$"应为 $\delta|x|$；公式里 $y_i$ 表示预测值，本章统一写作 $\hat y$。
# >
# > 证据见本节后面检查连续性与梯度截断的代码格。

# %%
show(figures.make_figure("Huber_LOSS.png"))

# %% [markdown]
# 图中 $\delta = 1$：两条竖虚线是 $\pm\delta$，点线是 $\frac12 e^2$。在 $|e| \le \delta$ 内两者重合，出了这个范围 Huber 沿切线方向变成直线。
#
# 由链式法则，对单参数模型 $\hat y = \omega x$ 的梯度是
#
# $$\frac{\partial \ell}{\partial \omega} = \frac{\partial \ell}{\partial \hat y}\cdot\frac{\partial \hat y}{\partial \omega} = \begin{cases}(\hat y - y)\,x, & |\hat y - y| \le \delta \\ \delta\,\mathrm{sign}(\hat y - y)\,x, & |\hat y - y| > \delta\end{cases}$$
#
# 也就是把误差**截断**到 $[-\delta, \delta]$ 再乘以 $x$：离群点的推力最多是 $\delta|x|$，不会像 MSE 那样随误差无限增大。下面的单元格检查连续性和梯度截断。

# %%
# NBVAL_CHECK_OUTPUT
for d in (0.5, 1.0, 2.0):
    e = torch.tensor([d - 1e-6, d + 1e-6], dtype=torch.float64, requires_grad=True)   # 紧挨分界点的两侧
    values = F.huber_loss(e, torch.zeros_like(e), reduction="none", delta=d)
    (slopes,) = torch.autograd.grad(values.sum(), e)
    b = values[1].item() - d * e[1].item()          # 右段是 δ|e| + b：在 e = δ⁺ 处反解出 b
    print(f"delta = {d}：分界点两侧的损失 {values[0]:.4f}/{values[1]:.4f}，"
          f"斜率 {slopes[0]:.4f}/{slopes[1]:.4f}，b = {b:.4f}")
    assert abs(values[0] - values[1]) < 1e-5 and abs(slopes[0] - slopes[1]) < 1e-5 and abs(b + d**2 / 2) < 1e-9
e = errors.clone().requires_grad_()
F.huber_loss(e, torch.zeros_like(e), reduction="sum", delta=1.0).backward()
print("Huber(delta=1) 的梯度：", e.grad.tolist())

# %% [markdown]
# **凸，但只能求一次导。** 把 Huber 对误差 $e$ 求两次导：
#
# $$\ell_\delta'(e) = \mathrm{clip}(e, -\delta, \delta), \qquad \ell_\delta''(e) = \begin{cases} 1, & |e| < \delta \\ 0, & |e| > \delta \end{cases}$$
#
# - 二阶导数处处 $\ge 0$，所以 Huber 是**凸函数**（convex）：任意两点之间的弦都在函数图像的上方，任何局部极小都是全局极小。对线性模型 $\hat y = \omega x$ 的参数，平均 Huber 损失同样是凸的（凸函数与线性函数复合仍是凸的）；换成神经网络就不再成立了。
# - 一阶导数 $\mathrm{clip}(e)$ 是连续的（上一格已经验证），所以 Huber **一阶可导**；但二阶导数在 $e = \pm\delta$ 处从 1 直接跳到 0，那里二阶导不存在，所以它不是二阶光滑的。MSE 的二阶导恒为 2，MAE 在 0 处连一阶导都没有，Huber 夹在两者之间。
#
# 下一格用 autograd 求二阶导，看它在 $\pm\delta$ 两侧的跳变；再在一万对随机点上检查凸性不等式 $\ell(ta + (1-t)b) \le t\,\ell(a) + (1-t)\,\ell(b)$。

# %%
# NBVAL_CHECK_OUTPUT
d = 1.0
e = torch.tensor([-3.0, -d - 1e-3, -d + 1e-3, 0.0, d - 1e-3, d + 1e-3, 3.0], dtype=torch.float64, requires_grad=True)
(g,) = torch.autograd.grad(F.huber_loss(e, torch.zeros_like(e), reduction="sum", delta=d), e, create_graph=True)
(g2,) = torch.autograd.grad(g.sum(), e)
print("e     :", [round(v, 3) for v in e.tolist()])
print("l'(e) :", [round(v, 3) for v in g.tolist()])
print("l''(e):", g2.tolist())
assert torch.allclose(g, e.detach().clamp(-d, d)) and g2.tolist() == [0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0]

# %%
# NBVAL_CHECK_OUTPUT
gen = torch.Generator().manual_seed(0)
a, b = 4 * torch.randn(2, 10_000, dtype=torch.float64, generator=gen)
t = torch.rand(10_000, dtype=torch.float64, generator=gen)
huber_of = lambda v: losses.huber(v, torch.zeros_like(v), 1.0, reduction="none")
gap = t * huber_of(a) + (1 - t) * huber_of(b) - huber_of(t * a + (1 - t) * b)   # 弦减函数值
print(f"10000 对随机点：弦减函数值全都 ≥ 0（只差舍入误差）：{bool(gap.min() >= -1e-12)}，最大的一个 = {gap.max().item():.3f}")
assert gap.min() >= -1e-12

# %% [markdown]
# 面板里拖动 $\delta$：虚线是分界点 $\pm\delta$，右边的导数在 $\pm\delta$ 处被削平。$\delta$ 越大，二次段越宽：拉到最大的 3 时，面板横轴 $[-4, 4]$ 的四分之三都与 $\frac12 e^2$ 重合（$\delta$ 再大就越来越接近 $\frac12$MSE）。$\delta$ 越小，线性段越宽：拉到最小的 0.1 时几乎处处是直线，和 $\delta\cdot$MAE 处处相差不超过 $\delta^2/2 = 0.005$。

# %%
loss_panel()

# %% [markdown]
# **验证**（面板 $\delta$ 的两端）：上面两句话里的"四分之三"和"不超过 0.005"。

# %%
# NBVAL_CHECK_OUTPUT
e = torch.linspace(-4, 4, 401, dtype=torch.float64)                # 面板的横轴
wide = F.huber_loss(e, torch.zeros_like(e), reduction="none", delta=3.0)
narrow = F.huber_loss(e, torch.zeros_like(e), reduction="none", delta=0.1)
quadratic_share = torch.isclose(wide, 0.5 * e**2).double().mean().item()
gap = (narrow - 0.1 * e.abs()).abs().max().item()
print(f"delta = 3：与 e^2/2 重合的比例 {quadratic_share:.3f}；delta = 0.1：与 0.1|e| 的最大差 {gap:.4f}")
assert abs(quadratic_share - 0.75) < 0.01 and gap <= 0.1**2 / 2 + 1e-12

# %% [markdown]
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：小标题是 "Huber Loss / Smooth L1"，把两者当成同一个东西。
# >
# > **正确的说法**：在 PyTorch 里它们**只在 $\delta = \beta = 1$ 时相同**。`nn.SmoothL1Loss(beta)` 的定义是
# >
# > $$\text{SmoothL1}_\beta(e) = \begin{cases}\frac{e^2}{2\beta}, & |e| < \beta \\ |e| - \frac{\beta}{2}, & |e| \ge \beta\end{cases}$$
# >
# > 对比上面的 Huber 可得 $\text{Huber}_\delta(e) = \delta\cdot\text{SmoothL1}_{\beta=\delta}(e)$。笔记的公式是 `nn.HuberLoss(delta=δ)`。
# > 这个倍数不只是数值不同：SmoothL1 在线性段的梯度恒为 $\pm1$，Huber 是 $\pm\delta$，换用另一个时相当于把学习率乘或除以 $\delta$。
# >
# > 证据见下一格。

# %%
# NBVAL_CHECK_OUTPUT
e = torch.tensor([-4.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0])
zero = torch.zeros_like(e)
for d in (1.0, 2.0):
    h = F.huber_loss(e, zero, reduction="none", delta=d)
    s = F.smooth_l1_loss(e, zero, reduction="none", beta=d)
    print(f"delta = beta = {d}:  Huber    = {h.tolist()}")
    print(f"{'':20s}SmoothL1 = {s.tolist()}")
    print(f"{'':20s}Huber == SmoothL1：{torch.allclose(h, s)}；Huber == beta * SmoothL1：{torch.allclose(h, d * s)}")

# %% [markdown]
# **验证**：`helpers.losses.huber`（代码见下）与笔记公式一致、等于 `nn.HuberLoss(delta)`（$\delta = 0.5, 1, 2$）；梯度等于截断误差 $\mathrm{clip}(e, -\delta, \delta)$，`losses.huber_grad` 也一样；$\text{Huber}_\delta = \delta\cdot\text{SmoothL1}_{\beta=\delta}$；$b = -\frac12\delta^2$ 让两段在 $\pm\delta$ 处值和斜率都连续（见本节前面的代码格）。

# %%
show_source(losses.huber)

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
pred, obs = (3 * torch.randn(100)).requires_grad_(), 3 * torch.randn(100)
for d in (0.5, 1.0, 2.0):
    err = (pred - obs).abs()
    notes_formula = torch.where(err <= d, 0.5 * err**2, d * err - 0.5 * d**2).mean()
    torch_huber = nn.HuberLoss(delta=d)(pred, obs)
    (g,) = torch.autograd.grad(torch_huber * 100, pred)          # 乘 100：对总和求梯度
    gaps = {"helpers.huber − HuberLoss": losses.huber(pred, obs, d) - torch_huber,
            "笔记公式 − HuberLoss": notes_formula - torch_huber, "梯度 − clip(e)": g - torch.clamp(pred - obs, -d, d),
            "HuberLoss − δ·SmoothL1": torch_huber - d * nn.SmoothL1Loss(beta=d)(pred, obs),
            "huber_grad − 梯度": losses.huber_grad(pred.detach(), obs, d) - g}
    print(f"δ = {d}：" + "，".join(f"|{k}| = {v.abs().max().item():.6f}" for k, v in gaps.items()))
    assert all(v.abs().max().item() < 1e-5 for v in gaps.values())

# %% [markdown]
# ## 6. 同一份数据，三种损失：离群点的影响
#
# `helpers.data.line_with_outliers()` 在直线 $y = 2x + 1$ 附近取 50 个带噪声的点，再把其中 5 个点向上挪 10，当作离群点。
# 我们用同一个 `nn.Linear(1, 1)`、同一个优化器，分别以 `nn.L1Loss`、`nn.MSELoss`、`nn.HuberLoss` 训练，通过课程统一的 `helpers.training.fit` 完成。
# 右边一列是每种损失真正的最优解（`helpers.losses.fit_line`：MSE 用闭式解，MAE/Huber 用**迭代重加权最小二乘**（iteratively reweighted least squares, IRLS）），用来检查训练是否到位。

# %%
# NBVAL_CHECK_OUTPUT
x_pts, y_pts = data.line_with_outliers()                  # (50, 1) 的 x 和 y
results = {}
for name, loss_fn, key in [("L1Loss", nn.L1Loss(), "mae"), ("MSELoss", nn.MSELoss(), "mse"),
                           ("HuberLoss", nn.HuberLoss(delta=1.0), "huber")]:
    torch.manual_seed(0)
    model = nn.Linear(1, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.97)
    training.fit(model, (x_pts, y_pts), loss_fn, opt, epochs=200, scheduler=sched, progress=False)
    results[name] = (model.weight.item(), model.bias.item(), losses.fit_line(x_pts, y_pts, key))
print(f"{'真实直线':6s} 斜率 2.000  截距 1.000")
for name, (slope, bias, (a_opt, b_opt)) in results.items():
    print(f"{name:10s} 斜率 {slope:.3f}  截距 {bias:.3f}   （最优解：{a_opt:.3f}, {b_opt:.3f}）")

# %% [markdown]
# MSE 的截距被 5 个离群点抬高了约 1（$5 \times 10 / 50 = 1$，正是它们把 $y$ 的均值抬高的量；$x$ 关于 0 对称，所以截距就是 $y$ 的均值），斜率也偏了 0.15；MAE 和 Huber 基本没被带偏。
# 截距的偏移总是约 1，斜率偏多少、往哪边偏却要看离群点碰巧落在哪些 $x$ 上：换 5 份随机数据（`line_with_outliers(seed=0..4)`），MSE 的截距偏 0.92 到 1.12，斜率在 $-0.17$ 到 $+0.34$ 之间；MAE 和 Huber 的斜率、截距偏差都在 0.26 以内。
#
# 在面板里改变离群点的数量和大小，以及 Huber 的 $\delta$（红点是离群点，左上角是三条拟合直线的方程）：
#
# - 离群点越多、越远，MSE 的直线被拖得越厉害（截距的偏移约为 数量 × 大小 / 50）；
# - MAE 与 Huber 的直线几乎不动，离群点再远也一样（大小超过 5 以后，它们的拟合几乎不再变化，斜率和截距的差别不到 0.01）；直到离群点多到占了相当比例才被拖走：10 个（占 20%）时截距只偏 0.13 / 0.24，20 个（占 40%）时偏 0.9 / 1.1；
# - $\delta$ 调大，Huber 越来越像 MSE，也越来越容易被拖走（5 个离群点时，$\delta = 5$ 的截距偏 0.58，MSE 偏 1.02）；调小则接近 MAE。

# %%
robust_regression_panel()

# %% [markdown]
# **验证**：三次训练都到达了各自损失的最优解附近；MSE 的截距偏离真实值约 1，而 MAE 和 Huber 的斜率、截距都在真实值 0.15 以内；5 份随机数据上的范围；面板各控件两端的情形（用最优解 `fit_line` 检查，和面板画的是同一条线）。

# %%
# NBVAL_CHECK_OUTPUT
for name, (slope, bias, (a_opt, b_opt)) in results.items():
    assert abs(slope - a_opt) < 0.02 and abs(bias - b_opt) < 0.02, name
mse_bias = results["MSELoss"][1]
assert abs(mse_bias - 1.0) > 0.8
for name in ("L1Loss", "HuberLoss"):
    slope, bias, _ = results[name]
    assert abs(slope - 2.0) < 0.15 and abs(bias - 1.0) < 0.15, name
print(f"MSE 截距偏离 {mse_bias - 1:.2f}；L1 / Huber 截距偏离 "
      f"{results['L1Loss'][1] - 1:.2f} / {results['HuberLoss'][1] - 1:.2f}；MSE 斜率偏离 {results['MSELoss'][0] - 2:.2f}")
assert abs(results["MSELoss"][0] - 2.15) < 0.02

# %%
# NBVAL_CHECK_OUTPUT
def shifts(loss, n=5, size=10.0, delta=1.0, seed=0):
    """最优直线的（斜率 - 2，截距 - 1）。"""
    x, y = data.line_with_outliers(n_outliers=n, outlier_size=size, seed=seed)
    slope, intercept = losses.fit_line(x, y, loss, delta)
    return slope - 2, intercept - 1


seeds = {loss: [shifts(loss, seed=s) for s in range(5)] for loss in ("mse", "mae", "huber")}
print("5 份数据：MSE 截距偏 " + ", ".join(f"{b:.2f}" for _, b in seeds["mse"]) + "；斜率偏 " + ", ".join(f"{a:+.2f}" for a, _ in seeds["mse"]))
assert all(0.85 < b < 1.15 for _, b in seeds["mse"]) and min(a for a, _ in seeds["mse"]) < 0 < max(a for a, _ in seeds["mse"])
assert all(abs(v) < 0.26 for loss in ("mae", "huber") for pair in seeds[loss] for v in pair)

# %%
# NBVAL_CHECK_OUTPUT
for n in (0, 5, 10, 15, 20):                                          # 面板：离群点 0..20 个，大小 0.5..20
    mse_b = [shifts("mse", n, size)[1] for size in (0.5, 5.0, 10.0, 20.0)]
    assert all(abs(b - n * size / 50) < 0.1 for b, size in zip(mse_b, (0.5, 5.0, 10.0, 20.0)))
    for loss in ("mae", "huber"):
        far = [shifts(loss, n, size) for size in (5.0, 10.0, 20.0)]
        assert np.allclose(far, far[0], atol=0.01), (loss, n)          # 大小超过 5 以后几乎不再变化
        if n <= 10:
            assert abs(far[0][1]) < 0.3, (loss, n)
print("0 到 20 个离群点、大小 0.5 到 20：MSE 截距偏移 ≈ 数量 × 大小 / 50；MAE / Huber 在大小 5、10、20 时几乎相同")

# %%
# NBVAL_CHECK_OUTPUT
crowded = {n: [shifts(loss, n)[1] for loss in ("mae", "huber")] for n in (10, 20)}
print("MAE / Huber 截距偏：" + "；".join(f"{n} 个离群点 {m:.2f} / {h:.2f}" for n, (m, h) in crowded.items()))
assert np.allclose(crowded[10], [0.13, 0.24], atol=0.01) and np.allclose(crowded[20], [0.88, 1.06], atol=0.03)
huber_b = [shifts("huber", delta=d)[1] for d in (0.2, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0)]   # 面板：delta 0.2..5
print("delta 从 0.2 到 5，Huber 截距偏 " + ", ".join(f"{b:.2f}" for b in huber_b))
assert all(a < b for a, b in zip(huber_b, huber_b[1:])) and abs(huber_b[-1] - 0.58) < 0.01 and huber_b[-1] < shifts("mse")[1]

# %% [markdown]
# ## 小结
#
# - **交叉熵**只看模型给真实类别的概率：$\mathcal{L} = -\frac1N\sum_n \log p_{n,y_n}$。默认 `reduction='mean'` 带 $\frac1N$；对 logits 的梯度是"概率减 one-hot"。
# - `nn.CrossEntropyLoss` / `nn.BCEWithLogitsLoss` 接收 **logits**，内部自带（log-)softmax / sigmoid，数值稳定；先手动 softmax 会得到错误的损失。`nn.BCELoss` 接收概率，log 截断在 $-100$。
# - **MAE** 稳健、直观，但梯度大小恒定，固定学习率下会在最优点附近来回跳，常配学习率衰减。
# - **MSE** 光滑、梯度与误差成正比，收敛自然；代价是对离群点敏感。闭式解只适用于对参数线性的模型。
# - **Huber** 在 $|e| \le \delta$ 时是 $\frac12e^2$，之外是 $\delta|e| - \frac12\delta^2$（$b = -\frac12\delta^2$ 由值和斜率连续推出），梯度被截断在 $\pm\delta$。
# - `HuberLoss(delta=d) = d · SmoothL1Loss(beta=d)`，二者只在 $d = 1$ 时相同。Huber 是凸函数、一阶可导，二阶导在 $\pm\delta$ 处从 1 跳到 0。
# - 常用参数：`reduction`（none / sum / mean）；`CrossEntropyLoss` 的 `weight`（加权平均，除以权重之和）、`ignore_index`（被忽略的样本不进分母）、`label_smoothing`（目标变成 $(1-\varepsilon)$ 独热 $+\ \varepsilon/C$）；`BCEWithLogitsLoss` 的 `pos_weight`（只放大正样本项，仍除以 $N$）。
#
# ## 面试速答
#
# **问：分类为什么用交叉熵而不用 MSE？**
# 答：交叉熵是类别分布下的负对数似然；配合 softmax/sigmoid，对 logits 的梯度就是 $p - y$，预测错得越多推力越大。若用 MSE 接 sigmoid，梯度里多乘一个 $\sigma'(z)$，模型错得很自信时 $\sigma'$ 接近 0，反而学不动。
#
# **问：`nn.CrossEntropyLoss` 的输入要先过 softmax 吗？**
# 答：不要。它接收原始 logits 和类别下标，内部做 log-softmax + NLL。先 softmax 相当于做两遍，损失值错、梯度被压扁。
#
# **问：MAE 和 MSE 各适合什么场景？**
# 答：MSE 估计的是条件均值，光滑易优化，适合噪声近似正态、没有严重离群点的数据；MAE 估计条件中位数，对离群点稳健，但梯度恒定，优化慢且需要学习率衰减。
#
# **问：Huber 的 $\delta$ 怎么理解、怎么选？**
# 答：$\delta$ 是"多大的误差还算正常噪声"的分界：以内按平方罚、以外按线性罚，单个样本的梯度最多为 $\delta$。一般取与正常残差同一量级的值，再按验证集调。
#
# **问：类别不平衡时，损失函数能做什么？**
# 答：多分类给 `CrossEntropyLoss` 传 `weight`，让少数类的样本在加权平均里占更大比重；二分类或多标签给 `BCEWithLogitsLoss` 传 `pos_weight`，常取负样本数 / 正样本数。两者都只改变损失的权重，不改变数据本身。
#
# **问：`HuberLoss` 和 `SmoothL1Loss` 有什么区别？**
# 答：`HuberLoss(delta=d)` 等于 `d * SmoothL1Loss(beta=d)`。$d=1$ 时完全相同；否则 SmoothL1 线性段的梯度恒为 $\pm1$，Huber 为 $\pm d$。

# %% [markdown]
# ## 练习
#
# **练习 1**：不用 `F.cross_entropy`，只用 `torch.exp`、`torch.log`、求和与下标，算出下面 4 个样本的平均交叉熵，把结果（一个数）赋给 `answer`。

# %%
ex_logits = torch.tensor([[0.5, 1.5, -1.0], [2.0, 0.0, 0.5], [-0.5, 1.0, 1.5], [1.0, 0.5, 0.0]])
ex_target = torch.tensor([1, 0, 2, 2])
answer = None  # 在这里写你的答案
exercises.check_cross_entropy_by_hand(answer)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# ```python
# p = torch.exp(ex_logits) / torch.exp(ex_logits).sum(dim=1, keepdim=True)   # softmax
# answer = -torch.log(p[torch.arange(4), ex_target]).mean().item()          # 约 0.7283
# exercises.check_cross_entropy_by_hand(answer)
# ```
#
# </details>
#
# **练习 2（伪 Huber 损失）**：第 5 节的 Huber 损失由两段拼成，在 $|e| = \delta$ 处一阶导数连续，二阶导数却从 1 跳到 0。常用的光滑替代是伪 Huber 损失（pseudo-Huber loss）：
#
# $$L_\delta(e) = \delta^2\left(\sqrt{1 + (e/\delta)^2} - 1\right),\qquad e = \hat y - y$$
#
# 写一个 `my_pseudo_huber(y_hat, y, delta)`，返回所有元素的平均损失（一个标量张量）。检查器在 $\delta = 0.5, 1, 3$ 时比较数值，并用 autograd 比较梯度，所以要全程用 torch 的运算。写完想一想：$|e|$ 远小于和远大于 $\delta$ 时，它分别像哪种损失？

# %%
my_pseudo_huber = None  # 在这里写你的函数：def my_pseudo_huber(y_hat, y, delta): ...
exercises.check_pseudo_huber(my_pseudo_huber)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# ```python
# def my_pseudo_huber(y_hat, y, delta):
#     e = y_hat - y
#     return (delta**2 * (torch.sqrt(1 + (e / delta) ** 2) - 1)).mean()
#
# exercises.check_pseudo_huber(my_pseudo_huber)
# ```
#
# 用 $\sqrt{1 + u} \approx 1 + u/2$（$u$ 很小）可得：$|e| \ll \delta$ 时 $L_\delta \approx \tfrac12 e^2$，像 MSE；$|e| \gg \delta$ 时 $L_\delta \approx \delta|e| - \delta^2$，斜率趋于 $\pm\delta$，像 MAE。它的梯度 $e/\sqrt{1 + (e/\delta)^2}$ 处处光滑，绝对值不超过 $\delta$。
#
# </details>
#
# **练习 3**：第 3 节用梯度下降最小化 $(2w-3)^2$。学习率 $\eta$ 最大可以取到多少（开区间的上界），梯度下降仍然收敛？把这个数赋给 `answer`，并在 `gd_1d_panel` 里验证。

# %%
answer = None  # 在这里写你的答案
exercises.check_mse_critical_lr(answer)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# 记误差 $e = 2w - 3$。梯度 $\partial\mathcal{L}/\partial w = 4(2w - 3) = 4e$，一步更新后 $e_{t+1} = 2(w_t - 4\eta e_t) - 3 = (1 - 8\eta)\,e_t$。
# 收敛要求 $|1 - 8\eta| < 1$，即 $0 < \eta < 0.25$。$\eta = 0.25$ 时误差在 $\pm e_0$ 之间来回跳，更大则发散。
#
# ```python
# answer = 0.25
# exercises.check_mse_critical_lr(answer)
# ```
#
# </details>
#
# **练习 4**：写一个数值稳定的 `bce_with_logits(z, y)`，返回平均二元交叉熵（输入是 logits）。它必须在 $z = \pm 1000$ 时也给出有限且正确的值，梯度也要对（检查器和 `F.binary_cross_entropy_with_logits` 比较）。请用 `torch.exp`、`torch.log1p`、`abs`、`clamp` 这类基本运算自己推出稳定的写法：检查器会认出现成的稳定写法，包括 `F.binary_cross_entropy_with_logits`、`F.logsigmoid`、`F.softplus`、`torch.logaddexp`、`logsumexp`，以及课程自带的函数。

# %%
bce_with_logits = None  # 在这里写你的函数：def bce_with_logits(z, y): ...
exercises.check_stable_bce_with_logits(bce_with_logits)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# 由 $\log\sigma(z) = -\log(1 + e^{-z})$、$\log(1-\sigma(z)) = -z - \log(1 + e^{-z})$，整理得 $\ell = \max(z, 0) - zy + \log(1 + e^{-|z|})$，其中的指数永远不超过 $e^0$：
#
# ```python
# def bce_with_logits(z, y):
#     return (torch.clamp(z, min=0) - z * y + torch.log1p(torch.exp(-z.abs()))).mean()
#
# exercises.check_stable_bce_with_logits(bce_with_logits)
# ```
#
# </details>

# %% [markdown]
# ---
#
# [← 第3章 参数初始化](03_initialization.ipynb) · [第5章 梯度下降优化算法 →](05_optimizers.ipynb)
