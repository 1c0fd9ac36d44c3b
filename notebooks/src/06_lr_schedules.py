# %% [markdown]
# # 第6章 学习率衰减 (Learning-rate schedules)
#
# **学习目标**
#
# - 在一次训练里看清：为什么固定学习率是一种折中，衰减学习率又如何两头兼顾
# - 写出 StepLR、MultiStepLR、ExponentialLR、CosineAnnealingLR 的公式，并和 PyTorch 调度器的真实签名、真实数值逐点对上
# - 准确理解 ReduceLROnPlateau 的 patience、threshold、cooldown：第几次调用才降、什么才算"改进"
# - 会用笔记没讲、但实践中最常见的做法：线性预热 + `SequentialLR`、`OneCycleLR`、带重启的余弦、学习率范围测试
# - 把 `scheduler.step()` 放对位置，并分清按 epoch 和按 batch 调度
#
# **预计用时**：75–90 分钟
#
# **先修**：第5章 梯度下降优化算法（SGD、动量、Adam，`torch.optim` 的用法）

# %%
import inspect
import math
import warnings
import torch
import torch.nn as nn
from torch.optim import lr_scheduler
from helpers import regularization, schedules, show_source
from helpers.data import digits
from helpers.exercises import schedules as exercises
from helpers.panels.schedules import lr_range_figure, plateau_panel, schedule_explorer_panel, schedule_training_panel
from helpers.plotting import new_figure, show
from helpers.training import fit
torch.set_num_threads(1)  # 本章的模型都很小，单线程最快

# %% [markdown]
# 第5章的优化器都有一个学习率 $\eta$，而且在整个训练中保持不变。学习率调度（learning-rate schedule）让它随训练进程变化：把 $\eta$ 写成步数 $t$ 的函数 $\eta_t$。
#
# PyTorch 里，调度器（scheduler）包在优化器外面，每调用一次 `scheduler.step()` 就把优化器的学习率改成下一个值。标准写法是：
#
# ```python
# for epoch in range(epochs):
#     for xb, yb in loader:
#         optimizer.zero_grad(); loss_fn(model(xb), yb).backward(); optimizer.step()
#     scheduler.step()          # 一个 epoch 结束后更新学习率（也可以放进内层循环，按 batch 更新）
# ```
#
# 本章约定：$t$ 是**已经调用过的 `scheduler.step()` 次数**，$\eta_t$ 是下一次 `optimizer.step()` 用的学习率。`helpers/schedules.py` 把每个调度器写成一个 $t$ 的函数，本章逐个和 PyTorch 对数。

# %% [markdown]
# ## 1. 固定学习率是一种折中
#
# 笔记指出固定学习率的两难：
#
# - 训练初期离最优点远，希望步子大：学习率太小就收敛得慢；
# - 训练后期在最优点附近，希望步子小：学习率太大就在最优点附近来回晃。
#
# 用 mini-batch SGD 训练时，后一个问题特别明显：每个 batch 的梯度都带噪声，学习率越大，参数在最优点附近抖得越厉害，损失停在一个比最小值高的"噪声底"上。
# 下面在同一份线性回归数据（256 个样本、8 个特征、噪声标准差 0.5）上训练同一个 `nn.Linear(8, 1)`，三种设置各 20 个 epoch，批大小 16：

# %%
X, y = schedules.regression_task()
floor = schedules.least_squares_loss()       # 能达到的最小损失：带偏置的最小二乘解在全部数据上的 MSE

def train(lr, make_scheduler=None, epochs=20):
    torch.manual_seed(0)                                        # 相同的初始权重和 batch 顺序
    model = nn.Linear(8, 1)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    sched = make_scheduler(opt) if make_scheduler else None
    return fit(model, (X, y), nn.MSELoss(), opt, epochs=epochs, batch_size=16, scheduler=sched,
               train_eval=True, progress=False)                 # train_eval：每个 epoch 后在全部数据上算损失

runs = {"lr = 0.003": train(0.003), "lr = 0.1": train(0.1),
        "lr = 0.1, StepLR(step_size=5, gamma=0.2)": train(0.1, lambda o: lr_scheduler.StepLR(o, 5, 0.2))}

# %%
fig, ax = new_figure((6.4, 3.2))
for name, h in runs.items():
    ax.plot(range(1, 21), [loss - floor for loss in h.train_eval_loss], marker=".", label=name)
ax.set(yscale="log", xlabel="epoch", ylabel="loss - minimum", title="the same model, three learning-rate choices")
ax.legend(loc="upper right", fontsize=8)
show(fig)

# %% [markdown]
# 小学习率（蓝）一路平稳下降，但 20 个 epoch 后还离最小值很远；大学习率（橙）几个 epoch 就到了底，然后停在噪声底上；先大后小（绿）前期和大学习率一样快，每次衰减后噪声底都降一截。
#
# **验证**：小学习率的损失每个 epoch 都在降，最后仍比最小值高 0.1 以上；StepLR 的最终损失比两个固定学习率都更接近最小值（低 10 倍以上）；前 3 个 epoch 里大学习率比小学习率下降得快；固定 0.1 从第 2 个 epoch 起就不再往下走（第 11–20 个 epoch 的平均不低于第 2–10 个 epoch 平均的一半）；StepLR 的前 5 个 epoch 与固定 0.1 完全相同，之后每降一次学习率，第 10、15、20 个 epoch 的损失都比上一个台阶低。

# %%
excess = {name: h.train_eval_loss[-1] - floor for name, h in runs.items()}
for name, value in excess.items():
    print(f"{name:42s} 20 个 epoch 后比最小值高 {value:.1e}")
small, large, step = excess.values()
slow = runs["lr = 0.003"].train_eval_loss
assert all(b < a for a, b in zip(slow, slow[1:])) and small > 0.1
assert step < large / 10 and step < small / 10
assert runs["lr = 0.1"].train_eval_loss[2] < runs["lr = 0.003"].train_eval_loss[2]
at_01 = [loss - floor for loss in runs["lr = 0.1"].train_eval_loss]
print(f"lr = 0.1, mean loss - minimum: epochs 2-10 {sum(at_01[1:10]) / 9:.1e}, epochs 11-20 {sum(at_01[10:]) / 10:.1e}")
assert sum(at_01[10:]) / 10 > 0.5 * sum(at_01[1:10]) / 9                # no lower after epoch 2: a noise floor
stepped = runs["lr = 0.1, StepLR(step_size=5, gamma=0.2)"].train_eval_loss
assert stepped[:5] == runs["lr = 0.1"].train_eval_loss[:5]
assert stepped[4] > stepped[9] > stepped[14] > stepped[19]
print("StepLR, loss - minimum after epochs 5, 10, 15, 20:", [f"{stepped[e] - floor:.1e}" for e in (4, 9, 14, 19)])

# %% [markdown]
# ## 2. 等间隔衰减：StepLR
#
# 每隔固定的步数（或 epoch 数）$s$，学习率乘一次 $\gamma$：
#
# $$\eta_t = \eta_0\,\gamma^{\lfloor t / s \rfloor}$$
#
# 前期保持大学习率快速下降，到了一定阶段再降下来，让参数稳定在最优点附近。缺点也很直接：学习率是阶梯状的、不连续；什么时候降、降多少都要人来定；总训练步数一变，这些设置也要跟着改。
#
# PyTorch 的真实签名（`step_size` 没有默认值，`gamma` 默认 0.1）：

