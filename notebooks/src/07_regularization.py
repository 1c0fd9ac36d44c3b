# %% [markdown]
# # 第7章 正则化 (Regularization)
#
# **学习目标**
#
# - 亲眼看到**过拟合**（overfitting）：训练损失一路降到接近 0，验证损失却掉头向上
# - 写对 Dropout 的缩放：PyTorch 的 `p` 是**丢弃**概率，保留的单元乘以 $1/(1-p)$；分清 `model.train()` 与 `model.eval()`
# - 按正确的顺序和符号写出**批量标准化**（Batch Normalization）的流水线，知道训练用批统计量、推理用 running 统计量，`momentum` 是新批次的权重
# - 用权重衰减（weight decay）和早停（early stopping）两种最常用的手段，并能说清 L2 惩罚与优化器里 `weight_decay` 的关系
#
# **预计用时**：80–100 分钟
#
# **先修**：第2章 激活函数（ReLU）、第4章 损失函数（交叉熵）、第5章 优化器（SGD、Adam）

# %%
import inspect
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# %%
from helpers import regularization, show_source
from helpers.data import spirals
from helpers.exercises import regularization as exercises
from helpers.panels.regularization import (bn_stats_panel, decision_boundary_figure, dropout_mask_panel,
                                           overfitting_panel, subnetworks_figure)
from helpers.regularization import playground_data, playground_map, playground_run, playground_setting, train_playground
from helpers.plotting import show
from helpers.training import accuracy, fit, plot_histories

# %% [markdown]
# 正则化（regularization）是一类手段的总称：它们不改变"在训练集上把损失降低"这个目标本身，而是给模型加上约束或噪声，让它学到的东西在**没见过的数据**上也成立。
# 笔记讲了两种：Dropout 和批量标准化（BN 严格说主要是为了优化，正则化只是它的副作用）。本章再补上实践中几乎人人都用、笔记没有提到的两种：权重衰减和早停。
#
# 在动手之前，先把要对付的敌人看清楚。

# %% [markdown]
# ## 0. 过拟合长什么样
#
# 拿 40 个"同心圆"（circles）数据点训练一个 $2 \to 64 \to 64 \to 2$ 的全连接网络：内圈是类别 0，外圈是类别 1，每个点再加上标准差 0.3 的高斯噪声，两类在圆环之间有些重叠。网络有四千多个参数，却只有 40 个样本：容量远大于数据能约束的范围。
# 我们另外留出 200 个点做**验证集**（validation set），训练时从不用它们更新参数。衡量"学到的东西能不能推广"的，是两者之差：
#
# $$\text{泛化差距（generalization gap）} = \mathcal{L}_{\text{val}} - \mathcal{L}_{\text{train}}$$
#
# 下面的数字来自本章游乐场背后的那次训练（全批量 Adam，学习率 0.01，200 个 epoch，每 2 个 epoch 在 eval 模式下量一次损失）：

# %%
xtr, ytr, xva, yva = playground_data("circles", n_train=40, noise=0.3)
print("training points:", tuple(xtr.shape), " validation points:", tuple(xva.shape))
plain = playground_run(data="circles", noise=0.3, n_train=40)      # no dropout, no weight decay, no BN
for epoch in (0, 20, 100, 200):
    i = epoch // 2                                   # the losses were measured every 2 epochs
    print(f"epoch {epoch:3d}: train loss {plain.train_loss[i]:.4f}   validation loss {plain.val_loss[i]:.3f}")

# %% [markdown]
# 开头十几个 epoch 两条损失一起下降，验证损失最低约 0.3；之后训练损失继续降到 0.01 以下，验证损失却掉头上涨，到第 200 个 epoch 在 1 左右，是最低时的 2.5 倍以上。
# 边界的位置其实变化不大（验证**准确率**并没有下降），变的是**自信程度**：模型把每个训练点都判得几乎百分之百确定，概率在 0.1 到 0.9 之间的过渡带（图中发白的一圈）收窄到原来的三分之一以下。于是落在边界错误一侧的验证点，每一个都要付出很大的交叉熵代价。这种自信只有训练集支持，新数据不支持：这也是过拟合。
# 左图是第 20 个 epoch，中图是第 200 个 epoch；右图是同一个网络加上权重衰减 0.01（第 3 节）训练 200 个 epoch，验证损失停在最低点附近。底色是模型给出的类别 1 概率（色条），实心点是 40 个训练点，空心圈是 200 个验证点。

# %%
show(decision_boundary_figure({
    "epoch 20": dict(epoch=20),
    "epoch 200": dict(epoch=200),
    "weight decay 0.01, epoch 200": dict(epoch=200, weight_decay=0.01),
}))

# %% [markdown]
# **过拟合游乐场**（对标 TensorFlow Playground，并多了它没有的 Dropout、权重衰减、BN，以及 train / eval 两种模式下的损失曲线）。控件分三组：
#
# - **data**：`data set` 选数据（moons 月牙、circles 同心圆、XOR 异或、blobs 两团高斯、spiral 双螺旋）；`noise` 是加在每个点上的高斯噪声的标准差；`training points` 是训练集大小（调大时原来的点都在，只是添上新点）。验证集固定是同分布的 200 个点。
# - **model and training**：`activation`（ReLU、tanh、linear）、`width`（两个隐藏层的宽度）、`learning rate (Adam)`；`epoch` 选看第几个 epoch 的网络，按 ▶ 把训练过程播放一遍。
# - **regularization**：`dropout p`、`weight decay`、`batch norm`。
#
# 左图底色是 eval 模式下的 P(类别 1)：蓝是类别 0、红是类别 1，白色（P = 0.5）处的黑线就是决策边界；实心点是训练点，空心圈是验证点。右图：深蓝实线是 eval 模式下训练集上的损失（诚实的训练损失），淡蓝线是训练时（train 模式，带 Dropout）每一步报告的损失，橙线是验证损失，黑点是当前 epoch，绿色三角是早停（第 4 节）会保留的 epoch。
#
# 每换一个设置，面板把这个网络从头训练 200 个 epoch（`helpers.regularization.train_playground`：手写的反向传播，加上第 5 章 `helpers.optim.Adam` 的更新规则，与 `nn.Sequential` + `torch.optim.Adam` 逐步相同），每 2 个 epoch 存一份权重；拖 `epoch` 或播放时只是换上存好的那一份。
#
# **可以试试**（默认：circles，noise 0.3，40 个训练点，ReLU，宽度 64，无正则；「」里的名字是面板上方"试试："一行里的按钮，点一下就在默认设置上设好这个实验，"↺ 默认"回到默认）：
#
# 1. 「第 20 轮」「训练完」按 ▶ 看完整个训练（或者在这两个按钮之间来回点）：验证损失（橙线）在前 20 个 epoch 内到最低，之后掉头向上；左图的边界位置变化不大，发白的过渡带到最后却窄了很多（模型变得过分自信）。
# 2. 「200 个点」`training points` 从 40 调到 200：同样 200 个 epoch，最后的验证损失明显更低；但宽网络仍在慢慢过拟合（橙线仍从最低点涨起来）。
# 3. 「无噪声」`noise` 调到 0：两类不再重叠，没有噪声可背，训练到最后验证损失仍然很低：换 20 个训练种子（初始化不同），最后的验证损失都在 0.1 以下，至少一半低于 0.002。
# 4. 「衰减 0.01」`weight decay` 调到 0.01：验证损失停在最低点附近；「衰减 0.1」调到 0.1 就过了头：网络被压成常数，处处 P ≈ 0.5，两条损失都停在 $\ln 2 \approx 0.693$（欠拟合）。
# 5. 「Dropout 0.4」`dropout p` 调到 0.4：最后的验证损失降到无正则时的一半左右；淡蓝线（train 模式）高过深蓝线（eval 模式），因为训练时每一步用的是随机丢掉四成单元后变弱了的子网络，它的损失本来就更高，而且每步换一个子网络、上下跳动。
# 6. 「线性激活」`activation` 选 linear：隐藏层全是线性的，整个网络只是一个线性分类器，画不出圆，训练准确率停在五成左右。
# 7. 「XOR」「螺旋」换成 XOR 或 spiral 再调上面这些控件；「moons」「moons+Dropout」「moons+衰减」换成 moons 时，Dropout（p = 0.4）还有没有用？和 weight decay（0.01）比一比。

