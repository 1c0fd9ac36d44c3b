# %% [markdown]
# # 第10章 DataLoader：分批、打乱与采样 (DataLoader)
#
# **学习目标**
#
# - 分清 `Dataset`（怎样取第 $i$ 个样本）和 `DataLoader`（怎样成批地遍历它们），知道 DataLoader 是可迭代对象（iterable）而不是迭代器（iterator）
# - 数对 epoch、batch、iteration：`len(loader)` 是每个 epoch 的批次数，最后一批可能不满，所以 epoch 平均损失要按样本数加权
# - 会写自定义 `Dataset`、会用 `collate_fn` 把长度不同的序列补齐成一批
# - 会用采样器处理类别不平衡（`WeightedRandomSampler`），用 `generator=` 得到可复现的打乱顺序，并理解批大小与梯度噪声的关系
#
# **预计用时**：60–75 分钟
#
# **先修**：第5章 优化器（epoch、batch、iteration 与 SGD）、第7章 正则化（`model.train()` / `model.eval()`、BN）、第9章 RNN（变长序列的补齐）

# %%
import inspect

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import (BatchSampler, DataLoader, Dataset, IterableDataset, RandomSampler, SequentialSampler,
                              TensorDataset, WeightedRandomSampler)

from helpers import dataloader, show_source
from helpers.data import digits
from helpers.exercises import dataloader as exercises
from helpers.dataloader import line_data
from helpers.panels.dataloader import batch_map_panel, batch_noise_panel, imbalance_panel
from helpers.plotting import show
from helpers.training import accuracy, fit, plot_histories

# %% [markdown]
# 前面各章的训练循环里，数据要么整批送进模型，要么由 `fit` 在内部切好。真实项目的数据往往放不进一个张量：图片在磁盘上、句子长短不一、类别严重不平衡。
# PyTorch 把这件事拆成两半：
#
# - **`Dataset`** 只回答一个问题："第 $i$ 个样本是什么？"（以及一共有多少个）；
# - **`DataLoader`** 负责其余的一切：按什么顺序取下标（采样器，sampler）、几个下标一组（批，batch）、怎样把一组样本拼成张量（`collate_fn`），要不要用子进程并行读取（`num_workers`）。
#
# 本章先按笔记的顺序把 DataLoader 的用法和那段训练循环讲对，然后补上笔记没有的部分：自定义 Dataset、`collate_fn`、采样器、可复现的打乱、批大小与梯度噪声。

# %% [markdown]
# ## 1. DataLoader 是可迭代对象
#
# `DataLoader(dataset, batch_size=B)` 把 $N$ 个样本分成若干批，每次迭代给出一批：一个形状为 $(B, \dots)$ 的输入张量和对应的标签张量。
# 最简单的 Dataset 是 `TensorDataset`：把几个第 0 维长度相同的张量"按行"配对。

# %%
torch.manual_seed(42)
X, y = torch.randn(1000, 3), torch.randn(1000, 2)
dataset = TensorDataset(X, y)
print("len(dataset):", len(dataset), "| dataset[0]:", [tuple(t.shape) for t in dataset[0]])
loader = DataLoader(dataset, batch_size=32, shuffle=True)
xb, yb = next(iter(loader))
print("one batch:", tuple(xb.shape), tuple(yb.shape))

# %% [markdown]
# > **⚠ 笔记勘误：迭代器还是可迭代对象**
# >
# > **笔记的写法**：DataLoader 是 PyTorch 里用来分批、打乱、并行读取数据的"迭代器"。
# >
# > **正确的说法**：它是**可迭代对象**（iterable），不是迭代器（iterator）。`for batch in loader` 每次开始都会调用 `iter(loader)` 新建一个迭代器，所以同一个 loader 可以反复遍历，每个 epoch 重新打乱；
# > 直接 `next(loader)` 会报错，要取一批得写 `next(iter(loader))`。
# >
# > 证据见下一格。

# %%
# NBVAL_CHECK_OUTPUT
try:
    next(loader)
except TypeError as err:
    print("next(loader)       -> TypeError:", err)
first, second = iter(loader), iter(loader)
print("iter(loader) twice -> two different iterators:", first is not second)
print("next(iter(loader)) -> shapes", [tuple(t.shape) for t in next(first)])

# %% [markdown]
# ## 2. DataLoader 的参数
#
# 笔记列出了最常用的五个参数。完整的签名在 `dataset` 之后还有十几个，本节末尾的代码格把它们全部打印出来，每个配一句用途。最常用的是这几个：
#
# | 参数 | 作用 |
# |---|---|
# | `batch_size` | 每批的样本数（默认 1） |
# | `shuffle` | 每个 epoch 开始前是否打乱顺序：训练集用 `True`，验证集用 `False` |
# | `sampler` / `batch_sampler` | 自定义"按什么顺序取下标 / 怎样分组"（第 7 节）；与 `shuffle` 互斥 |
# | `collate_fn` | 把一组样本拼成一批的函数（第 6 节） |
# | `drop_last` | 最后一批不满 `batch_size` 时是否丢掉 |
# | `num_workers` | 读数据的子进程数，0 表示在主进程里读（第 9 节） |
# | `generator` | 打乱用的随机数生成器，用来复现顺序（第 8 节） |
#
# > **⚠ 笔记勘误（轻微）：示例跑不起来** 笔记的参数示例先 `from torch.utils.data import DataLoader`，再写 `torch.utils.data.DataLoader(dataset, ...)`：`torch` 没有导入，`dataset` 也没有定义，原样运行是 `NameError`。直接写 `DataLoader(dataset, ...)`，并先定义好 dataset。
#
# > **⚠ 笔记勘误：`shuffle` 的默认值**
# >
# > **笔记的写法**：参数示例里写 `shuffle=False`，当作默认值。
# >
# > **正确的说法**：真实的默认值是 `shuffle=None`，效果与 `False` 相同（按 0, 1, 2, … 的顺序）。这个差别无害，但写自己的封装函数时要知道 `None` 也是合法值。
# >
# > 证据见下一格：签名里的每个参数、它的默认值和用途，以及不同 `shuffle` 下 DataLoader 内部用的采样器。