# %%
# NBVAL_CHECK_OUTPUT
for cls in (lr_scheduler.StepLR, lr_scheduler.MultiStepLR, lr_scheduler.ExponentialLR, lr_scheduler.CosineAnnealingLR):
    params = [p for p in inspect.signature(cls).parameters.values()]
    print(f"{cls.__name__}(" + ", ".join(p.name + ("" if p.default is p.empty else f"={p.default}") for p in params) + ")")

# %% [markdown]
# 笔记的 StepLR 示例（`SGD(lr=0.1, momentum=0.9)` 加 `StepLR(step_size=30, gamma=0.1)`，循环 100 步）写法是对的：`scheduler.step()` 放在 `optimizer.step()` 之后。问题出在它打印学习率的方式。
#
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：每一步在 `scheduler.step()` **之后** 打印 `scheduler.get_last_lr()[0]`，当作"这一步的学习率"。
# >
# > **正确的说法**：`get_last_lr()` 返回的是调度器**最近一次设置**的学习率，也就是**下一步**要用的值。放在 `scheduler.step()` 之后打印，每一行都提前了一步：第 29 步（从 0 数）实际用的是 0.1，却打印出 0.01。
# > 要记录这一步真正用的学习率，在 `scheduler.step()` **之前**读 `optimizer.param_groups[0]['lr']`。
# >
# > 证据见下一格：同一个循环里两种记法的第 28–31 步。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
x_toy, y_toy = torch.randn(10, 3), torch.randn(10, 2)
model = nn.Linear(3, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
scheduler = lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)
for step in range(32):
    optimizer.zero_grad()
    nn.functional.mse_loss(model(x_toy), y_toy).backward()
    used = optimizer.param_groups[0]["lr"]          # 这一步 optimizer.step() 用的学习率
    optimizer.step()
    scheduler.step()
    if step >= 28:
        print(f"第{step}步：实际使用 lr = {used:.4g}，笔记打印的 get_last_lr() = {scheduler.get_last_lr()[0]:.4g}")

# %% [markdown]
# `helpers.schedules.step_lr` 是上面的公式：

# %%
show_source(schedules.step_lr)

# %% [markdown]
# **验证**：`step_lr` 与 `StepLR(step_size=30, gamma=0.1)` 逐步一致：第 0–29 步 0.1，第 30 步起 0.01，第 60 步起 0.001，第 90 步起 1e-4。`schedules.lr_curve` 记录的是每次 `optimizer.step()` 前的学习率。

# %%
# NBVAL_CHECK_OUTPUT
used = schedules.lr_curve(lambda o: lr_scheduler.StepLR(o, step_size=30, gamma=0.1), 100, lr=0.1)
formula = [schedules.step_lr(t, 0.1, 30, 0.1) for t in range(100)]
assert all(math.isclose(a, b, rel_tol=1e-12) for a, b in zip(used, formula))
print("第 0, 29, 30, 59, 60, 90 步的学习率：", [f"{used[t]:.4g}" for t in (0, 29, 30, 59, 60, 90)])

# %% [markdown]
# ## 3. 指定步点衰减：MultiStepLR
#
# 不再等间隔，而是给出一组**里程碑**（milestones）$m_1 < m_2 < \dots$，每越过一个就乘一次 $\gamma$：
#
# $$\eta_t = \eta_0\,\gamma^{\,\#\{i:\ m_i \le t\}}$$
#
# 笔记的注释"每调用一次 `step()`，判断是否跨过 milestone"说得对：调度器只数 `step()` 的调用次数。
#
# **验证**：`MultiStepLR(milestones=[20, 50, 80], gamma=0.1)` 恰好在第 20、50、80 步变化。

# %%
# NBVAL_CHECK_OUTPUT
used = schedules.lr_curve(lambda o: lr_scheduler.MultiStepLR(o, milestones=[20, 50, 80], gamma=0.1), 100, lr=0.1)
formula = [schedules.multistep_lr(t, 0.1, [20, 50, 80], 0.1) for t in range(100)]
changes = [t for t in range(1, 100) if not math.isclose(used[t], used[t - 1])]
assert all(math.isclose(a, b, rel_tol=1e-12) for a, b in zip(used, formula)) and changes == [20, 50, 80]
print("学习率在这些步发生变化：", changes)

# %% [markdown]
# ## 4. 指数衰减：ExponentialLR
#
# 每一步都乘同一个 $\gamma$：
#
# $$\eta_t = \eta_0\,\gamma^{t}$$
#
# 曲线连续、没有台阶，在对数坐标下是一条直线。它下降得"先快后慢"（每步减少的量 $\eta_t(1-\gamma)$ 越来越小），但从不停止：$\gamma = 0.95$ 时 100 步后只剩 $0.95^{100} \approx 0.6\%$。
# 所以 $\gamma$ 要按总步数来选，训练得越久，$\gamma$ 越要接近 1，否则后半程学习率小到几乎不动。
#
# **验证**：`ExponentialLR(gamma=0.95)` 第 $t$ 步的学习率等于 $0.1 \cdot 0.95^t$，第 99 步是 0.00062321。

# %%
# NBVAL_CHECK_OUTPUT
used = schedules.lr_curve(lambda o: lr_scheduler.ExponentialLR(o, gamma=0.95), 100, lr=0.1)
assert all(math.isclose(used[t], schedules.exponential_lr(t, 0.1, 0.95), rel_tol=1e-9) for t in range(100))
print(f"第 99 步：{used[99]:.8f}，公式 0.1 * 0.95**99 = {0.1 * 0.95 ** 99:.8f}")

# %% [markdown]
# ## 5. 余弦退火：CosineAnnealingLR
#
# 把学习率看成时间的连续函数，沿半个余弦周期从 $\eta_{\max}$（优化器的初始学习率）降到 $\eta_{\min}$：
#
# $$\eta_t = \eta_{\min} + \tfrac12\,(\eta_{\max} - \eta_{\min})\Big(1 + \cos\frac{\pi t}{T_{\max}}\Big)$$
#
# $t = 0$ 时 $\eta_t = \eta_{\max}$，$t = T_{\max}$ 时 $\eta_t = \eta_{\min}$。对 $t$ 求导得 $-\frac{\pi}{2T_{\max}}(\eta_{\max}-\eta_{\min})\sin\frac{\pi t}{T_{\max}}$：两端斜率为 0，中间最陡——"先慢、中间快、最后又慢"。
#
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：余弦退火"退火结束后学习率不再变化"。
# >
# > **正确的说法**：`CosineAnnealingLR` 在 $t > T_{\max}$ 之后**继续沿着余弦走**：学习率又升回去，在 $t = 2T_{\max}$ 时回到 $\eta_{\max}$，周期是 $2T_{\max}$。上面的公式本身也是这样（余弦是周期函数），只是笔记把 $t$ 限制在了 $[0, T_{\max}]$。
# > 想要"降到 $\eta_{\min}$ 后保持不动"，要么在 $T_{\max}$ 步后停止调用 `scheduler.step()`，要么把 $T_{\max}$ 设成总步数，要么用 `LambdaLR`/`SequentialLR` 自己接一段常数。
# >
# > 证据见下一格：笔记示例的设置（`lr=0.01, T_max=100, eta_min=1e-5`）继续调用到第 300 步。

# %%
# NBVAL_CHECK_OUTPUT
used = schedules.lr_curve(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=100, eta_min=1e-5), 301, lr=0.01)
print("t = 0, 25, 50, 75, 100  :", [f"{used[t]:.6f}" for t in (0, 25, 50, 75, 100)])
print("t = 125, 150, 200, 300  :", [f"{used[t]:.6f}" for t in (125, 150, 200, 300)])
assert used[200] > 0.0099 and used[125] > 100 * used[100]
flat = schedules.lr_curve(lambda o: lr_scheduler.LambdaLR(       # 一种保持平稳的写法：t 过了 T_max 就不再变
    o, lambda t: schedules.cosine_lr(min(t, 100), 1.0, 100, 1e-3)), 301, lr=0.01)