# %%
overfitting_panel()

# %% [markdown]
# **验证**：网络有 4482 个参数。下面把上面的说法在训练种子 0、1、2（初始化和 Dropout 掩码）上各核对一遍。无正则时训练损失最后低于 0.01，验证损失在前 20 个 epoch 内最低（0.25–0.4），最后在 0.7–1.5 之间、是最低时的 2.5 倍以上；Dropout 0.4 把最后的验证损失压到无正则时的 0.75 倍以下，train 模式报告的损失高于 eval 模式的 1.5 倍；权重衰减 0.01 让验证损失最后比最低点高不到 10%；200 个训练点时最后的验证损失低于 40 个点时，但仍高于自己最低点的 1.5 倍。

# %%
assert sum(p.numel() for p in regularization.mlp([2, 64, 64, 2]).parameters()) == 4482
play = overfitting_panel()                               # the panel's states, without showing it


def state_setting(state: str | None) -> regularization.PlaygroundSetting:
    """The training setting of the panel's named state (None: the defaults): every control but the epoch."""
    values = play.state_values(state)
    values.pop("epoch")
    return playground_setting(**values)


# %%
runs = {(name, seed): train_playground(state_setting(state), seed=seed)
        for name, state in {"none": None, "dropout 0.4": "Dropout 0.4", "weight decay 0.01": "衰减 0.01",
                            "200 points": "200 个点"}.items() for seed in (0, 1, 2)}
for (name, seed), run in runs.items():
    best = run.val_loss.argmin()
    print(f"{name:17s} seed {seed}: final train {run.train_loss[-1]:.4f}, val lowest {run.val_loss[best]:.2f} "
          f"(epoch {run.epochs[best]}), final {run.val_loss[-1]:.2f}")

# %%
for seed in (0, 1, 2):
    none, drop, wd, many = (runs[name, seed] for name in ("none", "dropout 0.4", "weight decay 0.01", "200 points"))
    assert none.train_loss[-1] < 0.01 and 0.25 < none.val_loss.min() < 0.4 and none.epochs[none.val_loss.argmin()] <= 20
    assert 0.7 < none.val_loss[-1] < 1.5 and none.val_loss[-1] > 2.5 * none.val_loss.min()
    assert drop.val_loss[-1] < 0.75 * none.val_loss[-1] and drop.step_loss[-20:].mean() > 1.5 * drop.train_loss[-1]
    assert wd.val_loss[-1] < 1.1 * wd.val_loss.min()
    assert many.val_loss[-1] < none.val_loss[-1] and many.val_loss[-1] > 1.5 * many.val_loss.min()

# %% [markdown]
# 过渡带（$0.1 < P < 0.9$ 的那部分图）在第 200 个 epoch 不到第 20 个 epoch 时的三分之一，验证准确率却没有下降（允许 2 个百分点的出入）：

# %%
grid = torch.stack(torch.meshgrid(regularization.MAP_GRID, regularization.MAP_GRID, indexing="xy"), -1).reshape(-1, 2)
for seed in (0, 1, 2):
    run = runs["none", seed]
    early, late = (play.state_values(state)["epoch"] // regularization.SNAPSHOT_EVERY for state in ("第 20 轮", "训练完"))
    prob = torch.softmax(regularization.playground_logits(run.states[[early, late]], grid, run.setting), -1)[..., 1]
    band = ((prob > 0.1) & (prob < 0.9)).float().mean(1)            # share of the map with 0.1 < P < 0.9
    print(f"seed {seed}: band {band[0]:.3f} at epoch 20, {band[1]:.3f} at epoch 200; "
          f"validation accuracy {run.val_acc[early]:.3f} -> {run.val_acc[late]:.3f}")
    assert band[1] < band[0] / 3 and run.val_acc[late] >= run.val_acc[early] - 0.02

# %% [markdown]
# 还有三条：noise 为 0 时，训练种子 0 到 19 最后的验证损失都低于 0.1、至少一半低于 0.002，验证准确率都至少 97%；权重衰减 0.1 时两条损失都在 $\ln 2$ 的 0.01 以内，整张图上 $|P - 0.5| < 0.05$；linear 激活的训练准确率低于 70%。

# %%
clean = [train_playground(state_setting("无噪声"), seed=seed) for seed in range(20)]
clean_val = np.array([run.val_loss[-1] for run in clean])
too_much = train_playground(state_setting("衰减 0.1"))
linear = train_playground(state_setting("线性激活"))
flat = playground_map(200, **state_setting("衰减 0.1")._asdict())
print(f"noise 0, 20 seeds: final val {clean_val.min():.4f} to {clean_val.max():.3f}, {(clean_val < 0.002).sum()} below 0.002, "
      f"acc at least {min(run.val_acc[-1] for run in clean):.1%}; weight decay 0.1: train "
      f"{too_much.train_loss[-1]:.3f}, val {too_much.val_loss[-1]:.3f}, max |P - 0.5| {abs(flat - 0.5).max():.3f}; "
      f"linear: train acc {linear.train_acc[-1]:.0%}")
assert clean_val.max() < 0.1 and (clean_val < 0.002).sum() >= 10 and min(run.val_acc[-1] for run in clean) >= 0.97
assert abs(flat - 0.5).max() < 0.05
assert abs(too_much.train_loss[-1] - math.log(2)) < 0.01 and abs(too_much.val_loss[-1] - math.log(2)) < 0.01
assert linear.train_acc[-1] < 0.7

# %% [markdown]
# ## 1. Dropout
#
# ### 1.1 它想打破什么：共适应（co-adaptation）
#
# 网络里的神经元是**一起**被优化的：所有参数共同服务于同一个损失。如果两个神经元合作就能识别某个模式，梯度下降最省事的做法就是让它们互相依赖——A 的输出只有在 B 也在场时才有意义。
# 这种"固定搭档"关系往往抓住的是训练集里偶然成立的细节，而不是稳定的规律，所以输入稍有扰动，整套配合就失灵，泛化变差。
#
# Dropout 的做法很直接：训练时每一步**随机关掉**一部分神经元。谁也不能指望搭档一定在场，每个神经元只好学一些自己单独也有用的特征。
#
# > **⚠ 笔记勘误（轻微）** 两处错字："神经元时间共适应" 应为 "神经元**之间**"；"学习到的**事**训练集的内部关系" 应为 "学习到的**是**"。

# %% [markdown]
# ### 1.2 训练阶段：每一步一个子网络，保留的单元放大
#
# 对某一层的每个激活值 $x_i$ 独立抽一个掩码 $m_i \sim \mathrm{Bernoulli}(1-p)$（以概率 $1-p$ 保留、概率 $p$ 丢弃），输出
#
# $$y_i = \frac{m_i}{1-p}\,x_i, \qquad \mathbb{E}[y_i] = \frac{(1-p)\,x_i}{1-p} = x_i$$
#
# 除以保留概率 $1-p$ 的目的是让每个单元的**期望输出不变**，这样推理时直接用完整网络、什么都不用改。PyTorch 采用的正是这种**倒置 Dropout**（inverted dropout）。
# 掩码每一步重新抽，所以每一步训练的都是一个不同的子网络（sub-network）：

# %%
show(subnetworks_figure(p=0.5, seeds=(0, 1, 2)))

# %% [markdown]
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：训练阶段"激活值按期望自动缩放，除以 $p$：神经元保留概率"；示例代码的注释又说 `p` 是"丢弃概率"，"对保留的激活值自动除以 p"。
# >
# > **正确的说法**：`nn.Dropout(p)` 里的 `p` 是**丢弃**概率，保留下来的激活值乘以 $\frac{1}{1-p}$（除以保留概率 $1-p$），而不是除以 $p$。
# > 笔记的例子恰好用了 $p = 0.5$，此时 $1/p = 1/(1-p) = 2$，错误被掩盖了；换成 $p = 0.2$ 或 $0.8$ 就会露馅。
# >
# > 证据见下一格：对一百万个 1 做 Dropout，看被置 0 的比例和保留下来的值。

# %%
# NBVAL_CHECK_OUTPUT
x = torch.ones(1_000_000)
for p in (0.2, 0.5, 0.8):
    y = nn.Dropout(p=p)(x)                       # a new module is in training mode
    kept_value = y[y != 0][0].item()
    print(f"p={p}: fraction zeroed {(y == 0).float().mean():.3f}, kept value {kept_value:.4f}, "
          f"1/(1-p) = {1 / (1 - p):.4f}, 1/p = {1 / p:.4f}, mean {y.mean():.2f}")

# %% [markdown]
# 被置 0 的比例约等于 `p`，保留值恰好是 $1/(1-p)$，均值仍是 1。`helpers.regularization.dropout` 照上面的公式写成：

# %%
show_source(regularization.dropout)

# %% [markdown]
# 面板里拖动 `p`，换几个 `resample (seed)` 看看每次哪些单元被丢掉（红叉）、保留的单元被放大了多少。
# 右边比较这一层输出的**均值**：PyTorch 的缩放让均值在多次抽样下的平均（黑色竖线）等于不用 Dropout 时的值（虚线）；不缩放，均值变成原来的 $(1-p)$ 倍；按笔记除以 $p$，均值变成原来的 $(1-p)/p$ 倍——$p < 0.5$ 时偏大（$p = 0.2$：4 倍），$p > 0.5$ 时偏小（$p = 0.8$：只剩 1/4），只有 $p = 0.5$ 时碰巧正确。
# 把 `mode` 换成 `model.eval()`：所有单元原样通过。

# %%
dropout_mask_panel()

# %% [markdown]
# **验证**：`helpers.regularization.dropout` 与 `nn.Dropout` 的统计性质相同——丢弃比例 $\approx p$，保留值 $= x/(1-p)$，均值保持不变。再在面板 `p` 滑块的每个值上（0.05 到 0.8）比较三种缩放的均值：不缩放是 $(1-p)$ 倍，笔记的 $1/p$ 是 $(1-p)/p$ 倍，$p < 0.5$ 时大于 1、$p > 0.5$ 时小于 1。

# %%
g = torch.Generator().manual_seed(0)
x = torch.rand(1_000_000, generator=g) + 0.5             # never 0, so a 0 in the output means "dropped"
for p in (0.2, 0.8):
    for name, y in (("ours", regularization.dropout(x, p, generator=g)), ("nn.Dropout", nn.Dropout(p)(x))):
        kept = y != 0
        assert abs((~kept).float().mean().item() - p) < 0.003
        assert torch.allclose(y[kept], x[kept] / (1 - p))
        assert abs(y.mean().item() - x.mean().item()) < 0.005
        print(f"p={p} {name:10s}: dropped {(~kept).float().mean():.4f}, mean {y.mean():.4f} (input mean {x.mean():.4f})")

# %%
h = torch.rand(40, generator=torch.Generator().manual_seed(7)) + 0.2          # 40 units, as in the panel
for p in [round(0.05 * k, 2) for k in range(1, 17)]:                           # the slider's values with p > 0
    kept = (regularization.dropout(h.expand(20_000, -1), p, generator=g) != 0).float()
    pytorch, unscaled, notes = (v / h.mean() for v in regularization.dropout_scalings(h, kept, p).values())
    assert abs(pytorch - 1) < 0.01 and abs(unscaled - (1 - p)) < 0.01 and abs(notes / ((1 - p) / p) - 1) < 0.02
    assert (notes > 1.02) == (p < 0.5) and (notes < 0.98) == (p > 0.5)
    if p in (0.2, 0.5, 0.8):
        print(f"p={p}: mean / eval mean -> unscaled {unscaled:.3f}, notes' 1/p {notes:.3f}, (1-p)/p = {(1 - p) / p:.3f}")

# %% [markdown]
# ### 1.3 推理阶段：不用 Dropout
#
# 推理时用完整的网络。Dropout 层在 `model.eval()` 下是恒等映射（identity），在 `model.train()` 下才随机丢弃——所以**切换模式**是必须的步骤：
# 忘了 `model.eval()`，同一个输入每次预测都不一样，每次都带着随机丢弃的噪声。`nn.Dropout` 的完整签名只有两个参数：

# %%
# NBVAL_CHECK_OUTPUT
print("nn.Dropout", inspect.signature(nn.Dropout))
net = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Dropout(p=0.5), nn.Linear(16, 2))
x = torch.randn(4, 3)
net.train()
two_train_passes = torch.equal(net(x), net(x))
net.eval()
two_eval_passes = torch.equal(net(x), net(x))
print("model.train(): two passes give the same output?", two_train_passes)
print("model.eval():  two passes give the same output?", two_eval_passes)
assert not two_train_passes and two_eval_passes