# %%
signature = {name: p.default for name, p in inspect.signature(DataLoader).parameters.items() if name != "dataset"}
for name, default in signature.items():
    print(f"{name:24s} default {default!r:6}  {dataloader.LOADER_PARAMETERS[name]}")
print(f"{len(signature)} parameters after dataset, all printed above")
assert set(signature) <= set(dataloader.LOADER_PARAMETERS) and signature["shuffle"] is None
samplers = {shuffle: type(DataLoader(dataset, shuffle=shuffle).sampler).__name__ for shuffle in (None, False, True)}
print("sampler per shuffle value:", samplers)
assert samplers[None] == samplers[False] == "SequentialSampler" and samplers[True] == "RandomSampler"

# %% [markdown]
# ## 3. epoch、batch、iteration
#
# - **epoch**：把训练集完整过一遍；
# - **batch**：一次前向/反向传播用的那组样本，`batch_size` 是它的大小 $B$；
# - **iteration**：一次参数更新，也就是处理一个 batch。
#
# 一个 epoch 的迭代次数就是 `len(loader)`：
#
# $$\text{len(loader)} = \left\lceil \frac{N}{B} \right\rceil \quad(\texttt{drop\_last=False}), \qquad \left\lfloor \frac{N}{B} \right\rfloor \quad(\texttt{drop\_last=True})$$
#
# 训练 $E$ 个 epoch 一共更新 $E \cdot \text{len(loader)}$ 次。在一个 epoch 之内，每个样本**恰好出现一次**（`drop_last=True` 时被丢掉的那几个除外）：打乱只是换一个排列，不是有放回地抽样。
# `helpers.dataloader` 把 DataLoader 对下标做的事写了出来：

# %%
show_source(dataloader.batch_indices)

# %% [markdown]
# 面板把这件事画成一张图：横轴是样本编号（共 $N$ 个），每一行是一个 epoch，格子里的数字是这个样本落在第几批（从 0 数起；颜色帮助看出同一批的样本，10 种颜色轮流用），黑色是被 `drop_last` 丢掉的。
# 关掉 `shuffle`，每个 epoch 都是同样的连续分组；打开它，每个 epoch 换一个排列。右边是 `len(loader)` 随批大小的变化，圆圈是当前设置。

# %%
batch_map_panel()

# %% [markdown]
# **验证**：对若干 $(N, B)$，`num_batches` 等于 `len(loader)`；`batch_indices` 与 DataLoader 实际给出的下标相同；打乱时每个 epoch 每个样本恰好出现一次；不打乱时顺序是 $0, 1, 2, \dots$。

# %%
for n, bs in [(1000, 32), (10, 3), (7, 7), (5, 8)]:
    for drop_last in (False, True):
        plain = DataLoader(range(n), batch_size=bs, drop_last=drop_last)
        assert dataloader.num_batches(n, bs, drop_last) == len(plain)
        assert dataloader.batch_indices(n, bs, drop_last=drop_last) == [b.tolist() for b in plain]
    print(f"N={n:4d}, B={bs}: len(loader) = {len(plain)} with drop_last=True, "
          f"{dataloader.num_batches(n, bs)} without")
shuffled = DataLoader(range(1000), batch_size=32, shuffle=True)
for epoch in range(3):
    seen = torch.cat(list(shuffled))
    assert sorted(seen.tolist()) == list(range(1000)) and seen.tolist() != list(range(1000))
assert torch.cat(list(DataLoader(range(1000), batch_size=32))).tolist() == list(range(1000))
print("shuffle=True: every sample exactly once per epoch, in a new order; shuffle=False: 0, 1, 2, ...")

# %% [markdown]
# ## 4. 笔记的训练循环：数对 `len(loader)`，按样本数加权
#
# 笔记的例子：1000 个随机样本，`batch_size=32`、`shuffle=True`，一个 `nn.Linear(3, 2)` 用带动量的 SGD 训练，每 20 步打印一次，每个 epoch 结束时打印平均损失。循环本身写得对，但有一条注释错了：
#
# > **⚠ 笔记勘误：`len(loader)` 是什么**
# >
# > **笔记的写法**：打印 `Step {step}/{len(loader)}` 时注释说 "`len(loader)` 表示一个 batch 里一共几个 batch"。
# >
# > **正确的说法**：`len(loader)` 是**一个 epoch 里的批次数** $\lceil N/B \rceil = \lceil 1000/32 \rceil = 32$（`drop_last=True` 时是 31）。
# > 前 31 批各 32 个样本，最后一批只有 $1000 - 31 \times 32 = 8$ 个——这正是笔记按 `batch_n` 加权求 epoch 平均损失的原因。
# >
# > 证据见下一格。

# %%
# NBVAL_CHECK_OUTPUT
sizes = [len(xb) for xb, _ in loader]
print("len(loader) =", len(loader), "| batches seen =", len(sizes), "| last batch size =", sizes[-1],
      "| total samples =", sum(sizes))
print("drop_last=True: len =", len(DataLoader(dataset, batch_size=32, shuffle=True, drop_last=True)))