print("LambdaLR 截断后 t = 100, 200, 300：", [f"{flat[t]:.6f}" for t in (100, 200, 300)])

# %% [markdown]
# **验证**：公式与 PyTorch 在 $[0, 2T_{\max}]$ 上逐点一致（包括回升的那一段）。

# %%
# NBVAL_CHECK_OUTPUT
show_source(schedules.cosine_lr)
worst = max(abs(used[t] - schedules.cosine_lr(t, 0.01, 100, 1e-5)) for t in range(201))
print(f"0 <= t <= 200 上 |公式 - PyTorch| 的最大值 < 1e-15：{worst < 1e-15}")
assert worst < 1e-15

# %% [markdown]
# ## 6. 调度器浏览器
#
# 面板有两种视图（"view"）。**one schedule**：选一个调度器、调它的参数，蓝线是 `helpers.schedules` 里的公式，红点是真正的 `torch.optim.lr_scheduler` 给出的学习率（总共 200 步，初始学习率 0.1）；"settings" 里只出现这个调度器用到的参数。下方给出公式、PyTorch 的真实签名和两者的最大差值。
# **compare**：勾选任意几种调度器，把它们画在同一张图上，每种一个颜色，图例只列出画出来的那几种；每条曲线都是 PyTorch 调度器的输出（读数里仍给出它和公式的最大差值）。"settings" 里出现所有勾选的调度器用到的参数，名字相同的参数（`T_max`、`eta_min`、`gamma`）同时作用于用到它的每一条曲线。
# 下拉框里除了笔记的四种，还有笔记之外的几种：预热 + 余弦、`OneCycleLR`、带重启的余弦（第 8 节），以及多项式衰减 `PolynomialLR`：$\eta_t = \eta_0\,(1 - \min(t, T)/T)^{p}$，$T$ 是 `total_iters`，$p = 1$ 时就是线性降到 0。
#
# 可以试试（「」里的名字是面板上方"试试："一行里的按钮，点一下就设好这个实验，没提到的控件回到默认值；"↺ 默认"回到开始的设置）：
#
# - 「余弦回升」`CosineAnnealingLR`：把 `T_max` 调到 100 以下（按钮设为 50），看竖虚线之后学习率怎样升回去（第 5 节的勘误）：第 50 步降到 `eta_min`，第 100 步又回到 0.1；
# - 「指数变直线」`ExponentialLR`：勾选 "log y"，指数衰减变成直线；「StepLR 台阶」「MultiStep 台阶」`StepLR` 与 `MultiStepLR`：调 `gamma`，看台阶的高度（按钮设为 0.5：每下一个台阶，学习率减半）；
# - 「预热平移」compare，只勾 `CosineAnnealingLR` 和 `Warm-up + cosine`：两条曲线共用 `T_max` 和 `eta_min`，预热之后的那一段正是余弦曲线向右平移了 warm-up 步数；
# - 「余弦对线性」compare，只勾 `CosineAnnealingLR` 和 `PolynomialLR`，把 `T_max` 和 `total_iters` 都调到 200（`power` 保持 1）：余弦在前 100 步一直高于线性衰减，后 100 步一直低于它，两者在第 100 步相交；
# - 「OneCycle」compare，只勾 `OneCycleLR`：它从 0.1/25 = 0.004 起步，在第 `pct_start`·200 − 1 步（默认第 59 步）到达峰值 0.1，之前一直上升，之后一直下降，最后一步不到 1e-6。

# %%
schedule_explorer_panel()

# %% [markdown]
# **验证**：面板里的每一种调度器，公式与 PyTorch 的调度器在 200 步内逐点一致（用面板的默认参数）；上面每个按钮的说法，设置都从面板的按钮读出：「余弦回升」在第 50 步降到 `eta_min`、之后一直上升、第 100 步回到 0.1；两个台阶按钮里每个台阶是上一个的一半；预热 + 余弦在预热之后等于平移了 10 步的余弦，`T_max = total_iters = 200` 时余弦在第 100 步之前高于线性衰减、之后低于它，`OneCycleLR` 从 0.004 升到第 59 步的 0.1 再降到 1e-6 以下。`helpers.schedules.SCHEDULES` 给每种调度器一条记录：名字、用到的参数和范围、PyTorch 调度器、公式，面板和这一格都从它生成。

# %%
# NBVAL_CHECK_OUTPUT
for name, spec in schedules.SCHEDULES.items():
    theirs = schedules.lr_curve(lambda o: spec.make(o, spec.defaults, 200), 200, lr=0.1)
    gap = max(abs(theirs[t] - spec.formula(t, 0.1, spec.defaults, 200)) for t in range(200))
    print(f"{spec.label:32s} max |formula - torch| < 1e-12：{gap < 1e-12}")
    assert gap < 1e-12

# %%
# what each button shows (each curve is the torch scheduler's lrs, as in the panel)
explorer = schedule_explorer_panel()                    # the panel's states, without showing it


def state_lrs(state: str, key: str) -> list[float]:
    """The lrs the panel draws for schedule ``key`` in the named state."""
    values = explorer.state_values(state)
    return schedules.scheduler_lrs(key, {p.name: values[p.name] for p in schedules.SCHEDULES[key].params}, 200, 0.1)


def ticked(state: str) -> set[str]:
    values = explorer.state_values(state)
    return {key for key in schedules.SCHEDULES if values[f"show_{key}"]}


# %%
rise = explorer.state_values("余弦回升")
up = state_lrs("余弦回升", "cosine")
T = rise["T_max"]
assert rise["schedule"] == "cosine" and T < 100 and abs(up[T] - 0.1 * rise["eta_min"]) < 1e-12 and abs(up[2 * T] - 0.1) < 1e-12
assert all(a < b for a, b in zip(up[T:2 * T], up[T + 1:2 * T + 1]))
for state, key in (("StepLR 台阶", "step"), ("MultiStep 台阶", "multistep")):
    gamma, lrs = explorer.state_values(state)["gamma"], state_lrs(state, key)
    levels = sorted(set(round(v, 15) for v in lrs), reverse=True)
    assert explorer.state_values(state)["schedule"] == key and gamma == 0.5
    assert all(abs(b - gamma * a) < 1e-12 for a, b in zip(levels, levels[1:])), state
assert explorer.state_values("指数变直线")["log_y"] and explorer.state_values("指数变直线")["schedule"] == "exponential"
assert ticked("预热平移") == {"cosine", "warmup_cosine"} and ticked("余弦对线性") == {"cosine", "polynomial"}
warm, cos100 = state_lrs("预热平移", "warmup_cosine"), state_lrs("预热平移", "cosine")
shift = explorer.state_values("预热平移")["warmup"]
assert max(abs(warm[t] - cos100[t - shift]) for t in range(shift, 200)) < 1e-12          # shifted by the warm-up