# %% [markdown]
# `inplace=True` 会直接改写输入张量、省一点内存，但若那个张量在别处还要用（例如反向传播需要它的原值），就可能报错或算错；默认的 `False` 是安全的选择。
#
# ### 1.4 笔记的示例，改成真正的验证
#
# 笔记的示例在随机数据上训练一个带 Dropout 的小网络，每个 epoch 先 `model.train()` 训练一步，再 `model.eval()` + `torch.no_grad()` 计算"验证损失"。结构是对的，但有一处要改：
#
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：验证阶段写的是 `val_pred = model(x)`，用的还是**训练数据** `x`，却把结果叫作 `val_loss`。
# >
# > **正确的说法**：那只是"eval 模式下在训练集上的损失"，不能说明泛化。验证要用模型从没训练过的数据（留出的验证集），就像第6章 ReduceLROnPlateau 的例子那样。
# >
# > 下一格给出证据：笔记的数据是纯噪声（$x$ 和 $y$ 互相独立），根本没有可学的规律。在训练集上算的"验证损失"照样稳步下降；真正留出的数据上，损失却没有跟着降。

# %%
def notes_example(seed, epochs=100):
    """The notes' loop on pure noise, 20 of 100 samples held out: eval-mode losses per epoch (train, held-out)."""
    torch.manual_seed(seed)
    x, y = torch.randn(100, 3), torch.randn(100, 2)            # as in the notes: y does not depend on x
    x_tr, y_tr, x_va, y_va = x[:80], y[:80], x[80:], y[80:]     # hold out 20 samples
    model = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Dropout(p=0.5), nn.Linear(16, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for epoch in range(epochs):
        model.train()
        optimizer.zero_grad(); F.mse_loss(model(x_tr), y_tr).backward(); optimizer.step()
        model.eval()
        with torch.no_grad():
            losses.append([F.mse_loss(model(x_tr), y_tr).item(), F.mse_loss(model(x_va), y_va).item()])
    return torch.tensor(losses).T, (y_tr, y_va)

# %%
(on_train, on_val), _ = notes_example(seed=0)
low = int(on_val.argmin())
for epoch in (1, low + 1, 20, 100):
    print(f"epoch {epoch:3d}: eval-mode loss on the training data {on_train[epoch - 1]:.3f} | on held-out data {on_val[epoch - 1]:.3f}")

# %% [markdown]
# 笔记只训练 20 个 epoch，这里跑到 100 个。训练数据上的损失总体往下（1.617 → 1.160）；留出数据上的损失先降后升：从 0.837 降到第 12 个 epoch 的 0.670，到第 100 个 epoch 又升回 0.799（仍低于起点）。
# 只看前者会以为模型"学到了东西"。拿一个什么都不学的基准来比：永远预测训练集 $y$ 的均值。下一格换 6 个随机种子：训练数据上，模型每次都比这个基准低（它在拟合噪声）；留出数据上，6 次里有 5 次反而比基准高——它学到的东西推广不出去，剩下一次低于基准只是 20 个点的运气。
#
# **验证**：种子 0 的留出损失先降后部分回升；6 个种子里训练数据上的损失都下降、都低于均值基准，留出数据上有 5 个高于均值基准。

# %%
assert on_val.min() < on_val[0] - 0.1 and on_val.min() + 0.05 < on_val[-1] < on_val[0]     # dips, then partly recovers
mean_predictor = lambda y_tr, y: F.mse_loss(y_tr.mean(0).expand_as(y), y).item()  # noqa: E731
worse_than_mean = 0
for seed in range(6):
    (tr, va), (y_tr, y_va) = notes_example(seed)
    base_tr, base_va = mean_predictor(y_tr, y_tr), mean_predictor(y_tr, y_va)
    assert tr[-1] < tr[0] and tr[-1] < base_tr
    worse_than_mean += int(va[-1] > base_va)
    print(f"seed {seed}: training data {tr[-1]:.3f} (mean predictor {base_tr:.3f}) | held-out {va[-1]:.3f} (mean predictor {base_va:.3f})")
assert worse_than_mean == 5

# %% [markdown]
# ## 2. 批量标准化（Batch Normalization）
#
# ### 2.1 流水线
#
# BN 是插在线性层和激活函数之间的一层。对一个小批量（mini-batch）里的 $N$ 个样本，**每个特征（每一列）单独**做下面几步：
#
# $$x \xrightarrow{\ \text{线性变换}\ } z = Wx + b \xrightarrow{\ \text{标准化}\ } \hat z = \frac{z - \mu_B}{\sqrt{\sigma_B^2 + \varepsilon}} \xrightarrow{\ \text{缩放与平移}\ } y = \gamma \hat z + \beta \xrightarrow{\ \text{激活}\ } h = \phi(y)$$
#
# - $\mu_B = \frac1N\sum_{n} z_n$ 和 $\sigma_B^2 = \frac1N\sum_{n}(z_n - \mu_B)^2$ 是这个特征在**当前批次**上的均值与（有偏）方差；
# - $\varepsilon$（默认 $10^{-5}$）防止分母为 0；
# - $\gamma$（缩放）和 $\beta$（平移）是可学习的参数，每个特征各一对，初值 $\gamma = 1$、$\beta = 0$。
#
# > **⚠ 笔记勘误（轻微）** 笔记的流水线写成 "$s_3 = \gamma s_2 + \beta\ s_3 \to$ 激活函数"，$\beta$ 后面多了一个 $s_3$。正确的是 $s_3 = \gamma s_2 + \beta$，然后 $h = \phi(s_3)$。
#
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：第 2 步"再对标准化项加一层可学习的仿射变换"，公式却写成 $y_i = \gamma z_i + \beta$。
# >
# > **正确的说法**：仿射变换作用在**标准化之后**的值上：$y_i = \gamma \hat z_i + \beta$。另外，$\mu_B$、$\sigma_B^2$ 是按特征在小批量上算的，训练时标准化用的是**有偏**方差（除以 $N$）。
# >
# > 证据见下一格：把 $\gamma$ 设成 2、$\beta$ 设成 3，看 `nn.BatchNorm1d` 的训练输出等于哪一个公式。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
z = 3 * torch.randn(32, 4) + 5                  # a batch of linear outputs: 32 samples, 4 features
bn = nn.BatchNorm1d(4)
with torch.no_grad():
    bn.weight.fill_(2.0)                        # gamma
    bn.bias.fill_(3.0)                          # beta
out = bn(z)                                     # training mode: batch statistics
z_hat = (z - z.mean(0)) / torch.sqrt(z.var(0, unbiased=False) + bn.eps)
print("output == gamma * z_hat + beta :", torch.allclose(out, 2 * z_hat + 3, atol=1e-5))
print("output == gamma * z + beta     :", torch.allclose(out, 2 * z + 3, atol=1e-5))
print("z_hat per feature: |mean| < 1e-6:", bool(z_hat.mean(0).abs().max() < 1e-6),
      "| biased variance ~ 1:", bool(torch.allclose(z_hat.var(0, unbiased=False), torch.ones(4), atol=1e-3)))

# %% [markdown]
# `helpers.regularization.batch_norm` 把训练和推理两种情形都照公式写了出来（推理用的 running 统计量见 2.2 节）：

# %%
show_source(regularization.batch_norm)

# %% [markdown]
# **验证**：训练模式和推理模式下，我们的实现与 `F.batch_norm` 的输出一致，更新后的 running 统计量也一致。

# %%
torch.manual_seed(1)
x = 2 * torch.randn(16, 4) - 1
gamma, beta = torch.rand(4) + 0.5, torch.randn(4)
for training in (True, False):
    rm, rv = torch.randn(4), torch.rand(4) + 0.5
    ours, new_rm, new_rv = regularization.batch_norm(x, gamma, beta, rm, rv, training=training)
    rm_t, rv_t = rm.clone(), rv.clone()                 # F.batch_norm updates these in place
    theirs = F.batch_norm(x, rm_t, rv_t, gamma, beta, training=training, momentum=0.1, eps=1e-5)
    assert torch.allclose(ours, theirs, atol=1e-5)
    assert torch.allclose(new_rm, rm_t, atol=1e-6) and torch.allclose(new_rv, rv_t, atol=1e-6)
    print(f"training={training!s:5}: largest |ours - F.batch_norm| = {(ours - theirs).abs().max():.1e}")

# %% [markdown]
# ### 2.2 训练用批统计量，推理用 running 统计量
#
# 训练时每个批次都有自己的 $\mu_B$、$\sigma_B^2$。推理时可能一次只来一个样本，没有"批"可言，所以 BN 在训练过程中顺便维护两个**指数移动平均**（EMA），叫 running 统计量：
#
# $$\hat\mu \leftarrow (1-m)\,\hat\mu + m\,\mu_B, \qquad \hat\sigma^2 \leftarrow (1-m)\,\hat\sigma^2 + m\,s_B^2$$
#
# - $m$ 就是 `momentum`（默认 0.1），它是**新批次**的权重：一个 $k$ 步之前的批次的权重是 $m(1-m)^k$，有效记忆大约 $1/m$ 个批次；
# - $s_B^2$ 是**无偏**批方差（除以 $N-1$），而训练时标准化用的是有偏的 $\sigma_B^2$；
# - 初值 $\hat\mu = 0$、$\hat\sigma^2 = 1$；`model.eval()` 之后 BN 用 $\hat\mu$、$\hat\sigma^2$ 代替批统计量，输出不再依赖同一批里的其它样本。
#
# > **⚠ 笔记勘误（轻微）** 笔记说 momentum "决定 running 统计量的有效记忆长度"，没说方向。PyTorch 里 momentum 是**新值**的权重，和第5章优化器里 EMA 的 $\beta$（旧值的权重）正好相反：BN 的 `momentum=0.1` 对应 EMA 的 $\beta = 0.9$。
#
# 下一格逐条核对：一个批次之后的 running 统计量、eval 模式用的是什么、`momentum=None` 的累计平均、`affine=False` 没有参数、训练时批大小为 1 会报错。

# %%
torch.manual_seed(0)
batch = 2 * torch.randn(8, 3) + 1
bn = nn.BatchNorm1d(3)                                          # momentum=0.1
bn(batch)
print("running_mean == 0.1 * batch mean            :", torch.allclose(bn.running_mean, 0.1 * batch.mean(0)))
print("running_var  == 0.9 + 0.1 * unbiased var    :", torch.allclose(bn.running_var, 0.9 + 0.1 * batch.var(0)))
print("running_var  == 0.9 + 0.1 * biased var      :", torch.allclose(bn.running_var, 0.9 + 0.1 * batch.var(0, unbiased=False)))
bn.eval()
by_running = (batch - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias
print("eval output uses the running statistics     :", torch.allclose(bn(batch), by_running, atol=1e-6))
cumulative = nn.BatchNorm1d(3, momentum=None)
for xb in (batch, batch + 4):
    cumulative(xb)
print("momentum=None: running_mean = plain average :", torch.allclose(cumulative.running_mean, (batch.mean(0) + (batch + 4).mean(0)) / 2))
print("affine=False has parameters:", list(nn.BatchNorm1d(3, affine=False).parameters()))

# %%
try:
    nn.BatchNorm1d(3)(torch.randn(1, 3))                        # training mode, a batch of one sample
except ValueError as err:
    print("batch size 1 in training mode ->", err)

# %% [markdown]
# 面板把一个特征的数据流画出来：每一步从同一个分布里抽一个批次，灰点是批均值 / 批方差，蓝线是 running 估计。
#
# - 拖动 **batch size**：批越小，批统计量越嘈杂。批均值的标准差是 $\sigma/\sqrt{B}$（橙色点线）。训练时每个样本被"这个批次"的统计量标准化，等于被加了一点噪声——这就是 BN 那点"轻微正则化效果"的来源，也是小批量时 BN 变差的原因；
# - 拖动 **momentum**：大了，running 估计跟着每一批乱跳；小了，曲线平滑，但从初值 (0, 1) 出发要走很久，勾选"distribution changes"后，跟上新分布也要很久。

# %%
bn_stats_panel()

# %% [markdown]
# **验证**：`helpers.regularization.running_average` 写的是展开后的公式 $\hat\mu_t = (1-m)^t\hat\mu_0 + \sum_{s\le t} m(1-m)^{t-s}\mu_{B,s}$，它和 `nn.BatchNorm1d` 在 20 个批次里每一步的缓冲区都相同。
# 面板上的两条说法也在这里核对：batch size 取滑块上的每个值（2–128），前 75 步批均值的标准差与 $\sigma/\sqrt{B}$ 相差都不到 25%；momentum 越大，running_mean 每一步跳得越多，分布变化后也越快追上新的均值（momentum 0.01 时 75 步内都追不上）。

# %%
torch.manual_seed(2)
batches = 3 * torch.randn(20, 16, 2) + 2
for momentum in (0.1, 0.5, None):
    bn = nn.BatchNorm1d(2, momentum=momentum)
    buffers = []
    for xb in batches:
        bn(xb)
        buffers.append(bn.running_var.clone())
    ours = regularization.running_average(batches.var(1), momentum, init=1.0)   # unbiased batch variances
    assert torch.allclose(ours, torch.stack(buffers), atol=1e-5)
    print(f"momentum={momentum}: running_var after 20 batches {bn.running_var.numpy().round(3)}, ours {ours[-1].numpy().round(3)}")

# %%
spread = {b: regularization.simulate_bn_statistics(b, 0.1).batch_mean[:75].std() / (2 / math.sqrt(b)) for b in range(2, 129)}
print(f"batch sizes 2-128: spread of the batch means / (sigma / sqrt(B)) between {min(spread.values()):.2f} and {max(spread.values()):.2f}")
assert all(abs(r - 1) < 0.25 for r in spread.values())
jitter, catch_up = [], []
for m in (0.01, 0.03, 0.1, 0.3, 1.0):                      # the distribution changes at step 75: mean 1 -> 3
    running_mean = regularization.simulate_bn_statistics(16, m, shift=True).running_mean
    jitter.append(round(float(abs(running_mean[26:75] - running_mean[25:74]).mean()), 4))
    catch_up.append(next((t - 75 for t in range(75, 150) if abs(running_mean[t] - 3) < 0.3), math.inf))
print("momentum 0.01, 0.03, 0.1, 0.3, 1: mean step of running_mean", jitter, "| steps to catch up", catch_up)
assert all(b > a for a, b in zip(jitter, jitter[1:])) and all(b < a for a, b in zip(catch_up, catch_up[1:])) and catch_up[0] == math.inf

# %% [markdown]
# ### 2.3 BN 前面的线性层为什么去掉 bias
#
# 标准化第一步就减去了批均值 $\mu_B$。线性层的偏置 $b$ 对一个特征的所有样本都加同一个常数，它会原封不动地进入 $\mu_B$，然后被减掉——不管 $b$ 是多少，BN 的输出都一样。
# 它的作用由 BN 的 $\beta$ 接管，所以笔记示例里写 `nn.Linear(10, 32, bias=False)`。

# %%
torch.manual_seed(0)
linear, bn = nn.Linear(10, 32), nn.BatchNorm1d(32)
x = torch.randn(64, 10)
before = bn(linear(x))
with torch.no_grad():
    linear.bias += 100.0                                 # shift every bias by 100
after = bn(linear(x))
print("BN output unchanged after bias += 100:", torch.allclose(before, after, atol=1e-4))
assert torch.allclose(before, after, atol=1e-4)

# %% [markdown]
# ### 2.4 为什么还要 $\gamma$、$\beta$，为什么作用在 $z$ 上
#
# **为什么要仿射变换**：如果只标准化，每一层的输入都被锁死在"均值 0、方差 1"，网络失去了自己选择数值范围的自由（例如 sigmoid 前只能停在近似线性的区域）。
# $\gamma$、$\beta$ 是普通的可学习参数，随反向传播更新，网络想要什么样的尺度和位置都可以学回来——极端情况下 $\gamma = \sqrt{\sigma_B^2 + \varepsilon}$、$\beta = \mu_B$ 能把标准化完全撤销。
#
# **标准化之后再仿射，还有意义吗**：有。没有 BN 时，这一层输入的均值和尺度由前面所有层的参数**间接**决定，每次前面的权重一动它就跟着漂。
# 有了 BN，均值和尺度由这一层自己的两个参数 $\gamma$、$\beta$ **直接**决定，优化器可以直接、稳定地调它们。
#
# > **⚠ 笔记勘误（轻微）** "仿射的参数 $y_l$ 和 $\beta_l$" 应为 "$\gamma_l$ 和 $\beta_l$"。另外笔记通篇的"线性变化/仿射变化"应为"线性变换/仿射变换"。
#
# **为什么标准化 $z$ 而不是激活值 $h$**：$z$ 是输入的线性组合，分布通常大致对称、连续，用均值和方差概括它是合理的。ReLU 之后的 $h$ 一半左右是 0，分布高度偏斜，均值和方差描述不好它的形状。
# 不过这是经验上的选择，而不是定理：把 BN 放在激活之后的网络同样存在，效果因任务而异。下一格先验证"$\gamma, \beta$ 能撤销标准化"，再看 ReLU 前后的分布差别。

# %%
torch.manual_seed(0)
z = 3 * torch.randn(256, 4) + 5
bn = nn.BatchNorm1d(4)
with torch.no_grad():
    bn.weight.copy_(torch.sqrt(z.var(0, unbiased=False) + bn.eps))    # gamma = sqrt(sigma_B^2 + eps)
    bn.bias.copy_(z.mean(0))                                          # beta = mu_B
print("gamma, beta can undo the normalisation:", torch.allclose(bn(z), z, atol=1e-4))
z_std = torch.randn(100_000)
h = torch.relu(z_std)
skew = lambda v: (((v - v.mean()) / v.std()) ** 3).mean().item()          # noqa: E731
print(f"z: zeros {(z_std == 0).float().mean():.2f}, skewness {skew(z_std):+.2f} | "
      f"relu(z): zeros {(h == 0).float().mean():.2f}, skewness {skew(h):+.2f}")
assert torch.allclose(bn(z), z, atol=1e-4)
assert abs((h == 0).float().mean() - 0.5) < 0.01 and abs(skew(z_std)) < 0.05 and skew(h) > 1

# %% [markdown]
# ### 2.5 笔记的 BN 示例，改对
#
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：`nn.BatchNorm1d(num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True)`，其中 `num_features` 从未定义；这个调用的右括号后面也**没有逗号**就接着写 `nn.ReLU()`。
# >
# > **正确的说法**：`num_features` 要填上一层的输出维度 32，并补上逗号：`nn.BatchNorm1d(32, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True),`。
# >
# > 证据见下一格：原样的写法连编译都通不过；只补逗号，运行时又会因为 `num_features` 未定义而失败。

# %%
as_written = ("nn.Sequential(nn.Linear(10, 32, bias=False),\n"
              "    nn.BatchNorm1d(num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True)\n"
              "    nn.ReLU(), nn.Linear(32, 1))")
with_comma = as_written.replace("track_running_stats=True)\n", "track_running_stats=True),\n")
for label, source in (("as written", as_written), ("comma added", with_comma)):
    try:
        eval(compile(source, "<notes>", "eval"), {"nn": nn})
    except (SyntaxError, NameError) as err:
        print(f"{label:12s} -> {type(err).__name__}: {err.msg if isinstance(err, SyntaxError) else err}")

# %% [markdown]
# 改好的版本（其余部分与笔记相同：随机数据，MSE，Adam，整批训练 20 个 epoch）：

# %%
torch.manual_seed(0)
X, y = torch.randn(100, 10), torch.randn(100, 1)
model = nn.Sequential(
    nn.Linear(10, 32, bias=False),                     # no bias: BN's beta takes its place
    nn.BatchNorm1d(32, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True),
    nn.ReLU(),
    nn.Linear(32, 1),
)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
model.train()                                          # BN uses batch statistics
for epoch in range(20):
    loss = F.mse_loss(model(X), y)
    optimizer.zero_grad(); loss.backward(); optimizer.step()
print(f"after 20 epochs: loss {loss.item():.4f}; BN running_mean[:3] {model[1].running_mean[:3].numpy().round(3)}")

# %% [markdown]
# `nn.BatchNorm1d` 的真实签名如下（签名随 PyTorch 版本略有不同，这里打印的是你正在用的版本）。`device`、`dtype` 只决定参数和缓冲区建在哪里、用什么精度；新版本还有一个只能按关键字传的 `bias`：`bias=False` 只去掉 $\beta$、保留 $\gamma$（`affine=False` 两个都去掉）；`eps`、`momentum`、`affine` 前面都见过，只剩 `track_running_stats` 没讲：

# %%
print("nn.BatchNorm1d", inspect.signature(nn.BatchNorm1d))
if "bias" in inspect.signature(nn.BatchNorm1d).parameters:
    kept = [name for name, _ in nn.BatchNorm1d(3, bias=False).named_parameters()]
    print("bias=False keeps only:", kept)
    assert kept == ["weight"]

# %% [markdown]
# `track_running_stats=False` 时，BN 不建 `running_mean`、`running_var` 这两个缓冲区（它们是 `None`），也就不做 2.2 节的 EMA；于是 `model.eval()` 之后**仍然用当前批次的统计量**标准化，输出又依赖同一批里的其它样本，推理时一次只来一个样本就没法用。
# 它适合批统计量本身就是想要的东西的场合（例如每个批次来自不同的分布）；普通训练保持默认的 `True`。

# %%
torch.manual_seed(0)
xb = 2 * torch.randn(8, 3) + 1
no_stats = nn.BatchNorm1d(3, track_running_stats=False).eval()
by_batch = (xb - xb.mean(0)) / torch.sqrt(xb.var(0, unbiased=False) + no_stats.eps)
print("buffers:", no_stats.running_mean, no_stats.running_var, "| eval output uses this batch's statistics:",
      torch.allclose(no_stats(xb), by_batch, atol=1e-5))
assert no_stats.running_mean is None and no_stats.running_var is None and torch.allclose(no_stats(xb), by_batch, atol=1e-5)
assert not torch.allclose(no_stats(xb[:4])[0], no_stats(xb)[0], atol=1e-3)      # the same sample, another batch
try:
    no_stats(xb[:1])                                                           # one sample at inference
    raise AssertionError("expected an error for a batch of one")
except ValueError as err:
    print("eval, one sample ->", err)

# %% [markdown]
# ### 2.6 BN 为什么有效：内部协变量偏移（ICS）之说与后来的测量
#
# 笔记对 BN 的解释是：前面的层一更新，本层输入的分布就跟着漂移——这叫**内部协变量偏移**（internal covariate shift，ICS），它让梯度不稳定、学习率难调、激活函数饱和；BN 把分布固定住，所以训练更快。
# 这正是 BN 原论文（Ioffe & Szegedy, 2015）提出的动机。笔记里其余几点——标准化让 $z$ 落在激活函数敏感的区间、让梯度尺度可控——本身没有问题。
#
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：把 ICS 当作 BN 起作用的既定机制来讲。
# >
# > **正确的说法**：这是一个有争议的解释。Santurkar 等人（"How Does Batch Normalization Help Optimization?"，NeurIPS 2018）做了两个实验：
# > 一是在 BN 之后故意加入随时间变化的随机偏移和缩放（人为制造大量 ICS），网络依然比不用 BN 训练得好得多；二是直接测量 ICS，发现用了 BN 的网络并不一定更小。
# > 他们认为 BN 的主要作用是让损失曲面更平滑（梯度变化更缓、更可预测），从而允许更大的学习率。这也不是定论，但"BN 靠消除 ICS 起作用"不能当作事实来讲。
# > 另外，BN 放在激活之前还是之后，也是经验选择，两种都有人用。
# >
# > 下面在三条螺旋线（spirals，3 类，800 个训练点）上重做第一个实验：4 个宽 64 的隐藏层，SGD 学习率 0.05，批大小 64，8 个 epoch。`RandomShift` 在每一步给 BN 输出的每个特征乘一个随机倍数、加一个随机偏移（只在训练模式下）。

# %%
X_spiral, y_spiral = spirals(800, classes=3, noise=0.2, seed=0)
X_spiral_val, y_spiral_val = spirals(400, classes=3, noise=0.2, seed=1)

def deep_net(batch_norm, shift):
    layers, width = [], 2
    for _ in range(4):
        layers += [nn.Linear(width, 64, bias=not batch_norm)]
        layers += [nn.BatchNorm1d(64), regularization.RandomShift(shift)] if batch_norm else []
        layers += [nn.ReLU()]
        width = 64
    return nn.Sequential(*layers, nn.Linear(64, 3))

# %%
ics = {}
for name, (batch_norm, shift) in {"no BN": (False, 0.0), "BN": (True, 0.0), "BN + random shift": (True, 0.5)}.items():
    torch.manual_seed(0)
    model = deep_net(batch_norm, shift)
    ics[name] = fit(model, (X_spiral, y_spiral), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.05),
                    epochs=8, batch_size=64, val_data=(X_spiral_val, y_spiral_val), metrics={"acc": accuracy},
                    progress=False)
    print(f"{name:18s}: train loss per epoch {[round(v, 2) for v in ics[name].train_loss]}, "
          f"final val acc {ics[name].metrics['val_acc'][-1]:.2f}")

# %% [markdown]
# 在这个小实验里：不用 BN 的深网络 8 个 epoch 里损失只从 1.10 降到 1.08，仍贴着 $\ln 3 \approx 1.10$（三类概率相等时的交叉熵）。但它并不是在瞎猜：验证准确率 0.52，高于随机的 1/3——三个类的概率几乎相等，只是已经稍稍偏向了一些正确的类，损失几乎看不出来，准确率看得出来（换随机种子 1–4 再训练不用 BN 的网络，准确率在 0.49–0.69 之间变化，损失都停在 $\ln 3$ 附近，见验证格）。
# 有 BN 的网络很快下降；第三个网络在 BN 之后每一步都被随机挪动分布（人为加回了分布偏移），虽然慢一些，却远好于不用 BN 的网络。
# 如果稳定分布是 BN 起作用的关键，第三个网络本该和第一个一样差。这说明"减少 ICS"至少不是全部原因；至于"曲面更平滑"的解释，这里没有测量，只是转述论文。
#
# **验证**：三个网络的最终训练损失按 "BN < BN + random shift < 不用 BN" 排列；不用 BN 的网络在种子 0–4 上损失都离 $\ln 3$ 不到 0.05，验证准确率却都高于 0.4（随机是 1/3）。

# %%
final = {name: h.train_loss[-1] for name, h in ics.items()}
assert final["BN"] < final["BN + random shift"] < final["no BN"]
assert final["no BN"] > 1.0 and final["BN + random shift"] < 0.8
assert abs(final["no BN"] - math.log(3)) < 0.05 and ics["no BN"].metrics["val_acc"][-1] > 0.4
for seed in range(1, 5):                               # the network without BN, other initial weights and batch orders
    torch.manual_seed(seed)
    model = deep_net(False, 0.0)
    h = fit(model, (X_spiral, y_spiral), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.05),
            epochs=8, batch_size=64, val_data=(X_spiral_val, y_spiral_val), metrics={"acc": accuracy}, progress=False)
    print(f"no BN, seed {seed}: final train loss {h.train_loss[-1]:.3f}, val acc {h.metrics['val_acc'][-1]:.2f}")
    assert abs(h.train_loss[-1] - math.log(3)) < 0.05 and h.metrics["val_acc"][-1] > 0.4