# %% [markdown]
# > **⚠ 笔记勘误（轻微）：注释的措辞** 注释"负责按32组样本一组"应为"按 32 个样本一组"。
#
# 下面是改好注释的循环（跑 3 个 epoch）。`loss` 是**这一批的平均**损失，乘以批大小就是这一批的损失总和；一个 epoch 的总和除以样本数，才是每个样本的平均：
#
# $$\bar\ell = \frac{\sum_b n_b\,\ell_b}{\sum_b n_b}$$
#
# 直接对批平均再求平均，等于让最后那批 8 个样本和其它 32 个样本的批次同样重，每个样本的权重就不再相同了。

# %%
model = nn.Linear(3, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
for epoch in range(1, 4):
    model.train()
    loss_sum, seen, batch_losses, batch_sizes = 0.0, 0, [], []
    for step, (xb, yb) in enumerate(loader, start=1):      # one step = one batch = one update
        loss = F.mse_loss(model(xb), yb)                    # the mean over this batch
        optimizer.zero_grad(); loss.backward(); optimizer.step()
        loss_sum += loss.item() * len(xb); seen += len(xb)  # weight each batch by its size
        batch_losses.append(loss.item()); batch_sizes.append(len(xb))
        if step % 20 == 0:
            print(f"epoch {epoch} | step {step}/{len(loader)} (batches per epoch) | batch loss {loss.item():.4f}")
    plain_mean = sum(batch_losses) / len(batch_losses)
    print(f"epoch {epoch} done: mean over {seen} samples {loss_sum / seen:.4f} | plain mean of the "
          f"{len(batch_losses)} batch means {plain_mean:.4f}"); assert abs(loss_sum / seen / plain_mean - 1) < 0.01

# %% [markdown]
# 这一次三个 epoch 里两个数都相差不到 1%，因为 32 批里只有最后一批不满：两种平均只在这一批的权重上不同（加权时是 8/1000，不加权时是 1/32），加权平均减去不加权平均正好是 $\left(\frac{1}{32} - \frac{8}{1000}\right)\times$（其余 31 批的平均损失 − 最后一批的损失）。
# 所以差多少要看最后那 8 个样本碰巧是难是易，是随机的：换随机种子重跑这一格，我们看到的差别在 0.4% 到 2% 之间。批数越少、最后一批越"不满"，它的权重被放大得越多，差别通常也越大。`helpers.dataloader.epoch_mean_loss` 就是上面的加权公式：

# %%
show_source(dataloader.epoch_mean_loss)

# %% [markdown]
# **验证**：上面那个差值的公式对最后一个 epoch 成立；模型固定不动时（不更新参数），不管怎样打乱，按批大小加权的批平均损失都**严格等于**整份数据上的平均损失（下一格试 20 种打乱顺序，每批 96 个，最后一批 40 个）；不加权的平均则随顺序变化，和它不等。
# 训练循环里的 epoch 平均则是"每个样本在被用到的那一刻的损失"的平均，所以只能和 `epoch_mean_loss` 比，不能和训练结束后的全数据损失比。

# %%
K = len(batch_losses)                                               # the last epoch of the loop above
gap = (1 / K - batch_sizes[-1] / seen) * (sum(batch_losses[:-1]) / (K - 1) - batch_losses[-1])
assert abs((loss_sum / seen - plain_mean) - gap) < 1e-9
assert abs(dataloader.epoch_mean_loss(batch_losses, batch_sizes) - loss_sum / seen) < 1e-9
model.eval()
with torch.no_grad():
    full, gaps = F.mse_loss(model(X), y).item(), []
    for s in range(20):
        pieces = [(F.mse_loss(model(xb), yb).item(), len(xb)) for xb, yb in DataLoader(
            dataset, batch_size=96, shuffle=True, generator=torch.Generator().manual_seed(s))]
        assert abs(dataloader.epoch_mean_loss([l for l, _ in pieces], [n for _, n in pieces]) - full) < 1e-6
        gaps.append(abs(sum(l for l, _ in pieces) / len(pieces) / full - 1))
print(f"full data {full:.6f} = weighted mean for all 20 orders | unweighted off by {min(gaps):.2%} to {max(gaps):.2%}")
assert 0 < min(gaps) < max(gaps) / 2 and max(gaps) > 1e-3                 # it changes with the order

# %% [markdown]
# ## 5. 自定义 Dataset：手写数字
#
# `TensorDataset` 只适合数据已经整个放在张量里的情况。自己写一个 map-style 的 Dataset 只要两个方法：`__len__` 返回样本数，`__getitem__(i)` 返回第 $i$ 个样本。
# 数据可以在 `__getitem__` 里**按需**读取或加工——每次只处理一个样本，DataLoader 再把它们拼成批。下面用 scikit-learn 自带的 8×8 手写数字：把图片展平成 64 维向量，并可选地在每次取样时加一点随机噪声（一种最简单的数据增强，data augmentation）。

# %%
class DigitsDataset(Dataset):
    """8x8 digit images as flat 64-vectors, optionally with fresh Gaussian noise at every access."""

    def __init__(self, images, labels, noise=0.0):
        self.images, self.labels, self.noise = images.flatten(1), labels, noise

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        x = self.images[i]
        if self.noise > 0:                                   # a new noise sample every time item i is read
            x = x + self.noise * torch.randn_like(x)
        return x, self.labels[i]

# %%
(X_train, y_train), (X_val, y_val) = digits()
train_set, val_set = DigitsDataset(X_train, y_train, noise=0.05), DigitsDataset(X_val, y_val)
x0, label0 = train_set[0]
print("len:", len(train_set), "| item 0:", tuple(x0.shape), "label", int(label0),
      "| same item read twice equal?", torch.equal(train_set[0][0], train_set[0][0]))
train_loader = DataLoader(train_set, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(0))
xb, yb = next(iter(train_loader))
print("one batch:", tuple(xb.shape), tuple(yb.shape), yb.dtype, "| len(train_loader):", len(train_loader))

# %% [markdown]
# DataLoader 对这个类做的事，就是第 3 节的下标分组，再对每组调用 `collate_fn`：默认的 `default_collate` 把 64 个 `(x, label)` 对沿新的第 0 维堆叠成 `(64, 64)` 和 `(64,)` 两个张量。
#
# ## 6. `collate_fn`：把长度不同的序列拼成一批
#
# 第9章的 RNN 处理的是长短不一的序列。默认的拼法要求同一批里的张量形状相同，碰到变长序列就失败。解决办法是自己给一个 `collate_fn`：在这一批里**补齐**（padding）到最长的那条，并记下每条的原长度。

# %%
torch.manual_seed(0)
sequences = [torch.randint(1, 10, (int(n),)) for n in torch.randint(2, 7, (10,))]
labels = torch.randint(0, 2, (10,))
pairs = list(zip(sequences, labels.tolist()))
print("lengths:", [len(s) for s in sequences])
try:
    next(iter(DataLoader(pairs, batch_size=4)))
except RuntimeError as err:
    print("default collate ->", str(err).splitlines()[0])

# %%
show_source(dataloader.pad_collate)

# %% [markdown]
# **验证**：`pad_collate` 当作 `collate_fn` 用时，每批的 `padded` 与 PyTorch 的 `pad_sequence` 相同，`lengths` 是原长度，标签按原顺序拼好。

# %%
for (padded, lengths), batch_labels in DataLoader(pairs, batch_size=4, collate_fn=dataloader.pad_collate):
    print(f"padded {tuple(padded.shape)}, lengths {lengths.tolist()}, labels {batch_labels.tolist()}")
(padded, lengths), batch_labels = dataloader.pad_collate(pairs[:4])
assert torch.equal(padded, nn.utils.rnn.pad_sequence(sequences[:4], batch_first=True))
assert lengths.tolist() == [len(s) for s in sequences[:4]] and batch_labels.tolist() == labels[:4].tolist()

# %% [markdown]
# ## 7. 采样器：决定"按什么顺序取哪些样本"
#
# DataLoader 内部是两层：**采样器**（sampler）产生一串下标，**批采样器**（batch sampler）把它们每 $B$ 个分成一组。`shuffle` 只是在两种现成的采样器之间选：
#
# - `SequentialSampler`：$0, 1, \dots, N-1$（`shuffle=False`）；
# - `RandomSampler`：每个 epoch 一个新的随机排列（`shuffle=True`）。
#
# 也可以把自己的采样器传给 `sampler=`，这时就不能再设 `shuffle=True`（顺序已经由采样器决定了）。

# %%
g = torch.Generator().manual_seed(0)
print("SequentialSampler:", list(SequentialSampler(range(10))))
print("RandomSampler    :", list(RandomSampler(range(10), generator=g)))
print("BatchSampler     :", list(BatchSampler(SequentialSampler(range(10)), batch_size=4, drop_last=False)))
try:
    DataLoader(range(10), sampler=SequentialSampler(range(10)), shuffle=True)
except ValueError as err:
    print("sampler + shuffle ->", err)

# %% [markdown]
# **类别不平衡**：如果 95% 的样本属于类 0、5% 属于类 1，随机打乱后每批平均只有 1.6 个（32 × 5%）少数类样本，大约五分之一的批一个都没有（$0.95^{32} \approx 0.19$），模型很容易学会"全猜类 0"。
# `WeightedRandomSampler` 按给定的权重**有放回地**抽样。给每个样本权重 $w_i = 1/n_{y_i}$（$n_c$ 是类 $c$ 的样本数），每个类的权重总和都是 1，于是各类被抽到的机会相同：

# %%
show_source(dataloader.balanced_sample_weights)

# %% [markdown]
# 面板里调少数类的比例，开关加权，看一个 epoch（1000 次抽取）里抽到的类别比例和每一批里少数类的占比。注意读数里的"distinct samples"：加权后少数类虽然占了一半，可少数类本身只有那么些样本，比例为 5% 时，500 次抽取只落在 50 个不同的样本上。有放回抽样会大量重复它们（少数类越少，重复得越厉害），这也带来过拟合少数类的风险。

# %%
imbalance_panel()

# %% [markdown]
# **验证**：95 : 5 的数据上，普通打乱抽到的少数类约占 5%，加权采样约占 50%；加权采样会重复抽到同一个少数类样本（平均每个抽到 5 次以上）；普通打乱时，32 个一批，没有少数类的批平均约占 0.18–0.19（20 个种子的平均；单个种子在 0.1–0.3 之间）。

# %%
labels_imb = torch.tensor([0] * 950 + [1] * 50)
weights = dataloader.balanced_sample_weights(labels_imb)
weighted_sampler = WeightedRandomSampler(weights, num_samples=1000, replacement=True,
                                         generator=torch.Generator().manual_seed(0))
drawn = torch.tensor(list(weighted_sampler))
plain_drawn = torch.tensor(list(RandomSampler(range(1000), generator=torch.Generator().manual_seed(0))))
share_w, share_p = labels_imb[drawn].float().mean().item(), labels_imb[plain_drawn].float().mean().item()
distinct = len(set(drawn[labels_imb[drawn] == 1].tolist()))
print(f"plain shuffling: class-1 share {share_p:.3f} | weighted: {share_w:.3f}, "
      f"{int((labels_imb[drawn] == 1).sum())} class-1 draws of only {distinct} distinct samples")
assert abs(share_p - 0.05) < 1e-9 and abs(share_w - 0.5) < 0.05
assert int((labels_imb[drawn] == 1).sum()) > 5 * distinct     # each minority sample is drawn many times

# %%
empty = [(labels_imb[torch.randperm(1000, generator=g)][:992].view(31, 32).sum(1) == 0).float().mean().item()
         for g in [torch.Generator().manual_seed(s) for s in range(20)]]
print(f"plain shuffling, batches of 32: share of batches without class 1 {min(empty):.2f}-{max(empty):.2f} "
      f"over 20 seeds, mean {sum(empty) / 20:.2f} (0.95^32 = {0.95 ** 32:.2f})")
assert abs(sum(empty) / 20 - 0.95 ** 32) < 0.05 and 0.05 < min(empty) and max(empty) < 0.35

# %% [markdown]
# ## 8. 可复现的打乱：`generator=`
#
# `shuffle=True` 的顺序来自随机数。要让别人（或明天的自己）得到同样的批次顺序，给 DataLoader 一个自己的生成器：`DataLoader(..., shuffle=True, generator=torch.Generator().manual_seed(s))`。
# 同样的种子给出同样的顺序，而且与全局随机状态（`torch.manual_seed`）无关。
#
# 有一个容易让人困惑的细节：**同一个种子，DataLoader 的顺序和直接用 `RandomSampler(generator=…)` 得到的顺序不同**。
# 原因是每次 `iter(loader)` 时，DataLoader 先从这个生成器里取走**一个** 64 位整数，作为**子进程**（worker）的基础种子——即使 `num_workers=0` 也照取不误——然后采样器才用同一个生成器生成排列。`helpers.dataloader.loader_order` 先做这一次抽取，就能和 DataLoader 对上：

# %%
show_source(dataloader.loader_order)

# %% [markdown]
# **验证**：同一个种子的两个 DataLoader 顺序相同，改变全局种子（`torch.manual_seed`）也不影响它；它与裸的 `RandomSampler` 不同；先抽掉一个 int64 再排列（`loader_order`）与 DataLoader 相同；`loader_epochs` 连续三个 epoch 都对得上。

# %%
make = lambda: DataLoader(range(12), batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(0))  # noqa: E731
loader_a, loader_b = make(), make()
order_a = [b.tolist() for b in loader_a]
bare = list(BatchSampler(RandomSampler(range(12), generator=torch.Generator().manual_seed(0)), 4, False))
print("DataLoader, seed 0      :", order_a)
print("bare RandomSampler, seed:", bare)
print("loader_order(12, 4, 0)  :", dataloader.loader_order(12, 4, seed=0))
assert order_a == [b.tolist() for b in loader_b] and order_a != bare
torch.manual_seed(123)                                                      # a different global random state
assert [b.tolist() for b in make()] == order_a
assert order_a == dataloader.loader_order(12, 4, seed=0)
three = [[b.tolist() for b in loader_a] for _ in range(2)]                 # epochs 2 and 3 of loader_a
assert [order_a] + three == dataloader.loader_epochs(12, 4, seed=0, epochs=3)

# %% [markdown]
# ## 9. `drop_last`、`num_workers` 与 `IterableDataset`
#
# **`drop_last`**：最后一批很小时，它的梯度噪声大，而且有些层根本处理不了——第7章的 BatchNorm 在训练模式下遇到只有 1 个样本的批次会报错。65 个样本、批大小 32，最后一批恰好 1 个：

# %%
net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))
data65 = TensorDataset(torch.randn(65, 4), torch.randn(65, 1))
failed = {}
for drop_last in (False, True):
    try:
        for xb, yb in DataLoader(data65, batch_size=32, drop_last=drop_last):
            F.mse_loss(net(xb), yb).backward()
        print(f"drop_last={drop_last}: all {len(DataLoader(data65, batch_size=32, drop_last=drop_last))} batches trained")
    except ValueError as err:
        print(f"drop_last={drop_last}: batch of {len(xb)} sample ->", str(err).split(",")[0])
    failed[drop_last] = len(xb) == 1