# %%
poly, c200 = state_lrs("余弦对线性", "polynomial"), state_lrs("余弦对线性", "cosine")
assert explorer.state_values("余弦对线性")["power"] == 1.0
assert all(c200[t] > poly[t] for t in range(1, 100)) and all(c200[t] < poly[t] for t in range(101, 200))
assert abs(c200[100] - poly[100]) < 1e-12
assert ticked("OneCycle") == {"one_cycle"}
one = state_lrs("OneCycle", "one_cycle")
assert abs(one[0] - 0.004) < 1e-12 and one.index(max(one)) == 59 and abs(max(one) - 0.1) < 1e-12
assert all(a < b for a, b in zip(one[:59], one[1:60])) and all(a > b for a, b in zip(one[59:], one[60:])) and one[-1] < 1e-6
print(f"余弦回升: T_max {T}, lr {up[T]:.2g} at step {T}, {up[2 * T]:.2g} at step {2 * T}; steps halve with gamma 0.5; "
      f"warm-up + cosine = the cosine shifted by {shift} steps; cosine above the linear decay before step 100, "
      "below after it; OneCycleLR 0.004 -> 0.1 at step 59 -> < 1e-6")

# %% [markdown]
# ## 7. 按指标衰减：ReduceLROnPlateau
#
# 前面的调度器只看步数，不管模型是不是"还在变好"，所以可能降得太早或太晚。`ReduceLROnPlateau`（笔记里这一节没有编号，按笔记的顺序应是它的第 5 节）换了个思路：监控一个验证指标，当它**一段时间没有刷新最好成绩**时，才把学习率乘以 `factor`。
# 它的签名和默认值（笔记只列了一部分；默认 `patience=10`，不是示例里的 3）：

# %%
# NBVAL_CHECK_OUTPUT
print(inspect.signature(lr_scheduler.ReduceLROnPlateau))

# %% [markdown]
# 规则（`mode='min'`，即指标越小越好）：
#
# 1. 每次调用 `scheduler.step(metric)`，若 metric 比历史最好值 best **好得足够多**就算一次改进，否则坏 epoch 数加 1。默认 `threshold_mode='rel'` 时"足够多"是 $\text{metric} < \text{best}\cdot(1-\text{threshold})$；`'abs'` 时是 $\text{metric} < \text{best} - \text{threshold}$；
# 2. 坏 epoch 数**大于** `patience` 时，学习率变为 $\max(\text{lr}\cdot\text{factor},\ \text{min\_lr})$，坏 epoch 数清零；
# 3. 之后的 `cooldown` 次调用里不计坏 epoch。
#
# 先看笔记的示例：随机数据上的线性模型，`Adam(lr=0.01)`，`patience=3`，训练 30 个 epoch。

# %%
torch.manual_seed(0)
X_b19, y_b19 = torch.randn(100, 3), torch.randn(100, 2)
model = nn.Linear(3, 2)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.1, patience=3, threshold=1e-4, cooldown=0)
val_losses, lrs = [], []
for epoch in range(30):
    optimizer.zero_grad()
    nn.functional.mse_loss(model(X_b19[:80]), y_b19[:80]).backward()
    optimizer.step()
    with torch.no_grad():
        val_losses.append(nn.functional.mse_loss(model(X_b19[80:]), y_b19[80:]).item())
    scheduler.step(val_losses[-1])
    lrs.append(optimizer.param_groups[0]["lr"])
print(f"验证损失 {val_losses[0]:.4f} -> {val_losses[-1]:.4f}，30 个 epoch 里学习率的取值：{sorted(set(lrs))}")

# %% [markdown]
# 验证损失一直在下降，学习率一次也没降（下一格核对）——这个例子演示不出它想演示的东西（笔记的小问题）。要看清规则，下面直接喂给它构造好的指标序列。
#
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：`patience=3  # 连续 3 个 epoch 无改进才降（不支持step）`，`threshold=1e-4  # 判定"是否算改进"的最小幅度`。
# >
# > **正确的说法**：
# >
# > - 坏 epoch 数要**大于** patience 才降：`patience=3` 时是连续第 **4** 个没有改进的调用（一般地，`patience=p` 在连续第 $p+1$ 个坏调用时降）；
# > - 这里的 "epoch" 只是"一次 `scheduler.step(metric)` 调用"，按 epoch、按若干 batch 调用都可以；真正"不支持"的是不带指标调用 `step()`，会报 `TypeError`；
# > - threshold 默认是**相对**的（`threshold_mode='rel'`）：最好值是 1.0 时，要低于 $1.0 \times (1 - 10^{-4}) = 0.9999$ 才算改进，而不是"改进至少 1e-4"；
# > - 其余默认值：`patience=10`、`min_lr=0`、`eps=1e-8`（两次学习率之差小于 eps 时不再降）。
# >
# > 证据见下面两格。

# %%
assert all(b < a for a, b in zip(val_losses, val_losses[1:])) and set(lrs) == {0.01}

# %%
# NBVAL_CHECK_OUTPUT
def torch_plateau(metrics, **settings):
    w = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([w], lr=1.0)
    sched = lr_scheduler.ReduceLROnPlateau(opt, **settings)
    out = []
    for m in metrics:
        sched.step(m)
        out.append(round(opt.param_groups[0]["lr"], 6))
    return out

print("常数指标，patience=3            ：", torch_plateau([1.0] * 10, patience=3))
tiny = [1.0 * (1 - 5e-5) ** k for k in range(6)]              # 每次只相对改进 5e-5
print("相对改进 5e-5，rel 1e-4, patience=1：", torch_plateau(tiny, patience=1))
print("同一序列，abs 1e-6, patience=1     ：", torch_plateau(tiny, patience=1, threshold_mode="abs", threshold=1e-6))

# %%
# NBVAL_CHECK_OUTPUT
try:
    scheduler.step()                                           # 不给指标
except TypeError as error:
    print("ReduceLROnPlateau.step() 不带指标 -> TypeError:", error)
print("默认值：", {k: v.default for k, v in inspect.signature(lr_scheduler.ReduceLROnPlateau).parameters.items()
                  if k in ("patience", "threshold", "threshold_mode", "cooldown", "min_lr", "eps")})

# %% [markdown]
# `helpers.schedules.plateau_trace` 按上面三条规则逐次记录学习率、最好值、坏 epoch 数和冷却状态：

# %%
show_source(schedules.plateau_trace)

# %% [markdown]
# 面板里是一条合成的验证损失：先快速下降，再进入一段缓慢下沉、带噪声的平台。上图灰点是每个 epoch 的验证损失，浅蓝宽带是历史最好值，深绿虚线是"必须低于它才算改进"的门槛（threshold 很小时两者几乎重合，虚线就落在宽带中间），红色竖线是学习率下降的位置；中图是坏 epoch 计数（每次调用之后的值）。点线画在 patience + ½：计数要超过 patience 才降学习率，而降的那一次计数立刻清零，所以橙线最高只到 patience；patience = 0 时每个坏 epoch 都直接降学习率，橙线一直贴着 0，紫色方块是冷却期；下图是学习率（红点是 PyTorch 的 `ReduceLROnPlateau` 给出的值）。
#
# - 调大 threshold：平台上缓慢的下沉不再算改进，第一次下降总体上提前（patience 3、rel 模式：threshold 从 1e-4 调到 0.1，从第 42 次调用提前到第 18 次）。但它不是逐档单调的：best 更新得少了，后面某个值反而可能算作改进，于是 threshold 调大一档，第一次下降有时反而更晚。patience 3 时最多晚 1 次调用，patience 4–6 时可能晚 8 到 21 次；
# - 调大 patience：第一次下降来得更晚（或一样晚）；
# - 加上 cooldown：下降之后的若干次调用不计数，两次下降之间至少隔 cooldown + patience + 1 次调用。
#
# 第7章的早停（early stopping）也有一个 `patience`，但数法差一：`early_stopping_epoch(losses, patience=k)` 在连续第 $k$ 个坏 epoch 就停，而 `ReduceLROnPlateau(patience=p)` 在第 $p+1$ 个才降。所以只要两者判断"改进"的标准相同（早停的 `min_delta` 等于这里 `threshold_mode='abs'` 的 `threshold`，例如都取 0），早停的 `patience=p+1` 与这里的 `patience=p` 就在同一次调用触发（验证格核对）。