print({name: round(v, 3) for name, v in final.items()})

# %% [markdown]
# ## 3. 权重衰减（weight decay）与 L2 正则
#
# 笔记没有讲，但几乎每个训练脚本里都有它。思路是给损失加一个惩罚项，让权重不要无谓地变大：
#
# $$\tilde{\mathcal L}(w) = \mathcal L(w) + \frac{\lambda}{2}\lVert w\rVert^2, \qquad \nabla \tilde{\mathcal L} = \nabla\mathcal L + \lambda w$$
#
# 代入 SGD 的一步：$w \leftarrow w - \eta(\nabla\mathcal L + \lambda w) = (1 - \eta\lambda)\,w - \eta\nabla\mathcal L$。每一步先把权重**按比例缩小**一点，再做普通的梯度步——"权重衰减"因此得名。
# PyTorch 的优化器把它做成参数 `weight_decay=λ`：直接在梯度上加 $\lambda w$，不用改损失函数。注意它作用于传给优化器的**所有**参数，包括偏置和 BN 的 $\gamma$、$\beta$。

# %%
show_source(regularization.l2_penalty)

# %% [markdown]
# 两种写法在 SGD 下**逐步相同**。Adam 的 `weight_decay` 也是把 $\lambda w$ 加进梯度（等价于 L2 惩罚），但之后要被 Adam 的自适应步长 $1/\sqrt{\hat v}$ 缩放；
# `AdamW` 则采用**解耦**（decoupled）的衰减：与梯度步分开，每步直接乘 $(1 - \eta\lambda)$。所以对 Adam 而言"L2 正则"和"权重衰减"不再是一回事。
#
# **验证**：SGD 在"损失 + L2 惩罚"上的轨迹与 `SGD(weight_decay=λ)` 相同；Adam 的 `weight_decay` 等于损失 + L2；AdamW 不同。