assert failed == {False: True, True: False}

# %% [markdown]
# **`num_workers`**：大于 0 时，DataLoader 启动这么多个子进程，每个子进程拿到 Dataset 的一份拷贝，并行地执行 `__getitem__` 和 `collate_fn`，主进程只负责训练。
# 当读取或加工数据（解码图片、数据增强）比训练本身慢时，这能明显提速；第 $k$ 个子进程的随机种子是上一节那个基础种子加 $k$。
#
# 本课程的 notebook 一律用 `num_workers=0`：数据都很小，读取不是瓶颈；而在 Windows 和 macOS 上，子进程用 "spawn" 方式启动，需要重新导入并 pickle Dataset，**在 notebook 里定义的类**往往做不到，结果是报错或卡住。
# 在主进程里读数据时，`torch.utils.data.get_worker_info()` 返回 `None`：

# %%
print("worker info in the main process:", torch.utils.data.get_worker_info())

# %% [markdown]
# **`IterableDataset`**：有些数据没有"第 $i$ 个"可言——一个不断产生新样本的流、一个逐行读的大文件。这时写 `__iter__` 而不是 `__getitem__`，DataLoader 按到达顺序把样本攒成批。
# 没有下标，就谈不上采样器：`shuffle=True` 会被拒绝，`len()` 也未必有定义。