# %%
plateau_panel()

# %% [markdown]
# **验证**：常数指标、`patience=3` 时第一次下降在第 5 次调用，之后每 4 次一降；`cooldown=2, patience=0, factor=0.5` 给出 1.0, 0.5, 0.5, 0.5, 0.25, …；`min_lr` 是下限；`mode='max'` 配上升的指标不降；`plateau_trace` 与 PyTorch 一致。
# 在面板的整个控件范围上：threshold 取最大值 0.1 时第一次下降比取 1e-4 时早（每个 patience、两种模式），但 threshold 调大一档有时会推迟第一次下降（patience 3 时最多 1 次调用，patience 4–6 时 8–21 次）；patience 越大第一次下降不早，相邻两次下降至少隔 cooldown + patience + 1 次调用（每个 threshold）；早停 `patience=p+1` 与 `ReduceLROnPlateau(patience=p)`（`threshold=0`）同时触发。

# %%
# NBVAL_CHECK_OUTPUT
const = torch_plateau([1.0] * 14, patience=3)
cuts = [i + 1 for i in range(14) if const[i] < (const[i - 1] if i else 1.0)]
print("常数指标、patience=3：在第", cuts, "次调用时下降")
cooled = torch_plateau([1.0] * 9, patience=0, cooldown=2, factor=0.5)
floored = torch_plateau([1.0] * 12, patience=0, factor=0.1, min_lr=0.005)
rising = torch_plateau([0.1 * k for k in range(10)], patience=0, mode="max")
print("cooldown=2, patience=0：", cooled, "\nmin_lr=0.005：", floored[-3:], "\nmode='max'：", rising[-1])
assert cuts == [5, 9, 13] and cooled[:5] == [1.0, 0.5, 0.5, 0.5, 0.25] and floored[-1] == 0.005 and rising[-1] == 1.0
for metrics, settings in (([1.0] * 14, dict(patience=3)), (tiny, dict(patience=1)), ([1.0] * 9, dict(patience=0, cooldown=2, factor=0.5))):
    assert [round(v, 6) for v in schedules.plateau_lrs(metrics, 1.0, **settings)[0]] == torch_plateau(metrics, **settings)

# %%
series = schedules.plateau_series()                                      # the panel's validation loss
def first_cut(**settings):
    events = schedules.plateau_trace(series, 1.0, factor=0.5, **settings).events
    return events[0] if events else len(series)

thresholds = [10 ** (-4 + 0.25 * k) for k in range(13)]                  # the slider's values
for mode in ("rel", "abs"):
    print(f"{mode}, patience 3: first cut at call", [first_cut(threshold=th, threshold_mode=mode, patience=3) + 1
                                                     for th in thresholds])
    for p in range(16):
        assert first_cut(threshold=0.1, threshold_mode=mode, patience=p) < first_cut(threshold=1e-4, threshold_mode=mode, patience=p)
assert [first_cut(threshold=th, patience=3) + 1 for th in (1e-4, 0.1)] == [42, 18]

# %%
later = {}                                                               # the most one notch of threshold delays it
for mode in ("rel", "abs"):
    for p in range(16):
        by_threshold = [first_cut(threshold=th, threshold_mode=mode, patience=p) for th in thresholds]
        later[mode, p] = max(b - a for a, b in zip(by_threshold, by_threshold[1:]))
assert max(later["rel", 3], later["abs", 3]) == 1 and max(v for (m, p), v in later.items() if p not in (4, 5, 6)) == 1
assert max(later[m, p] for m in ("rel", "abs") for p in (4, 5, 6)) == 21 and min(v for v in later.values() if v > 1) == 8
print("one notch more threshold delays the first cut by at most (calls):", {f"{m} p={p}": v for (m, p), v in later.items() if v})

# %%
for mode in ("rel", "abs"):
    for th in thresholds:
        by_patience = [first_cut(threshold=th, threshold_mode=mode, patience=p) for p in range(16)]
        assert all(b >= a for a, b in zip(by_patience, by_patience[1:]))
        for p in range(16):
            for cooldown in range(11):
                events = schedules.plateau_trace(series, 1.0, factor=0.5, threshold=th, threshold_mode=mode,
                                                 patience=p, cooldown=cooldown).events
                assert all(b - a >= cooldown + p + 1 for a, b in zip(events, events[1:]))
print("patience delays the first cut; cuts are >= cooldown + patience + 1 calls apart (every threshold, patience 0-15, cooldown 0-10)")

# %%
for p in range(6):                                                       # early stopping counts one call fewer
    g = torch.Generator().manual_seed(p)
    noisy = (1 / torch.arange(1.0, 41.0) + 0.05 * torch.randn(40, generator=g)).tolist()
    stop, _ = regularization.early_stopping_epoch(noisy, patience=p + 1)
    cut = next((i for i, lr in enumerate(torch_plateau(noisy, patience=p, threshold=0.0)) if lr < 1.0), len(noisy) - 1)
    assert stop == cut, (p, stop, cut)
print("early stopping with patience p+1 stops at the call where ReduceLROnPlateau(patience=p) cuts, p = 0..5")

# %% [markdown]
# ## 8. 笔记没讲、但实践中常用的
#
# ### 8.1 线性预热（warm-up）+ 余弦：`SequentialLR`
#
# 训练刚开始时，优化器对梯度尺度的估计还不可靠。第5章算过两个例子：
#
# - **RMSProp** 没有偏差修正，第一步 $v_1 = (1-\alpha)g^2$ 很小，每个参数的步长是 $\eta/\sqrt{1-\alpha}$，$\alpha = 0.99$ 时是 $10\eta$；
# - **Adam** 有偏差修正，$\hat m_1 = g$、$\hat v_1 = g^2$，第一步**正好是** $\eta\,g/(|g|+\varepsilon) \approx \pm\eta$：不论梯度大小，每个参数都走满 $\eta$；之后几步的 $\hat v$ 也只由很少几个梯度平均而来。
#
# 大批量训练时开头的梯度也不可靠。常见的对策是**预热**：前 $w$ 步把学习率从一个小值线性升到 $\eta_{\max}$，然后再衰减。下一格用 PyTorch 核对这两个"第一步"：

# %%
g0 = torch.tensor([1e-3, 0.5, 20.0])                           # three very different gradients
first_steps = {}
for name, make in {"Adam": lambda ps: torch.optim.Adam(ps, lr=0.01),
                   "RMSprop": lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.99)}.items():
    w = torch.zeros(3, requires_grad=True)
    opt = make([w])
    w.grad = g0.clone()
    opt.step()
    first_steps[name] = w.detach().abs()
    print(f"{name:8s} first step |dw| = {first_steps[name].tolist()}")
assert torch.allclose(first_steps["Adam"], 0.01 * g0 / (g0 + 1e-8))                  # = lr * g / (|g| + eps)
assert torch.allclose(first_steps["RMSprop"], 0.01 * g0 / (torch.sqrt(0.01 * g0 ** 2) + 1e-8))
assert torch.allclose(first_steps["Adam"], torch.full((3,), 0.01), rtol=1e-4)          # every parameter moves lr
assert torch.allclose(first_steps["RMSprop"], torch.full((3,), 0.1), rtol=1e-4)        # lr / sqrt(1 - alpha) = 10 lr