# %%
def trajectory(make_optimizer, wd_in_loss=0.0, steps=30):
    torch.manual_seed(0)
    model, x, y = nn.Linear(5, 1), torch.randn(64, 5), torch.randn(64, 1)
    optimizer = make_optimizer(model.parameters())
    for _ in range(steps):
        loss = F.mse_loss(model(x), y) + regularization.l2_penalty(model.parameters(), wd_in_loss)
        optimizer.zero_grad(); loss.backward(); optimizer.step()
    return torch.cat([p.detach().flatten() for p in model.parameters()])

# %%
lam = 0.1
sgd_decay = trajectory(lambda ps: torch.optim.SGD(ps, lr=0.05, weight_decay=lam))
sgd_l2 = trajectory(lambda ps: torch.optim.SGD(ps, lr=0.05), wd_in_loss=lam)
adam_decay = trajectory(lambda ps: torch.optim.Adam(ps, lr=0.01, weight_decay=lam))
adam_l2 = trajectory(lambda ps: torch.optim.Adam(ps, lr=0.01), wd_in_loss=lam)
adamw = trajectory(lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=lam))
assert torch.allclose(sgd_decay, sgd_l2, atol=1e-6) and torch.allclose(adam_decay, adam_l2, atol=1e-6)
assert not torch.allclose(adamw, adam_l2, atol=1e-4)
print(f"SGD:   |weight_decay - (loss + L2)| max = {(sgd_decay - sgd_l2).abs().max():.1e}")
print(f"Adam:  |weight_decay - (loss + L2)| max = {(adam_decay - adam_l2).abs().max():.1e}")
print(f"AdamW: |AdamW - Adam with L2|       max = {(adamw - adam_l2).abs().max():.1e}")