# %%
class NoisyLineStream(IterableDataset):
    """An endless-looking stream of (x, 2x - 1 + noise) pairs, stopped after `count` samples."""

    def __init__(self, count, seed=0):
        self.count, self.seed = count, seed

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed)
        for _ in range(self.count):
            x = torch.randn(1, generator=g)
            yield x, 2 * x - 1 + 0.1 * torch.randn(1, generator=g)

# %%
stream = NoisyLineStream(count=20)
print("batch sizes:", [len(xb) for xb, _ in DataLoader(stream, batch_size=8)])
refused = 0
for attempt in (lambda: DataLoader(stream, shuffle=True), lambda: len(stream)):
    try:
        attempt()
    except (ValueError, TypeError) as err:
        print(type(err).__name__, "->", str(err)[:90])
        refused += 1
assert refused == 2

# %% [markdown]
# ## 10. 批大小与梯度噪声
#
# 一批样本的平均梯度 $g_B = \frac1B\sum_{i\in B}\nabla\ell_i$ 是整份数据梯度 $\bar g$ 的无偏估计。设 $N$ 个单样本梯度的**总体方差**（population variance，除以 $N$ 而不是 $N-1$）为 $\sigma^2 = \frac1N\sum_i(\nabla\ell_i - \bar g)^2$，不放回地抽 $B$ 个（一个 epoch 之内正是这样），$g_B$ 的方差是
#
# $$\operatorname{Var}[g_B] = \frac{\sigma^2}{B}\cdot\frac{N - B}{N - 1}$$
#
# 批越小，方向越嘈杂；但同样看一遍数据，小批能更新更多次。下面用最简单的模型说明：200 个点拟合直线 $\hat y = wx + b$，损失是 MSE。
# `helpers.dataloader.linear_sgd_path` 按公式写出小批量 SGD 的每一步，下标顺序取自 DataLoader（`loader_epochs`）：