# %% [markdown]
# PyTorch 用 `SequentialLR` 把两个调度器首尾相接：前 $w$ 步交给 `LinearLR(start_factor=f, total_iters=w)`，之后交给 `CosineAnnealingLR`：
#
# $$\eta_t = \begin{cases}\eta_{\max}\big(f + (1-f)\,t/w\big), & t < w\\ \eta_{\min} + \frac12(\eta_{\max}-\eta_{\min})\big(1+\cos\frac{\pi (t-w)}{T_{\max}}\big), & t \ge w\end{cases}$$

# %%
# NBVAL_CHECK_OUTPUT
def warmup_then_cosine(optimizer, warmup=10, T_max=90):
    warm = lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=warmup)
    cos = lr_scheduler.CosineAnnealingLR(optimizer, T_max=T_max)
    return lr_scheduler.SequentialLR(optimizer, [warm, cos], milestones=[warmup])

used = schedules.lr_curve(warmup_then_cosine, 100, lr=0.1)
assert all(math.isclose(used[t], schedules.warmup_cosine_lr(t, 0.1, 10, 90, 0.0, 0.1), abs_tol=1e-15) for t in range(100))
print("第 0, 5, 9, 10, 55, 99 步：", [f"{used[t]:.4f}" for t in (0, 5, 9, 10, 55, 99)])

# %% [markdown]
# ### 8.2 OneCycleLR
#
# Smith 提出的"单周期"策略：学习率先从 $\eta_{\max}/d$（默认 $d = 25$）升到 $\eta_{\max}$（占总步数的 `pct_start`，默认 30%），再降到 $\eta_{\max}/(d \cdot d_f)$（默认 $d_f = 10^4$），两段都用余弦插值。
# 它需要事先知道总步数 `total_steps`（或 `epochs` 和 `steps_per_epoch`），按 **batch** 调用；`scheduler.step()` 的调用次数超过 `total_steps` 就报错。它还会**反向调节动量**：学习率高时动量低（默认在 0.95 和 0.85 之间）。

# %%
# NBVAL_CHECK_OUTPUT
w = torch.zeros(1, requires_grad=True)
opt = torch.optim.SGD([w], lr=0.1, momentum=0.9)
sched = lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=100)
seen = []
for t in range(100):
    seen.append((opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"]))
    w.grad = torch.zeros(1)
    opt.step()
    if t < 99:
        sched.step()
assert all(math.isclose(lr, schedules.one_cycle_lr(t, 0.1, 100), rel_tol=1e-9) for t, (lr, _) in enumerate(seen))
assert [round(seen[t][1], 6) for t in (0, 29, 99)] == [0.95, 0.85, 0.95]     # momentum moves against the lr
print("第 0, 29, 99 步 (lr, momentum)：", [(f"{lr:.2e}", round(m, 3)) for lr, m in (seen[0], seen[29], seen[99])])

# %%
sched.step()                                                     # call 100 = total_steps: still allowed
try:
    sched.step()                                                 # call 101
    raise AssertionError("OneCycleLR accepted more than total_steps calls")
except ValueError as err:
    print("call 101 ->", str(err).split(".")[0])

# %% [markdown]
# ### 8.3 带重启的余弦：CosineAnnealingWarmRestarts
#
# 余弦每走完一个周期就**跳回** $\eta_{\max}$ 重新开始，称为**带热重启的随机梯度下降**（SGDR）。周期长度依次是 $T_0, T_0 m, T_0 m^2, \dots$（$m$ 是 `T_mult`）。和第 5 节里"余弦自己慢慢升回去"不同，这里是有意为之的跳变。

# %%
# NBVAL_CHECK_OUTPUT
used = schedules.lr_curve(lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=2), 70, lr=0.1)
assert all(math.isclose(used[t], schedules.warm_restarts_lr(t, 0.1, 10, 2), abs_tol=1e-15) for t in range(70))
restarts = [t for t in range(1, 70) if used[t] > used[t - 1]]
assert restarts == [10, 30] and math.isclose(used[10], 0.1) and math.isclose(used[30], 0.1)
print("学习率跳回 0.1 的步：", restarts, "（周期 10, 20, 40）")

# %% [markdown]
# ### 8.4 学习率范围测试（fastai 的 `lr_find`）
#
# 初始学习率怎么选？Smith（2017）给了一个便宜的办法：从很小的学习率开始训练，每一步把学习率乘一个固定倍数（指数增长），记录每个 batch 的损失，直到损失爆炸。
# 画出损失对学习率（对数坐标）的曲线：学习率太小时损失几乎不动，合适时快速下降，太大时反弹爆炸。fastai 的 `lr_find` 把这条曲线画出来并给出建议值，常见的选择是"下降最陡的点"或"最低点除以 10"。
#
# `helpers.schedules.lr_range_test` 做的就是这件事：在训练集上走一遍（批大小 8，共 168 步），学习率从 $10^{-4}$ 指数增长到 10，平滑后的损失超过最低值的 4 倍就提前停下，结束后把模型和优化器恢复原样。
# 单个 batch 的损失噪声很大，所以先用偏置修正的 EMA（第5章第 3 节，这里 $\beta = 0.9$）平滑，建议值都从平滑曲线上取。模型是手写数字上的小 MLP，优化器是 SGD + 动量 0.9：

# %%
(X_train, y_train), (X_val, y_val) = digits()
def make_mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))

mlp = make_mlp()
probe = torch.optim.SGD(mlp.parameters(), lr=0.01, momentum=0.9)
lrs, losses = schedules.lr_range_test(mlp, (X_train, y_train), nn.CrossEntropyLoss(), probe, lr_min=1e-4,
                                      lr_max=10.0, steps=len(X_train) // 8, batch_size=8)
suggested = schedules.lr_range_suggestions(lrs, losses)
assert len(X_train) // 8 == 168 and len(lrs) <= 168
show(lr_range_figure(lrs, losses, suggested))

# %% [markdown]
# **验证**：用两个建议值训练 5 个 epoch，训练损失都降到 0.3 以下；换成已经过了曲线最低点的学习率（最低点学习率的 3 倍），损失降不下来（5 个 epoch 后仍在 1 以上，起点约 $\ln 10 \approx 2.3$）。

# %%
results = {}
for label, lr in (("steepest", suggested["steepest"]), ("minimum/10", suggested["minimum/10"]),
                  ("3 x minimum", 30 * suggested["minimum/10"])):
    model = make_mlp()
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    h = fit(model, (X_train, y_train), nn.CrossEntropyLoss(), opt, epochs=5, batch_size=32, progress=False)
    results[label] = h.train_loss[-1]
    print(f"{label:12s} lr = {lr:.2g}：5 个 epoch 后训练损失 {h.train_loss[-1]:.3f}")
assert results["steepest"] < 0.3 and results["minimum/10"] < 0.3 and results["3 x minimum"] > 1.0

# %% [markdown]
# ## 9. 调用顺序：先 `optimizer.step()`，再 `scheduler.step()`
#
# 从 PyTorch 1.1 起，调度器在构造时走的那一步算作第 0 步（`last_epoch` 停在 0，优化器里是第 0 步的学习率），之后每调用一次 `scheduler.step()` 就前进一步，所以它应放在 `optimizer.step()` **之后**。顺序反了，第一个学习率还没用就被跳过了，PyTorch 会发出 `UserWarning`：

# %%
def first_lrs(swapped, steps=4):
    w = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1)
    sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    out = []
    for _ in range(steps):
        w.grad = torch.ones(1)
        if swapped:
            sched.step()
        out.append(opt.param_groups[0]["lr"])       # the lr the next optimizer.step() uses
        opt.step()
        if not swapped:
            sched.step()
    return out