# %% [markdown]
# 回到游乐场：`weight decay` 从 0 调到 0.01，验证损失基本不再上涨（最后比最低点高不到 10%）；调到 0.1 又过头了，模型被压得太"简单"：最后的训练损失和验证损失都比 0.01 时高（欠拟合）。

# %%
runs_wd = {wd: playground_run(weight_decay=wd) for wd in (0.0, 1e-2, 1e-1)}
for wd, run in runs_wd.items():
    print(f"weight decay {wd:<5}: final train {run.train_loss[-1]:.3f}, best val {run.val_loss.min():.3f}, final val {run.val_loss[-1]:.3f}")
assert runs_wd[1e-2].val_loss[-1] < 1.1 * runs_wd[1e-2].val_loss.min() and runs_wd[0.0].val_loss[-1] > 2.5 * runs_wd[0.0].val_loss.min()
assert runs_wd[1e-1].train_loss[-1] > runs_wd[1e-2].train_loss[-1] and runs_wd[1e-1].val_loss[-1] > runs_wd[1e-2].val_loss[-1]

# %% [markdown]
#
# ## 4. 早停（early stopping）
#
# 最朴素的正则化：既然验证损失会在某个时刻开始上涨，那就**在那之前停下**，并保留验证损失最低时的权重。规则有两个参数：
#
# - `patience` $k$：连续 $k$ 次评估都没有改进就停（在第 $k$ 个坏评估时停）；
# - `min_delta` $\delta$：只有 $\ell_t < \ell_{\text{best}} - \delta$ 才算改进。
#
# 注意它和第6章 `ReduceLROnPlateau` 的 `patience` 差一：那里坏 epoch 数要**大于** `patience` 才降学习率，即第 $p+1$ 个坏调用。所以早停的 `patience=k` 对应 `ReduceLROnPlateau(patience=k-1)`（`threshold_mode='abs'`、`threshold=min_delta` 时触发在同一次调用，验证格核对）。