# %%
show_source(dataloader.linear_sgd_path)

# %% [markdown]
# **验证**：(1) 它与 `nn.Linear(1, 1)` + `torch.optim.SGD` + `DataLoader(shuffle=True, generator=…)` 的训练轨迹相同；(2) 在起点处，各个批梯度的方差符合上面的公式。

# %%
x_line, y_line = line_data()
model = nn.Linear(1, 1, dtype=torch.float64)
with torch.no_grad():
    model.weight.fill_(-1.5); model.bias.fill_(2.5)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
line_loader = DataLoader(TensorDataset(x_line[:, None], y_line[:, None]), batch_size=10, shuffle=True,
                         generator=torch.Generator().manual_seed(0))
for xb, yb in line_loader:
    loss = F.mse_loss(model(xb), yb)
    optimizer.zero_grad(); loss.backward(); optimizer.step()
ours = dataloader.linear_sgd_path(x_line, y_line, dataloader.loader_epochs(200, 10, 0, 1)[0], 0.05, -1.5, 2.5)
print(f"after one epoch: nn.Linear + SGD (w, b) = ({model.weight.item():.6f}, {model.bias.item():.6f}), "
      f"ours = ({ours[-1, 0]:.6f}, {ours[-1, 1]:.6f})")
assert torch.allclose(ours[-1], torch.tensor([model.weight.item(), model.bias.item()], dtype=torch.float64))