# %%
# NBVAL_CHECK_OUTPUT
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    right, wrong = first_lrs(swapped=False), first_lrs(swapped=True)
print("optimizer.step() 在前：", right)
print("scheduler.step() 在前：", wrong)
print("警告：", str(caught[0].message).split(". ")[0])
assert wrong == right[1:] + [right[-1] / 2] and len(caught) == 1

# %% [markdown]
# ## 10. 按 epoch 还是按 batch 调度
#
# `scheduler.step()` 可以每个 epoch 调一次，也可以每个 batch 调一次，调度器只认调用次数。所以 **`T_max`、`step_size` 这些参数的单位要和调用频率一致**。`helpers.training.fit` 用 `scheduler_step="epoch"`（默认）或 `"batch"` 选择。
# 下面在第 1 节的回归任务上训练 10 个 epoch（每个 epoch 16 个 batch），三种设置：

# %%
def cosine_run(T_max, per):
    torch.manual_seed(0)
    model = nn.Linear(8, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=T_max)
    return fit(model, (X, y), nn.MSELoss(), opt, epochs=10, batch_size=16, scheduler=sched, scheduler_step=per,
               progress=False)

cosine_runs = {"per epoch, T_max = 10 epochs": cosine_run(10, "epoch"),
               "per batch, T_max = 160 batches": cosine_run(160, "batch"),
               "per batch, but T_max = 10 (a unit mix-up)": cosine_run(10, "batch")}

# %%
fig, ax = new_figure((6.4, 3.0))
for name, h in cosine_runs.items():
    ax.plot(h.lrs, label=name, lw=1.5)
ax.set(xlabel="optimizer step (batch)", ylabel="lr", title="history.lrs: the lr of every step")
ax.legend(fontsize=8)
show(fig)

# %% [markdown]
# 按 epoch 调度时学习率是台阶状的（同一个 epoch 内不变）；按 batch 调度、`T_max` 以 batch 计时是平滑的余弦；如果按 batch 调用却把 `T_max` 设成 epoch 数，余弦 20 个 batch 就走完一个周期，在整个训练中反复起落（第 5 节说的"升回去"）。
#
# **验证**：前两种在最后一步都降到接近 0；第三种在 160 个 batch 里又回到 0.1 共 7 次（第 20、40、…、140 步）。

# %%
# NBVAL_CHECK_OUTPUT
def returns_to_top(lrs):
    return [t for t in range(1, len(lrs)) if lrs[t] > 0.0999 and lrs[t - 1] < lrs[t]]

for name, h in cosine_runs.items():
    print(f"{name:42s} 最后一步 lr = {h.lrs[-1]:.4f}，中途回到 0.1 的步：{returns_to_top(h.lrs)}")
lrs_epoch, lrs_batch, lrs_wrong = (h.lrs for h in cosine_runs.values())
assert len(set(lrs_epoch[:16])) == 1 and lrs_epoch[-1] < 0.01 and lrs_batch[-1] < 1e-3
assert returns_to_top(lrs_wrong) == list(range(20, 160, 20))

# %% [markdown]
# ## 11. 同一个模型，不同的调度
#
# 最后回到第 1 节的问题。面板里用同一个线性模型、同一份数据、同样的 batch 顺序做 mini-batch SGD（20 个 epoch，320 步），只换学习率调度；调度器按 batch 调用，每种都在第 320 步结束（ReduceLROnPlateau 按 epoch 用全数据损失调用，`factor=0.3, patience=1`）。
# 左边是全数据损失减去最小值（对数坐标），灰线是同样峰值学习率的固定学习率，右边是每一步的学习率。
#
# - 固定学习率越大，损失停得越高，而且涨得比学习率快：峰值学习率从 0.032 升到 0.32（10 倍），固定学习率最后的"损失 − 最小值"涨了 47 到 82 倍（4 个种子），在双对数坐标里斜率约 1.7–1.9，更接近学习率的平方，而不是和学习率成正比。学习率 ≤ 0.01 时还没停到噪声底上：最后 40 步的平均损失仍低于之前 40 步（种子 0），平均来看还在降；
# - 峰值学习率 ≥ 0.056 时，每一种会衰减的调度最后都比固定学习率低得多：每个种子上，差距最小的那种也低 48–100 倍，最好的那种低 1700–3100 倍；
# - 峰值学习率小（≤ 0.01）时正好反过来，固定学习率最好：学习率本来就小，再衰减只会让训练在走到最小值附近之前就慢下来；
# - 两者之间各有输赢：0.018 时，余弦、预热 + 余弦、OneCycleLR、线性衰减（PolynomialLR）和 ReduceLROnPlateau 已经比固定学习率好，StepLR 和 ExponentialLR 还更差；到 0.032，除 ExponentialLR 外都好 10 倍以上，ExponentialLR 和固定学习率不相上下（4 个种子上是它的 0.7–1.7 倍）；
# - 选 ReduceLROnPlateau：它每个 epoch 看一次全数据损失，损失不再下降时才把学习率乘 0.3，右图的台阶出现在哪里由训练本身决定；学习率 ≤ 0.01 时损失一直在降，它一次也不降，和固定学习率完全一样。
#
# 结论：衰减解决的是"学习率大、停在噪声底上"的问题；峰值学习率本身太小时，它帮不上忙。

# %%
schedule_training_panel()

# %% [markdown]
# **验证**：在面板滑块的全部 9 个峰值学习率上、4 个种子（初始权重和 batch 顺序）上训练每一种调度。下表是种子 0（面板用的就是它），最后 40 步的平均"损失 − 最小值"：

# %%
peaks = [round(10 ** (-2.5 + 0.25 * k), 8) for k in range(9)]            # the slider's values
table = {lr: schedules.final_excess(lr) for lr in peaks}
print("peak lr  " + " ".join(f"{name[:11]:>11s}" for name in schedules.TRAINING_SCHEDULES))
for lr, row in table.items():
    print(f"{lr:7.4f}  " + " ".join(f"{v:11.1e}" for v in row.values()))
tables = {0: table} | {seed: {lr: schedules.final_excess(lr, seed) for lr in peaks} for seed in (1, 2, 3)}

# %%
fewest, most = [], []                  # per seed: how many times below the constant lr, at peak lr >= 0.056
for seed, tab in tables.items():
    for lr, row in tab.items():
        decaying = {name: v for name, v in row.items() if name != "constant"}
        if lr >= 0.05:    # every decaying schedule ends far below the constant lr
            assert max(decaying.values()) < row["constant"] / 40, (seed, lr)
        if lr <= 0.01:    # the constant lr is best; ReduceLROnPlateau never cuts, so it equals it
            assert all(v >= row["constant"] * 2 for name, v in decaying.items() if name != "plateau"), (seed, lr)
            assert row["plateau"] == row["constant"], (seed, lr)
    gains = [row["constant"] / v for lr, row in tab.items() if lr >= 0.05 for k, v in row.items() if k != "constant"]
    fewest.append(min(gains)); most.append(max(gains))
print(f"peak lr >= 0.056, seeds 0-3: the closest decaying schedule ends {min(fewest):.0f}-{max(fewest):.0f}x below "
      f"the constant lr, the best one {min(most):.0f}-{max(most):.0f}x")
assert 45 < min(fewest) and max(fewest) < 110 and 1500 < min(most) and max(most) < 3500