# %%
show_source(regularization.early_stopping_epoch)

# %% [markdown]
# **验证**：在游乐场无正则的那次训练上（每 2 个 epoch 评估一次，patience 10 次即 20 个 epoch），早停保留的 epoch 正是 20 个 epoch 后仍没被刷新的那个最低点；
# 它的验证损失不到训练到最后的一半，而 `ReduceLROnPlateau(patience=9)` 在同一次评估降学习率。再用一个手算的小例子核对规则本身。

# %%
stop, best_i = regularization.early_stopping_epoch(plain.val_loss, patience=10)
epochs = plain.epochs
print(f"stops at epoch {epochs[stop]}, keeps epoch {epochs[best_i]}: "
      f"val loss {plain.val_loss[best_i]:.3f} instead of {plain.val_loss[-1]:.3f} at epoch 200")
assert stop - best_i == 10 and plain.val_loss[best_i] == plain.val_loss[:stop + 1].min()
assert plain.val_loss[best_i] < plain.val_loss[-1] / 2

# %%
plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0),
                                                     patience=9, threshold=0.0, threshold_mode="abs")
for i, value in enumerate(plain.val_loss.tolist()):
    plateau.step(value)
    if plateau.optimizer.param_groups[0]["lr"] < 1.0:
        break
print(f"ReduceLROnPlateau(patience=9) first cuts at evaluation {i}, early stopping (patience=10) stops at {stop}")
assert i == stop

# %%
hand = [1.0, 0.8, 0.9, 0.85, 0.95, 0.7]                 # best at index 1, then 3 epochs without improvement
assert regularization.early_stopping_epoch(hand, patience=3) == (4, 1)
assert regularization.early_stopping_epoch(hand, patience=5) == (5, 5)   # never fires: runs to the end
print("hand example: patience 3 ->", regularization.early_stopping_epoch(hand, patience=3))

# %% [markdown]
# ## 5. 用 `fit` 对比：同一个网络，有无各种正则
#
# 最后用课程共用的 `fit` 把同一个 $2 \to 64 \to 64 \to 2$ 网络在游乐场的 40 个点上各训练一遍：不加正则、Dropout 0.4、权重衰减 0.01、BN。
# `train_eval=True` 让 `fit` 在每个 epoch 之后用 **eval 模式**在训练集上再算一遍损失——Dropout 网络在 train 模式下报告的损失带着随机丢弃的噪声，不能直接和验证损失比。

# %%
configs = {"none": dict(), "dropout 0.4": dict(dropout=0.4), "weight decay 0.01": dict(weight_decay=1e-2),
           "batch norm": dict(batch_norm=True)}
histories = {}
for name, cfg in configs.items():
    torch.manual_seed(0)
    model = regularization.mlp([2, 64, 64, 2], dropout=cfg.get("dropout", 0.0), batch_norm=cfg.get("batch_norm", False))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=cfg.get("weight_decay", 0.0))
    histories[name] = fit(model, (xtr, ytr), nn.CrossEntropyLoss(), optimizer, epochs=100, val_data=(xva, yva),
                          train_eval=True, metrics={"acc": accuracy}, progress=False)
show(plot_histories(histories, keys=("train_eval_loss", "val_loss"), logy=True))

# %% [markdown]
# 权重衰减把验证损失稳稳压住；Dropout 的验证损失也在回升，但慢得多，最后不到不加正则时的 0.7 倍；BN 的验证损失也低于不加正则，但同样在上涨。这里是全批量训练，每一步的"批"都是同样的 40 个点，批统计量没有随机性，BN 那点正则化效果也就无从谈起——它在这里主要是一个优化手段。
#
# **验证**：不加正则的那次 `fit` 与面板里同一设置的结果相同（面板手写的训练没有走捷径）；三种正则都让第 100 个 epoch 的验证损失低于不加正则；权重衰减最后的验证损失离最低点不到 10%，Dropout 的低于不加正则时的 0.7 倍，Dropout 的回升比例（最后 / 最低）小于不加正则；BN 和不加正则的则已经涨到各自最低点的 1.5 倍以上。