# %%
per_sample = 2 * (-1.5 * x_line + 2.5 - y_line) * x_line              # d l_i / dw at the start
for b in (1, 10, 50):
    batch_grads = torch.stack([per_sample[torch.tensor(batch)].mean()
                               for batches in dataloader.loader_epochs(200, b, 1, 1000 // (200 // b) + 1)
                               for batch in batches])
    theory = per_sample.var(unbiased=False) / b * (200 - b) / 199
    print(f"B={b:3d}: variance of the batch gradient {batch_grads.var():.2f}, formula {theory:.2f}")
    assert abs(batch_grads.var() / theory - 1) < 0.15

# %% [markdown]
# 面板比较同一个模型、同样起点、同样学习率下，选定批大小的 SGD（红）和整批梯度下降（蓝）：
#
# - "compare after 3 epochs"：看同样多的数据。批大小 10 每个 epoch 更新 20 次，整批只更新 1 次，所以在默认学习率下小批走得远得多，损失也低得多。这个优势不是无条件的：学习率很大（约 0.2 以上）、批又很小时，噪声会把它吃掉，3 个 epoch 后小批的损失反而可能比整批高；
# - "compare after 60 steps"：看同样多的更新次数。整批的路径光滑地滑向最小值（星号），小批的路径在它周围抖动——那就是梯度噪声；批越小抖得越厉害，到了最小值附近也停不下来，除非降低学习率。学习率很小时，60 步谁都走不到最小值，也就看不出抖动；
# - 学习率大、批又很小时，个别样本的梯度会把参数甩得很远：最大学习率、批大小 1 时，不管哪个种子，路径都会跳出图的范围。

# %%
batch_noise_panel()

# %% [markdown]
# **验证**：(1) 对 5 个种子，学习率 0.05 时，3 个 epoch 后每个小于 200 的批大小的损失都低于整批；最大学习率时批大小 1 的损失反而高于整批；(2) 整批走 60 步后离最小损失不到 0.001，而批大小 1 在第 10 个 epoch 里的损失平均仍高出最小值 0.02 以上（它在最小值附近来回跳，停不下来）；同样走 60 步，最后 20 步的平均损失随批大小从 50 减到 1 一路升高（5 个种子平均），而最小学习率下整批 60 步后离最小值还很远；(3) 最大学习率、批大小 1 时，面板提供的 21 个种子在前 60 步里都会跳出图的范围。

# %%
line_loss = lambda wb: F.mse_loss(wb[0] * x_line + wb[1], y_line).item()
least = torch.linalg.lstsq(torch.stack([x_line, torch.ones_like(x_line)], 1), y_line[:, None]).solution.squeeze()
path = lambda b, epochs, seed, lr=0.05: dataloader.linear_sgd_path(
    x_line, y_line, sum(dataloader.loader_epochs(200, b, seed, epochs), []), lr, -1.5, 2.5)
assert line_loss(path(200, 60, 0)[-1]) - line_loss(least) < 1e-3          # full batch: 60 steps reach the minimum

# %%
for seed in range(5):
    small, full_batch = line_loss(path(10, 3, seed)[-1]), line_loss(path(200, 3, seed)[-1])
    jitter = sum(line_loss(wb) for wb in path(1, 10, seed)[-200:]) / 200 - line_loss(least)   # mean over epoch 10
    big_lr = line_loss(path(1, 3, seed, 10 ** -0.5)[-1]), line_loss(path(200, 3, seed, 10 ** -0.5)[-1])
    print(f"seed {seed}: 3 epochs B=10 {small:.3f} vs B=200 {full_batch:.3f}; B=1 {jitter:.3f} above the minimum on average; "
          f"at lr 0.32 after 3 epochs B=1 {big_lr[0]:.2f} vs B=200 {big_lr[1]:.2f}")
    assert all(line_loss(path(b, 3, seed)[-1]) < full_batch for b in dataloader.BATCH_SIZES[:-1])
    assert jitter > 0.02 and big_lr[0] > big_lr[1]

# %%
steps60 = lambda b, seed, lr=0.05: path(b, -(-60 // (200 // b)), seed, lr)[:61]      # the panel's "60 steps"
sizes60 = (1, 2, 5, 10, 20, 50)
shake = [sum(sum(line_loss(wb) for wb in steps60(b, s)[-20:]) / 20 for s in range(5)) / 5 - line_loss(least)
         for b in sizes60]
print("60 steps, lr 0.05: mean loss above the minimum over steps 41-60 (5 seeds):",
      ", ".join(f"B={b} {v:.4f}" for b, v in zip(sizes60, shake)))
assert all(a > b for a, b in zip(shake, shake[1:]))
assert line_loss(steps60(200, 0, 10 ** -2.5)[-1]) - line_loss(least) > 1    # smallest lr: 60 steps fall short
outside = lambda p: bool(((p[:, 0] < -2) | (p[:, 0] > 3.5) | (p[:, 1] < -2.5) | (p[:, 1] > 3)).any())  # the panel's axes
escaped = sum(outside(steps60(1, s, 10 ** -0.5)) for s in range(21))
print(f"largest lr, batch_size 1: the path leaves the picture within 60 steps for {escaped} of 21 seeds")
assert escaped == 21

# %% [markdown]
# ## 11. 用 `fit` 训练：自定义 Dataset + DataLoader
#
# 最后把第 5 节的 `DigitsDataset` 交给课程共用的 `fit`：训练集的 DataLoader 打乱（带自己的生成器），验证集的不打乱。`fit` 接受 DataLoader 本身，每个 epoch 就遍历它一遍；
# 它报告的 epoch 训练损失正是第 4 节那个按样本数加权的平均。

# %%
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
val_loader = DataLoader(val_set, batch_size=256, shuffle=False)
history = fit(model, train_loader, nn.CrossEntropyLoss(), optimizer, epochs=8, val_data=val_loader,
              metrics={"acc": accuracy}, progress=False)
show(plot_histories({"digits MLP": history}, keys=("train_loss", "val_loss", "val_acc")))

# %% [markdown]
# **验证**：每个 epoch 的更新次数等于 `len(train_loader)`；验证集准确率超过 90%；`fit` 报告的 epoch 训练损失就是最后一个 epoch 各批损失按批大小加权的平均。

# %%
print(f"len(train_loader) = {len(train_loader)}, steps recorded = {len(history.step_loss)} over 8 epochs")
print(f"final train loss {history.train_loss[-1]:.3f}, val loss {history.val_loss[-1]:.3f}, "
      f"val acc {history.metrics['val_acc'][-1]:.3f}")
assert len(history.step_loss) == 8 * len(train_loader)
assert history.metrics["val_acc"][-1] > 0.9
last_epoch = history.step_loss[-len(train_loader):]                  # batch means of the last epoch
sizes_last = [len(b) for b in BatchSampler(range(len(train_set)), 64, False)]
assert abs(dataloader.epoch_mean_loss(last_epoch, sizes_last) - history.train_loss[-1]) < 1e-6

# %% [markdown]
# ## 小结
#
# - `Dataset` 回答"第 $i$ 个样本是什么"（`__len__`、`__getitem__`），或者像 `IterableDataset` 那样按顺序吐出样本；`DataLoader` 是可迭代对象，每次 `iter()` 给出一个新的迭代器。
# - 下标流水线：采样器 → 批采样器（每 $B$ 个一组，`drop_last`）→ 取样本 → `collate_fn` 拼成张量。`shuffle=True/False(None)` 只是在 `RandomSampler` 和 `SequentialSampler` 之间选择。
# - `len(loader)` $= \lceil N/B\rceil$（`drop_last=True` 时 $\lfloor N/B\rfloor$）是每个 epoch 的迭代次数；一个 epoch 内每个样本恰好出现一次；epoch 平均损失要按批大小加权。
# - 变长序列用自定义 `collate_fn` 补齐；类别不平衡用 `WeightedRandomSampler`（有放回，会重复少数类样本）。
# - `generator=` 让打乱可复现；DataLoader 每个 epoch 会先从它取一个 int64 作为子进程的基础种子。notebook 里保持 `num_workers=0`。
# - 批越小，梯度噪声越大（方差 $\frac{\sigma^2}{B}\cdot\frac{N-B}{N-1}$，大约与 $1/B$ 成正比），但同样的数据量下更新次数越多。
#
# ## 面试速答
#
# **问：Dataset 和 DataLoader 各负责什么？**
# 答：Dataset 定义单个样本怎么取（map-style 实现 `__len__` 和 `__getitem__`）；DataLoader 决定顺序（用 sampler）、分组（用 batch_size、batch_sampler、drop_last）、拼接（用 collate_fn）以及是否用多进程读取（用 num_workers）。
#
# **问：`len(loader)` 是什么？一个 epoch 有多少次迭代？**
# 答：每个 epoch 的批次数，$\lceil N/B\rceil$，`drop_last=True` 时为 $\lfloor N/B\rfloor$。每个批次更新一次参数，所以一个 epoch 的迭代次数就是 `len(loader)`，$E$ 个 epoch 共 $E \cdot$ `len(loader)` 次。
#
# **问：为什么 epoch 平均损失要乘以批大小再除以样本总数？**
# 答：`loss` 默认是批内平均。最后一批可能不满，直接平均各批的平均值会让那几个样本的权重过大；乘以批大小得到总和，再除以样本数，才是每个样本同等权重的平均。
#
# **问：类别不平衡时怎么用采样器？**
# 答：`WeightedRandomSampler(weights, num_samples, replacement=True)`，样本权重取所属类别样本数的倒数，使各类被抽到的概率相同；代价是少数类样本被重复使用，需配合数据增强或正则化，也可以改用加权损失。
#
# **问：`num_workers` 设多少？**
# 答：数据读取或预处理是瓶颈时设为 CPU 核数量级，并配 `pin_memory=True`（GPU 训练）；数据很小、在 notebook 里或在 Windows/macOS 上调试时用 0，避免子进程 pickle 失败和额外开销。多进程时注意每个 worker 的随机种子不同。

# %% [markdown]
# ## 练习
#
# **练习 1**：$N = 500$ 个样本，`batch_size=64`。分别求：(a) `drop_last=False` 时的 `len(loader)`；(b) `drop_last=True` 时的 `len(loader)`；(c) `drop_last=False`、训练 3 个 epoch 一共更新多少次参数。把答案写成元组 `(a, b, c)`。

# %%
answer = None  # 在这里写你的答案，例如 (1, 2, 3)
exercises.check_iteration_counts(answer)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# $500 = 7 \times 64 + 52$：默认保留最后 52 个样本的那一批，共 8 批；`drop_last=True` 丢掉它，剩 7 批；3 个 epoch 共 $3 \times 8 = 24$ 次更新。
#
# ```python
# answer = (8, 7, 24)
# exercises.check_iteration_counts(answer)
# ```
#
# </details>
#
# **练习 2**：写一个 map-style 的 `SquaresDataset(Dataset)`：`SquaresDataset(n)` 有 `n` 个样本，第 $i$ 个是 `(torch.tensor([float(i)]), torch.tensor([float(i * i)]))`（两个 `float32` 张量）。检查器会用几个不同的 `n` 来试。

# %%
SquaresDataset = None  # 在这里写你的类：class SquaresDataset(Dataset): ...
exercises.check_squares_dataset(SquaresDataset)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# ```python
# class SquaresDataset(Dataset):
#     def __init__(self, n):
#         self.n = n
#
#     def __len__(self):
#         return self.n
#
#     def __getitem__(self, i):
#         return torch.tensor([float(i)]), torch.tensor([float(i * i)])
#
# exercises.check_squares_dataset(SquaresDataset)
# ```
#
# </details>
#
# **练习 3**：不用 `pad_sequence`（也不用 `pack_sequence` 之类），写一个 `my_collate(batch)`：`batch` 是若干 `(一维整数序列, 整数标签)`，返回 `((padded, lengths), labels)`，其中 `padded` 形状为 (批大小, 最长长度)，短的序列在后面补 0。

# %%
my_collate = None  # 在这里写你的函数：def my_collate(batch): ...
exercises.check_pad_collate(my_collate)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# ```python
# def my_collate(batch):
#     lengths = torch.tensor([len(seq) for seq, _ in batch])
#     padded = torch.zeros(len(batch), int(lengths.max()), dtype=batch[0][0].dtype)
#     for i, (seq, _) in enumerate(batch):
#         padded[i, :len(seq)] = seq
#     return (padded, lengths), torch.tensor([label for _, label in batch])
#
# exercises.check_pad_collate(my_collate)
# ```
#
# </details>
#
# **练习 4**：写一个 `class_weights(labels)`，给每个样本一个权重，使 `WeightedRandomSampler` 抽到每个类别的概率相同，而且同一类里的每个样本被抽到的机会也相同（`labels` 是一维整数张量）。scikit-learn 的 `compute_sample_weight` 和课程自带的函数不算数。

# %%
class_weights = None  # 在这里写你的函数：def class_weights(labels): ...
exercises.check_balanced_weights(class_weights)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# ```python
# def class_weights(labels):
#     counts = torch.bincount(labels)          # samples per class
#     return 1.0 / counts[labels].double()     # each class sums to 1
#
# exercises.check_balanced_weights(class_weights)
# ```
#
# </details>

# %% [markdown]
# [← 第9章 循环神经网络](09_rnn.ipynb)