# %%
growth, exp_vs_const = [], []
for seed, tab in tables.items():
    high = [lr for lr in peaks if lr >= 0.03]
    floors = [tab[lr]["constant"] for lr in high]
    assert all(b / hi > a / lo > 0 for a, b, lo, hi in zip(floors, floors[1:], high, high[1:])), seed  # faster than the lr
    growth.append(floors[-1] / floors[0])                                # over one decade of lr: 0.032 -> 0.32
    mid, upper = tab[peaks[3]], tab[peaks[4]]                            # peak lr 0.018 and 0.032
    assert mid["step"] > mid["constant"] and mid["exponential"] > mid["constant"], seed
    assert all(mid[k] < mid["constant"] for k in ("cosine", "warmup_cosine", "one_cycle", "polynomial", "plateau")), seed
    assert all(v < upper["constant"] / 10 for k, v in upper.items() if k not in ("constant", "exponential")), seed
    exp_vs_const.append(upper["exponential"] / upper["constant"])
slopes = [math.log10(g) for g in growth]
print(f"constant lr, 0.032 -> 0.32: floor x {min(growth):.0f}-{max(growth):.0f} (log-log slope {min(slopes):.2f}-{max(slopes):.2f}); "
      f"at 0.032 ExponentialLR / constant = {min(exp_vs_const):.2f}-{max(exp_vs_const):.2f}")
assert 40 < min(growth) < max(growth) < 90 and 1.6 < min(slopes) < max(slopes) < 2.0 and 0.6 < min(exp_vs_const) < max(exp_vs_const) < 1.8

# %%
for lr in peaks:                                   # seed 0: at lr <= 0.01 the loss is still falling after 20 epochs
    losses = schedules.train_with_schedule("constant", lr)[1]
    assert (losses[-10:].mean() < losses[-20:-10].mean()) == (lr <= 0.01), lr
    if lr <= 0.01:
        assert set(schedules.train_with_schedule("plateau", lr)[2]) == {lr}   # ReduceLROnPlateau never cut
print("constant lr: the last 40 steps still lower than the 40 before only at lr <= 0.01; there ReduceLROnPlateau never cuts")

# %% [markdown]
# ## 小结
#
# - 固定学习率在"前期快"和"后期稳"之间只能选一头；mini-batch 噪声让大学习率停在更高的噪声底上。
# - StepLR：$\eta_0\gamma^{\lfloor t/s\rfloor}$；MultiStepLR：每过一个里程碑乘 $\gamma$；ExponentialLR：$\eta_0\gamma^t$；CosineAnnealingLR：半个余弦从 $\eta_{\max}$ 到 $\eta_{\min}$，**过了 $T_{\max}$ 会升回去**。
# - $t$ 是 `scheduler.step()` 的调用次数；`get_last_lr()` 是下一步的学习率，记录当前步要在 `scheduler.step()` 之前读 `optimizer.param_groups[0]['lr']`。
# - ReduceLROnPlateau：坏 epoch 数**大于** patience 才降；threshold 默认是相对的；cooldown 期间不计数；`step()` 必须带指标。
# - 预热 + 余弦（`SequentialLR`）、`OneCycleLR`、带重启的余弦和学习率范围测试是笔记之外最常用的工具。
# - `scheduler.step()` 放在 `optimizer.step()` 之后；`T_max`、`step_size` 的单位必须和调用频率（epoch 或 batch）一致。
#
# ## 面试速答
#
# **问：为什么需要学习率衰减？**
# 答：训练初期需要大学习率快速接近好的区域；后期在最优点附近，mini-batch 梯度的噪声让大学习率来回抖动，停在较高的损失上。逐步减小学习率能同时得到前期的速度和后期的精度。
#
# **问：余弦退火比 StepLR 好在哪里？**
# 答：它是连续的，不需要选择在哪些 epoch 降、降多少，只有 $T_{\max}$ 和 $\eta_{\min}$ 两个参数；开头和结尾变化慢、中间快。要注意 PyTorch 的实现过了 $T_{\max}$ 会升回去，所以 $T_{\max}$ 通常设为总步数。
#
# **问：ReduceLROnPlateau 的 patience=3 是什么意思？**
# 答：连续 4 次调用没有刷新最好成绩（坏 epoch 数 > 3）时把学习率乘以 factor。"刷新"默认按相对阈值判断：新值要低于 best·(1 − threshold)。
#
# **问：什么是学习率预热，为什么要用？**
# 答：前几百或几千步把学习率从很小线性升到目标值。自适应优化器开头的二阶矩估计不准，大批量训练开头的梯度也不稳，直接用大学习率容易发散；预热让它们先"站稳"。
#
# **问：怎样选初始学习率？**
# 答：做学习率范围测试：学习率指数增长地训练一小段，画损失对学习率的曲线，取下降最陡处或最低点的十分之一附近，再用验证集微调。
#
# ## 练习
#
# **练习 1**：不用 PyTorch 的调度器，写 `warmup_cosine(t)`：初始学习率 0.1，前 10 步从 $0.1 \times 0.1$ 线性升到 0.1（即 `LinearLR(start_factor=0.1, total_iters=10)`），之后是 `T_max=90`、`eta_min=0` 的余弦。检查器会与 `SequentialLR` 比较 $t = 0..99$。

# %%
warmup_cosine = None  # 在这里写你的函数：def warmup_cosine(t): ...
exercises.check_warmup_cosine(warmup_cosine)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# ```python
# def warmup_cosine(t):
#     if t < 10:
#         return 0.1 * (0.1 + 0.9 * t / 10)
#     return 0.5 * 0.1 * (1 + math.cos(math.pi * (t - 10) / 90))
#
# exercises.check_warmup_cosine(warmup_cosine)
# ```
#
# </details>
#
# **练习 2**：`ReduceLROnPlateau(optimizer, patience=2)`（其余参数取默认值）依次收到下面这些验证损失。第几次调用 `scheduler.step(loss)` 时学习率第一次下降？（从 1 开始数，给一个整数。）

# %%
print(exercises.PLATEAU_LOSSES)
answer = None  # 在这里写你的答案（一个整数）
exercises.check_plateau_first_cut(answer)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# 默认 `threshold=1e-4, threshold_mode='rel'`。第 1 次调用后 best = 1.0，之后要低于 $1.0 \times (1 - 10^{-4}) = 0.9999$ 才算改进。0.99997、0.99994、0.99991 都不够，第 2、3、4 次调用是连续 3 个坏 epoch，$3 > 2$，第 4 次调用时下降。
#
# ```python
# answer = 4
# exercises.check_plateau_first_cut(answer)
# ```
#
# </details>
#
# **练习 3**：笔记的 StepLR 示例（`lr=0.1`、`StepLR(step_size=30, gamma=0.1)`，每步先 `optimizer.step()` 再 `scheduler.step()`，然后打印 `get_last_lr()[0]`）。第 29 步（从 0 数）的 `optimizer.step()` 实际用的学习率是多少？那一行打印出来的又是多少？把二元组 `(实际使用, 打印出来)` 赋给 `answer`。

# %%
answer = None  # 在这里写你的答案：(used, printed)
exercises.check_get_last_lr(answer)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# 第 $k$ 步用的是调用了 $k$ 次 `scheduler.step()` 之后的学习率：第 29 步是 $0.1 \cdot 0.1^{\lfloor 29/30 \rfloor} = 0.1$。打印发生在第 30 次 `scheduler.step()` 之后，`get_last_lr()` 已经是 $0.1 \cdot 0.1^{1} = 0.01$。
#
# ```python
# answer = (0.1, 0.01)
# exercises.check_get_last_lr(answer)
# ```
#
# </details>
#
# [← 第5章 梯度下降优化算法](05_optimizers.ipynb) · [第7章 正则化 →](07_regularization.ipynb)