# %%
for name, h in histories.items():
    print(f"{name:18s}: train (eval mode) {h.train_eval_loss[-1]:.4f}, val {h.val_loss[-1]:.3f} (lowest {min(h.val_loss):.3f}), "
          f"val acc {h.metrics['val_acc'][-1]:.2f}")
rise = {name: h.val_loss[-1] / min(h.val_loss) for name, h in histories.items()}   # final / lowest
assert rise["none"] > 1.5 and rise["batch norm"] > 1.5 and rise["weight decay 0.01"] < 1.1 and rise["dropout 0.4"] < rise["none"]
assert histories["dropout 0.4"].val_loss[-1] < 0.7 * histories["none"].val_loss[-1]
panel_none = plain.val_loss[100 // 2]
assert abs(histories["none"].val_loss[-1] - panel_none) < 1e-3
print(f"panel, same setting, epoch 100: val {panel_none:.3f}")
for name in ("dropout 0.4", "weight decay 0.01", "batch norm"):
    assert histories[name].val_loss[-1] < histories["none"].val_loss[-1]

# %% [markdown]
# ## 小结
#
# - **过拟合**：容量远大于数据时，训练损失趋于 0 而验证损失上升。判断泛化只能看模型没训练过的数据；笔记示例里的"验证"其实用的是训练数据。
# - **Dropout**：训练时每个单元以概率 $p$（PyTorch 的 `p` 是**丢弃**概率）置 0，保留的乘 $1/(1-p)$，期望不变；每一步训练一个不同的子网络，打破共适应。推理时 `model.eval()`，Dropout 是恒等映射。
# - **BN**：$\hat z = (z-\mu_B)/\sqrt{\sigma_B^2+\varepsilon}$，$y = \gamma\hat z + \beta$，再激活。训练用批统计量（有偏方差），同时以 `momentum`（新批次的权重）更新 running 均值和**无偏**方差的 EMA，推理时用 running 统计量。BN 前的线性层不需要 bias。
# - BN 为何有效仍有争议：ICS 是最初的解释，后来的实验表明它不是全部原因。
# - **权重衰减**：损失加 $\frac\lambda2\lVert w\rVert^2$ 在 SGD 下等价于 `weight_decay=λ`；对 Adam 则要分清 `Adam(weight_decay)`（L2）和 `AdamW`（解耦衰减）。
# - **早停**：验证损失连续 `patience` 次没有改进就停，保留最好的那组权重。
#
# ## 面试速答
#
# **问：Dropout 训练和推理时有什么不同？为什么要缩放？**
# 答：训练时每个单元以概率 $p$ 被置 0，保留的乘以 $1/(1-p)$，使输出的期望等于不丢弃时的值；推理时不丢弃、不缩放，直接用完整网络。缩放放在训练阶段做（倒置 Dropout），推理就无需任何改动。
#
# **问：`nn.Dropout(p=0.2)` 中保留的值被放大多少倍？**
# 答：$1/(1-0.2) = 1.25$ 倍。$p$ 是丢弃概率，不是保留概率。
#
# **问：BN 在训练和推理时的行为有什么区别？**
# 答：训练时用当前批次的均值和有偏方差标准化，并用 EMA 更新 running_mean 和 running_var（用无偏方差，新批次权重为 momentum）；推理时用 running 统计量，输出与同批其它样本无关。所以推理前必须 `model.eval()`。
#
# **问：BN 之前的线性层为什么常设 `bias=False`？**
# 答：偏置对一个特征的所有样本加同一常数，会被减均值一步完全消掉；平移的作用由 BN 的 $\beta$ 承担，留着 bias 只是多一个梯度为 0（在浮点误差内）、什么也学不到的参数。
#
# **问：BN 为什么能加速训练？**
# 答：最初的解释是减少内部协变量偏移；后来的实验（Santurkar 等，2018）发现人为加入大量分布偏移后 BN 仍然有效，他们认为主要原因是损失曲面更平滑、梯度更可预测，从而可以用更大的学习率。这个问题至今没有定论。
#
# **问：L2 正则和 weight decay 是一回事吗？**
# 答：对 SGD 是：损失加 $\frac\lambda2\lVert w\rVert^2$ 和 `weight_decay=λ` 的更新完全相同。对 Adam 不是：L2 的梯度会被自适应步长缩放，而 AdamW 的解耦衰减直接把权重乘 $(1-\eta\lambda)$；提出它的 Loshchilov 和 Hutter（2019）报告它泛化得更好，如今它是常用的默认选择。

# %% [markdown]
# ## 练习
#
# **练习 1**：不用 `F.dropout` / `nn.Dropout`，只用 `torch.rand`（或 `torch.bernoulli`）生成掩码，写一个训练模式下的 `my_dropout(x, p)`：以概率 `p` 把每个元素独立地置 0，保留的元素按正确的比例放大。检查器会用一维和 $(N, C)$ 的输入、不同的 `p` 来试：两次调用的掩码要不同，梯度要能传回 `x`；任何现成的 dropout 算子（不管用哪个名字调用）和课程自带的函数都会被认出来。

# %%
my_dropout = None  # 在这里写你的函数：def my_dropout(x, p): ...
exercises.check_inverted_dropout(my_dropout)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# ```python
# def my_dropout(x, p):
#     keep = torch.rand(x.shape) >= p          # kept with probability 1 - p
#     return x * keep / (1 - p)
#
# exercises.check_inverted_dropout(my_dropout)
# ```
#
# </details>
#
# **练习 2**：不用 `F.batch_norm`，写出 `my_batch_norm(x, gamma, beta, eps)`：对形状 $(N, C)$ 的 `x` 给出 `BatchNorm1d` 在**训练模式**下的输出。检查器会比较数值和对 `x`、`gamma`、`beta` 的梯度；把 `F.layer_norm`、`group_norm`、`instance_norm`、`rms_norm` 用在转置后的 `x` 上也能凑出结果，所以这些归一化算子同样不能用。

# %%
my_batch_norm = None  # 在这里写你的函数：def my_batch_norm(x, gamma, beta, eps): ...
exercises.check_batch_norm_train(my_batch_norm)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# ```python
# def my_batch_norm(x, gamma, beta, eps):
#     mean = x.mean(dim=0)
#     var = ((x - mean) ** 2).mean(dim=0)      # biased: divide by N
#     return gamma * (x - mean) / torch.sqrt(var + eps) + beta
#
# exercises.check_batch_norm_train(my_batch_norm)
# ```
#
# </details>
#
# **练习 3**：一个新建的 `nn.BatchNorm1d(1)`（`momentum=0.1`）在训练模式下看到一个批次，其中唯一特征的 4 个值是 1, 2, 3, 6。不运行代码，手算它之后的 `running_var`，把结果（一个数）赋给 `answer`。

# %%
answer = None  # 在这里写你的答案
exercises.check_running_var(answer)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# 批均值 3，离差平方和 $4 + 1 + 0 + 9 = 14$，无偏方差 $14/3 \approx 4.667$。running_var 初值 1，所以
# $0.9 \times 1 + 0.1 \times 14/3 \approx 1.3667$。
#
# ```python
# answer = 0.9 * 1 + 0.1 * 14 / 3
# exercises.check_running_var(answer)
# ```
#
# </details>
#
# **练习 4**：某人在损失里手动加上 `0.005 * sum((w ** 2).sum() for w in model.parameters())`，然后用 `torch.optim.SGD(model.parameters(), lr=0.1)` 训练。
# 换成不改损失、只设 `SGD(..., weight_decay=λ)`，$\lambda$ 取多少训练轨迹完全相同？

# %%
answer = None  # 在这里写你的答案
exercises.check_l2_weight_decay(answer)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# 惩罚 $c\sum w^2$ 的梯度是 $2c\,w$，而 `weight_decay=λ` 在梯度上加的是 $\lambda w$，所以 $\lambda = 2c = 0.01$。
#
# ```python
# answer = 0.01
# exercises.check_l2_weight_decay(answer)
# ```
#
# </details>

# %% [markdown]
# [← 第6章 学习率衰减](06_lr_schedules.ipynb) · [第8章 卷积神经网络 →](08_cnn.ipynb)
