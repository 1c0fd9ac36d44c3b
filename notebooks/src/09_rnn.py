# %% [markdown]
# # 第9章 循环神经网络与词嵌入 (RNNs and embeddings)
#
# **学习目标**
#
# - 说清 RNN 的每个符号：隐藏状态 $h_t$、共享的 $W_{ih}, W_{hh}$、两个偏置，并对上 `nn.RNN` 的参数形状、`batch_first`、`output` 与 `h_n`
# - 亲手推导**时间反向传播**（BPTT）：梯度里连乘的是 $\mathrm{diag}(\phi')\,W_{hh}$，由此解释梯度消失与爆炸，并用梯度裁剪对付爆炸
# - 理解词嵌入就是"查表"（等于 one-hot 乘矩阵），掌握 `nn.Embedding` 的 `padding_idx`、`max_norm`、`scale_grad_by_freq`
# - 用 `fit` 在几秒内训练三个小模型：正弦预测、"记住第一个符号"（RNN 对比 LSTM/GRU）、玩具语法上的下一个词预测，并看懂学到的隐藏状态和词向量
#
# **预计用时**：90 分钟
#
# **先修**：第2章 激活函数（tanh）、第4章 损失函数（MSE、交叉熵）、第5章 优化器（Adam）、第8章 卷积神经网络（参数共享的思想）

# %%
import inspect

import torch
import torch.nn as nn
import torch.nn.functional as F

from helpers import data, rnn, show_source
from helpers.exercises import rnn as exercises
from helpers.panels.rnn import (clipping_figure, embedding_space_panel, forecast_figure, gradient_through_time_panel,
                                hidden_state_panel)
from helpers.rnn import NextWordModel, RecallNet, SineForecaster, recall_data, sine_data, word_class, word_data
from helpers.plotting import show
from helpers.training import accuracy, evaluate, fit

# %% [markdown]
# ## 1. 序列数据
#
# 前面几章的模型（MLP、CNN）默认样本之间**相互独立**：训练集里样本的先后不携带任何信息，所以训练时可以（而且应该）打乱顺序。可很多数据的意义就藏在**顺序**里：
#
# - 时间序列（time series）：股价、传感器读数、气温；
# - 语言和语音：一句话里的词、一段音频的采样点。
#
# 对这类数据，"接下来是什么"取决于"之前发生了什么"。本章的第一个例子是一条带噪声的正弦曲线（`helpers.data.noisy_sine`）。
# 用滑动窗口（`sliding_windows`）把它切成样本：每个样本是连续 20 个值，目标是紧接着的下一个值。

# %%
# NBVAL_CHECK_OUTPUT
series = data.noisy_sine()                            # 400 个时间步
x_win, y_win = data.sliding_windows(series, window=20)
print("series", tuple(series.shape), "→ windows X", tuple(x_win.shape), " targets y", tuple(y_win.shape))
print("窗口 0 是 s[0:20]，目标是 s[20]：", torch.equal(x_win[0, :, 0], series[:20]), torch.equal(y_win[0], series[20:21]))

# %% [markdown]
# 一个窗口内部的 20 个值是有先后的。MLP 却把它们当成 20 个互不相干的输入：把 20 个位置按某个固定方式重新排列，再把第一层权重的列按同样方式排列，输出完全相同（只差浮点舍入）。
# 所以用重新排列过的窗口训练 MLP，它能表示的函数完全一样：对 MLP 来说，"哪个值在前"只是输入的编号，结构里没有"先后"。
# RNN 按时间一步步读，同样的 20 个值换个顺序，最后的隐藏状态就不同（第 6 节还会验证这一点）。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
first_layer = nn.Linear(20, 16)                       # an MLP's first layer reads the 20 values of a window
perm = torch.randperm(20)                             # one fixed reordering of the 20 positions
same = torch.allclose(first_layer(x_win[:, :, 0]), x_win[:, perm, 0] @ first_layer.weight[:, perm].T + first_layer.bias,
                      atol=1e-6)
reader = nn.RNN(1, 8, batch_first=True)
differs = not torch.allclose(reader(x_win)[1], reader(x_win[:, perm])[1])
print("MLP: reordered windows + reordered weight columns give the same output:", same)
print("RNN: the same values in another order give another h_T:", differs)
assert same and differs

# %% [markdown]
# ## 2. RNN 的结构
#
# 循环神经网络（recurrent neural network, RNN）按时间一步一步读序列，用一个**隐藏状态**（hidden state）$h_t$ 把读过的内容带到下一步：
#
# - **输入层**：第 $t$ 步的输入 $x_t$；
# - **隐藏层**：把 $x_t$ 和上一步的 $h_{t-1}$ 各做一次线性变换，相加，再过激活函数（通常是 tanh），得到新的 $h_t$；
# - **输出层**：对 $h_t$ 再做一次线性变换（需要时再接激活函数）得到输出。
#
# 关键在于：**每一步用的是同一组权重**。不管序列多长，参数只有一份，就像卷积核在图上各个位置共享一样，这里是在时间上共享。
# 所以 RNN 可以处理任意长度的序列，而当前的输出同时依赖当前输入和过去的所有输入。

# %% [markdown]
# ## 3. 词嵌入
#
# 文本要先变成数字。常见流程：
#
# 1. 用**分词器**（tokenizer）把句子切成**词元**（token）；
# 2. 用词表（vocabulary）把每个词元映射成一个整数 id；
# 3. **嵌入层**（embedding layer）按 id 从一个矩阵 $E \in \mathbb{R}^{V \times d}$ 里取出对应的行，作为这个词的向量。
#
# $V$ 是词表大小，$d$ 是人为选定的向量维度。矩阵 $E$ 是可训练的参数，可以随机初始化，也可以用预训练的词向量初始化。
#
# **one-hot 与嵌入**：one-hot 表示是一个 $V$ 维向量，只有该词的位置是 1。它维度高、稀疏，而且任意两个不同词的 one-hot 向量都正交，表达不出"相似"。
# 嵌入是低维、稠密的向量，可以计算距离和相似度，并且从数据中学出来。两者的关系很简单：**查表就等于 one-hot 乘矩阵**，
#
# $$e = \mathrm{onehot}(i)^\top E = E[i, :]$$
#
# 因为 one-hot 向量只在第 $i$ 位为 1，乘 $E$ 恰好挑出第 $i$ 行。查表省掉了这次大部分是乘 0 的矩阵乘法。
#
# 一批句子的 id 形状是 $(\text{batch}, \text{seq\_len})$，嵌入后是 $(\text{batch}, \text{seq\_len}, d)$：句子数 × 每句的词元数 × 每个词元的维度。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
emb = nn.Embedding(10, 4)                              # V = 10 个词，每个词 d = 4 维
ids = torch.tensor([[1, 2, 4, 5], [4, 3, 2, 9]])       # 2 个句子，每句 4 个词元
out = emb(ids)
print("ids", tuple(ids.shape), "→ embeddings", tuple(out.shape))
print("emb(ids) == weight[ids]:", torch.equal(out, emb.weight[ids]))
print("emb(ids) == one_hot(ids) @ weight:", torch.allclose(out, F.one_hot(ids, 10).float() @ emb.weight))

# %% [markdown]
# `helpers.rnn` 把两种写法都照公式写了一遍（`embedding_lookup` 取行，`one_hot_matmul` 做乘法）：

# %%
show_source(rnn.one_hot_matmul)

# %% [markdown]
# **验证**：查表、one-hot 乘矩阵与 `nn.Embedding` 三者给出同样的结果；默认初始化是标准正态分布 $\mathcal{N}(0, 1)$。

# %%
# NBVAL_CHECK_OUTPUT
looked_up = rnn.embedding_lookup(ids, emb.weight)
multiplied = rnn.one_hot_matmul(ids, emb.weight)
assert torch.equal(looked_up, out) and torch.allclose(multiplied, out)
big = nn.Embedding(10_000, 64)
print(f"查表 == nn.Embedding：True；one-hot 乘矩阵 == nn.Embedding：True；默认初始化 std ≈ {big.weight.std().item():.2f}")
assert abs(big.weight.std().item() - 1.0) < 0.01

# %% [markdown]
# ## 4. RNN 层
#
# 笔记写的隐藏状态更新公式：
#
# $$h_t = \phi\left(\omega_{xh}\, x_t + \omega_{hh}\, h_{t-1} + b_h\right)$$
#
# - $x_t$：第 $t$ 步的输入，维度 $H_{in}$；
# - $h_{t-1}$：上一步的隐藏状态，维度 $H$；$h_0$ 默认全零；
# - $\omega_{xh} \in \mathbb{R}^{H \times H_{in}}$：**输入到隐藏的权重**（input-to-hidden）；
# - $\omega_{hh} \in \mathbb{R}^{H \times H}$：隐藏到隐藏的权重（hidden-to-hidden，也叫循环权重 recurrent weight）；
# - $b_h$：偏置；$\phi$：激活函数，常用 tanh（也可以是 ReLU）；
# - $h_t$：当前隐藏状态，也就是这一层在第 $t$ 步的输出。
#
# PyTorch 的 `nn.RNN` 写法相同，只是把权重叫作 $W_{ih}, W_{hh}$，并且**有两个偏置**（数学上可以合并成一个，参数却存了两份）：
#
# $$h_t = \tanh\left(W_{ih}\, x_t + b_{ih} + W_{hh}\, h_{t-1} + b_{hh}\right)$$
#
# 所以 `nn.RNN(3, 5)` 的参数量是 $5\cdot3 + 5\cdot5 + 5 + 5 = 50$，与序列长度无关。

# %%
# NBVAL_CHECK_OUTPUT
layer = nn.RNN(input_size=3, hidden_size=5, batch_first=True)
for name, p in layer.named_parameters():
    print(f"{name:13s} {tuple(p.shape)}")
print("parameters:", sum(p.numel() for p in layer.parameters()), "=", rnn.rnn_params(3, 5),
      "; nonlinearity:", layer.nonlinearity)
x = torch.randn(2, 4, 3)                               # batch_first=True: (batch, seq_len, H_in)
output, h_n = layer(x)
print("output", tuple(output.shape), "= h_1 ... h_4 of each sequence")
print("h_n   ", tuple(h_n.shape), "= (num_layers, batch, H)")
print("output[:, -1] == h_n[0]:", torch.equal(output[:, -1], h_n[0]))

# %% [markdown]
# 两个返回值的区别常常让人困惑：
#
# - `output`：**每一个时间步**的 $h_t$（多层 RNN 时是最后一层的），形状 $(\text{batch}, L, H)$（`batch_first=True`）或 $(L, \text{batch}, H)$（默认）；
# - `h_n`：**最后一个时间步**的隐藏状态，每层一个，形状总是 $(\text{num\_layers}\times\text{num\_directions}, \text{batch}, H)$，不受 `batch_first` 影响。
#
# 做"整段序列 → 一个结论"（分类、预测下一个值）时通常用 `h_n[-1]`；做"每一步都要输出"（序列标注）时用 `output`。
#
# `helpers.rnn.rnn_forward` 按公式一步一步地循环，每一步都用同一组权重：

# %%
show_source(rnn.rnn_forward)

# %% [markdown]
# **验证**：在 tanh/ReLU、有无偏置、`batch_first` 两种布局下，`rnn_forward` 的 `output` 与 `h_n` 都与 `nn.RNN` 一致。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(1)
worst = 0.0
for nonlinearity in ("tanh", "relu"):
    for bias in (True, False):
        for batch_first in (True, False):
            ref_layer = nn.RNN(3, 5, nonlinearity=nonlinearity, bias=bias, batch_first=batch_first).double()
            xs = torch.randn(2, 6, 3, dtype=torch.float64)
            weights = [p for p in ref_layer.parameters()] + ([] if bias else [None, None])
            mine = rnn.rnn_forward(xs, None, *weights, nonlinearity=nonlinearity, batch_first=batch_first)
            ref = ref_layer(xs)
            worst = max(worst, *((a - b).abs().max().item() for a, b in zip(mine, ref)))
assert worst < 1e-12
print(f"8 种设置下 output 与 h_n 的最大差 < 1e-12：{worst < 1e-12}")

# %% [markdown]
# ## 5. 输出层
#
# 隐藏状态 $h_t$ 之上再接一个线性层 $W_{hy}, b_y$：
#
# - **回归**（预测一个实数，例如下一个值）：$\hat y_t = W_{hy} h_t + b_y$，不加激活，配 `nn.MSELoss`；
# - **多分类**：$\hat y_t = \mathrm{softmax}(W_{hy} h_t + b_y)$ 是各类别的概率；**二分类**：$\hat y_t = \sigma(W_{hy} h_t + b_y)$。
#
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：分类的输出层写成 $\hat y_t = \mathrm{Softmax}(\omega_{hy} h_t + b_y)$，容易让人在模型里加上 softmax 再送进交叉熵损失。
# >
# > **正确的说法**：训练时模型应输出**原始分数（logits）** $W_{hy} h_t + b_y$，`nn.CrossEntropyLoss` 内部自己做 log-softmax；二分类同理用 `nn.BCEWithLogitsLoss`。
# > softmax（或 sigmoid）只在需要概率的时候（推理、展示）才加。先 softmax 再送进交叉熵，损失值是错的，梯度也被压扁。本章第 10 节的下一个词模型就只输出 logits。
# >
# > 证据见下一格（第4章有更完整的讨论）。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
logits = torch.randn(5, 3)
target = torch.tensor([1, 0, 2, 1, 1])
ce = nn.CrossEntropyLoss()
print(f"CE(logits)          = {ce(logits, target):.6f}   ← 正确")
print(f"CE(softmax(logits)) = {ce(torch.softmax(logits, 1), target):.6f}   ← 多做了一次 softmax")
z = torch.tensor([0.3, -1.2, 2.0])
y = torch.tensor([1.0, 0.0, 1.0])
print(f"BCEWithLogits(z)    = {nn.BCEWithLogitsLoss()(z, y):.6f}")
print(f"BCE(sigmoid(z))     = {nn.BCELoss()(torch.sigmoid(z), y):.6f}   ← 同一个值：sigmoid 在损失里面")

# %% [markdown]
# ## 6. RNN 的特点
#
# > **⚠ 笔记勘误（轻微）** 笔记的小节编号从"5. 输出层"直接跳到"7. RNN 的特点"，没有第 6 节。另外，笔记讲梯度问题时写了一句"推导太难了，后略"，那句在"RNN 的局限性"一节（笔记编号 8）的末尾；本章在下面的 7.1 节把这段推导补上。
#
# 1. **参数在时间上共享**：参数量不随序列长度增加；同一个层可以处理长度 5 和长度 500 的序列。
# 2. **对顺序敏感**：同样的一组输入，顺序变了，最终的隐藏状态就变了。
# 3. **有"记忆"**：$h_T$ 依赖 $x_1, \dots, x_T$ 中的每一个，早先的输入通过隐藏状态一路传下来。
#
# **验证**：同一层处理不同长度的序列，参数量不变；把序列倒过来，$h_T$ 变了；$h_T$ 对第一个输入 $x_1$ 的梯度不为零。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(2)
layer = nn.RNN(3, 5, batch_first=True)
params = sum(p.numel() for p in layer.parameters())
for length in (5, 50, 500):
    print(f"length {length:3d}: output {tuple(layer(torch.randn(1, length, 3))[0].shape)}, parameters {params}")
seq = torch.randn(1, 6, 3, requires_grad=True)
h_T = layer(seq)[1]
print("reversing the order changes h_T:", not torch.allclose(h_T, layer(seq.flip(1))[1]))
(grad_x,) = torch.autograd.grad(h_T.sum(), seq)
print(f"||dh_T / dx_1|| = {grad_x[0, 0].norm():.3f} > 0: h_T remembers the first input")
assert params == 50 and grad_x[0, 0].norm() > 0

# %% [markdown]
# ## 7. 局限性与梯度问题
#
# 笔记列出了 RNN 的几个局限：
#
# - 难以学习**长距离依赖**，会梯度消失或爆炸（下面推导）；
# - 展开后网络的"深度"等于序列长度，越往前的步梯度越难传到，收敛慢；
# - $h_t$ 必须等 $h_{t-1}$ 算完，时间方向上**无法并行**，训练慢、GPU 利用率低；
# - 信息一步步衰减，不能有选择地保留或遗忘；
# - 没有门控（gate）和注意力（attention）机制，表达能力有限。
#
# ### 7.1 **时间反向传播**（BPTT）
#
# > **⚠ 笔记勘误（轻微）** "是因为而深层网络里"应为"是因为在深层网络里"。
#
# 笔记在这里写了"推导太难了，后略"。其实只需要链式法则。把 RNN 沿时间展开，记 $z_t = W_{ih} x_t + W_{hh} h_{t-1} + b$，$h_t = \phi(z_t)$，总损失是各步损失之和 $\mathcal{L} = \sum_{t=1}^{T}\mathcal{L}_t$。
#
# **第一步**：$W_{hh}$ 在每一步都被用到，它的梯度是每一步"直接用到它"的贡献之和。第 $t$ 步的损失经由 $h_t$ 回到更早的 $h_k$：
#
# $$\frac{\partial \mathcal{L}}{\partial W_{hh}} = \sum_{t=1}^{T}\sum_{k=1}^{t} \frac{\partial \mathcal{L}_t}{\partial h_t}\;\frac{\partial h_t}{\partial h_k}\;\frac{\partial^{+} h_k}{\partial W_{hh}}$$
#
# 其中 $\partial^{+} h_k / \partial W_{hh}$ 是把 $h_{k-1}$ 当作常数时的"直接"导数。
#
# **第二步**：$h_t$ 对 $h_k$ 的依赖要穿过中间每一步，所以是一串**雅可比矩阵**（Jacobian）的乘积。由 $h_j = \phi(W_{hh} h_{j-1} + \dots)$，每一步的雅可比是
#
# $$\frac{\partial h_j}{\partial h_{j-1}} = \mathrm{diag}\big(\phi'(z_j)\big)\, W_{hh}, \qquad \frac{\partial h_t}{\partial h_k} = \prod_{j=k+1}^{t} \mathrm{diag}\big(\phi'(z_j)\big)\, W_{hh}$$
#
# **第三步**：取范数。矩阵乘积的范数不超过各因子范数的乘积。设 $\gamma = \max|\phi'|$（tanh 为 1），$\sigma_{\max}$ 为 $W_{hh}$ 的最大奇异值：
#
# $$\left\lVert \frac{\partial h_t}{\partial h_k} \right\rVert \le \prod_{j=k+1}^{t} \big\lVert \mathrm{diag}(\phi'(z_j)) \big\rVert\, \lVert W_{hh} \rVert \le \left(\gamma\,\sigma_{\max}\right)^{t-k}$$
#
# - 若 $\gamma\,\sigma_{\max} < 1$，这个因子随距离 $t - k$ **指数衰减**：远处的输入几乎得不到梯度，这就是**梯度消失**；
# - 若 $W_{hh}$ 的谱半径（最大特征值的模）大于 1，而 $\phi'$ 又接近 1，乘积可以**指数增长**，即**梯度爆炸**。
#
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：梯度里含有 $\Pi\,\omega_{hh}$，"因此当权重大于 1 时梯度爆炸，小于 1 时梯度消失"。
# >
# > **正确的说法**：连乘的是**矩阵** $\mathrm{diag}(\phi'(z_j))\,W_{hh}$，不是一个"权重"。要看的是 $W_{hh}$ 的奇异值 / 谱半径，**并且**要把 $\phi'$ 算进去：tanh 的导数 $\le 1$，饱和时远小于 1。
# > 所以 tanh RNN 在 $W_{hh}$ 的尺度恰好为 1 时梯度照样会消失；尺度大于 1 时的爆炸也比纯线性的情形温和得多，因为状态一变大，tanh 就饱和，$\phi'$ 随之变小。
# >
# > 证据见下一格：$H = 32$，$W_{hh} = s \cdot Q$（$Q$ 是随机正交矩阵，所有奇异值都是 $s$），输入为随机噪声，比较 $T = 50$ 步后 $\lVert \partial h_T / \partial h_0 \rVert_2$（谱范数，即最大奇异值）在"只乘 $W_{hh}$"（笔记的说法）和真实 tanh RNN 中的大小。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
H, T = 32, 50
noise = 0.5 * torch.randn(T, H, dtype=torch.float64)
q = rnn.scaled_recurrent_matrix(H, 1.0, seed=0, kind="orthogonal", dtype=torch.float64)
table = {}                                            # s -> (only W_hh, tanh RNN)
for s in (0.9, 1.0, 1.1, 1.5):
    h, states = torch.zeros(H, dtype=torch.float64), []
    for t in range(T):                                  # h_t = tanh(s Q h_{t-1} + u_t)
        states.append(h := torch.tanh(s * q @ h + noise[t]))
    states = torch.stack(states)
    table[s] = tuple(rnn.hidden_jacobian_norms(s * q, states, nonlinearity=kind, norm="spectral")[0].item()
                     for kind in ("linear", "tanh"))
print("   s | only W_hh (notes) | tanh RNN")
print("\n".join(f"{s:4.1f} | {linear:17.2e} | {tanh:.2e}" for s, (linear, tanh) in table.items()))

# %% [markdown]
# 只乘 $W_{hh}$ 时，$s = 1$ 不增不减、$s = 1.5$ 时 $1.5^{50} \approx 6\times10^{8}$；真实的 tanh RNN 在每个 $s$ 下都比它小，$s = 1$ 时已经衰减到约 $10^{-5}$，$s = 1.5$ 时也比线性情形小七个数量级以上。
#
# **验证**：纯乘积的谱范数正好是 $s^{50}$（$Q$ 正交）；tanh RNN 的值在每个 $s$ 下都更小，$s = 1$ 时 $< 10^{-4}$，$s = 1.5$ 时不到线性情形的 $10^{-7}$。

# %%
# NBVAL_CHECK_OUTPUT
assert all(abs(linear / s**T - 1) < 1e-9 and tanh < linear for s, (linear, tanh) in table.items())
assert table[1.0][1] < 1e-4 and table[1.5][1] < table[1.5][0] / 1e7
print("only W_hh: exactly s^50；tanh RNN: smaller for every s, < 1e-4 at s = 1, < 1e-7 of s^50 at s = 1.5")

# %% [markdown]
# 下面的面板就是这张表的连续版（同样 $H = 32$、$W_{hh} = s\cdot Q$，输入是上表那组固定的随机噪声乘以"input strength"；默认设置就是上表的 RNN，数值不同只是因为这里换了范数）：横轴是梯度往回走的步数 $T - t$，纵轴（对数刻度）是 $\lVert\partial h_T/\partial h_t\rVert_F/\sqrt{H}$，
# 即弗罗贝尼乌斯范数（所有元素平方和的平方根）除以 $\sqrt{H}$：$t = T$ 时雅可比是单位矩阵，值为 1；对纯乘积 $(sQ)^{T-t}$ 它正好是 $s^{T-t}$。上面的表用的是谱范数，两者最多差 $\sqrt{H}$ 倍（$\lVert A\rVert_2 \le \lVert A\rVert_F \le \sqrt{H}\,\lVert A\rVert_2$）。灰色虚线是笔记的说法（只乘 $W_{hh}$），橙线是 tanh RNN。
#
# - 把尺度拖过 1：虚线从下降变成上升；橙线却上升得晚得多：默认输入强度 0.5、$T = 50$ 时，尺度到 1.45 橙线的终点仍低于 1，1.5 时才超过 1；输入强度 1 以上时，整个滑块范围内都低于 1；
# - 输入强度调大（0.1 → 0.5 → 1 → 2）：状态更常落进饱和区，$\tanh'$ 更小，$T = 50$ 时橙线的终点在每个尺度下都更低；调到 0 时 $h_t$ 一直是 0、$\tanh' = 1$，橙线与虚线重合；
# - 序列越长，往回传的步数越多，乘的因子越多：默认设置下 $T = 20, 50, 100$ 时橙线的终点一个比一个低。这就是"长距离依赖难学"的来源。

# %%
gradient_through_time_panel()

# %% [markdown]
# **验证**：`hidden_jacobian_norms` 按雅可比连乘算出的 $\lVert\partial h_T/\partial h_0\rVert$ 与 autograd 直接求整个雅可比矩阵的结果一致。

# %%
# NBVAL_CHECK_OUTPUT
w = 1.1 * q
def run(h0):                                           # h_1 ... h_T from h_0, same inputs as above
    h, states = h0, []
    for t in range(T):
        h = torch.tanh(w @ h + noise[t])
        states.append(h)
    return torch.stack(states)
h0 = torch.zeros(H, dtype=torch.float64)
full = torch.autograd.functional.jacobian(lambda h: run(h)[-1], h0)    # dh_T / dh_0, (H, H)
ours = rnn.hidden_jacobian_norms(w, run(h0))[0]
assert torch.allclose(ours, torch.linalg.matrix_norm(full), rtol=1e-10)
spectral = rnn.hidden_jacobian_norms(w, run(h0), norm="spectral")[0]
assert spectral <= ours <= H**0.5 * spectral
print(f"||dh_T/dh_0||_F：连乘 {ours:.6e}，autograd {torch.linalg.matrix_norm(full):.6e}；谱范数 {spectral:.3e}")

# %% [markdown]
# **验证**：面板说明里的每一句，在面板用的同一组 $Q$ 和噪声上（`rnn.gradient_demo`），对滑块上的每个尺度检查。

# %%
# NBVAL_CHECK_OUTPUT
Q, demo_noise = rnn.gradient_demo(32, 100)
def end(s, strength, steps=50):                         # the orange line's end point: ||dh_T/dh_0||_F / sqrt(H)
    return rnn.tanh_rnn_jacobian_norms(s * Q, strength * demo_noise[:steps])[1][0] / 32**0.5
scales = [round(0.5 + 0.05 * i, 2) for i in range(21)]  # the slider: 0.5 ... 1.5
strengths = [round(1.0 + 0.1 * i, 1) for i in range(11)]   # the input-strength slider from 1 up: 1.0 ... 2.0
assert all(end(s, 0.5) < 1 for s in scales if s <= 1.45) and end(1.5, 0.5) > 1
assert all(end(s, a) < 1 for s in scales for a in strengths)
assert all(end(s, 2.0) < end(s, 1.0) < end(s, 0.5) < end(s, 0.1) for s in scales)
assert all(abs(end(s, 0.0) / s**50 - 1) < 1e-9 for s in scales)                  # zero input: the lines coincide
assert end(1.0, 0.5, 100) < end(1.0, 0.5, 50) < end(1.0, 0.5, 20)
print("scale ≤ 1.45 at strength 0.5 (1.5: above 1), any scale at strength ≥ 1: below 1；stronger input → lower；0 input = s^T；longer → lower")

# %% [markdown]
# ### 7.2 梯度裁剪
#
# 梯度爆炸在实践中的标准对策是**梯度裁剪**（gradient clipping）：把所有参数的梯度看成一个长向量 $g$，如果它的长度超过阈值 $c$，就按比例缩短到 $c$，方向不变：
#
# $$g \leftarrow g \cdot \min\left(1,\ \frac{c}{\lVert g \rVert}\right)$$
#
# PyTorch 的 `torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=c)` 在 `backward()` 之后、`optimizer.step()` 之前调用；课程的 `fit(..., clip_grad_norm=c)` 替你做了这一步，并把裁剪**前**的范数记在 `History.grad_norm` 里。

# %%
show_source(rnn.clip_grad_norm)

# %% [markdown]
# 下面故意造一个会爆炸的 RNN：ReLU 激活（它在正半轴的导数恒为 1，不会像 tanh 那样饱和）、$W_{hh}$ 的谱半径初始化为 1.5、窗口长 50，用 SGD（lr 0.01，4 个 epoch）训练正弦预测。一次不裁剪（阈值设成 $10^9$，只为记录范数），一次裁剪到 1；
# 第三次作对照：同一个网络用默认初始化（不会爆炸）、同样的配方，不裁剪：

# %%
x50, y50 = data.sliding_windows(series, window=50)

def clipping_run(seed, clip, radius=1.5, epochs=4):   # ReLU forecaster, SGD lr 0.01; radius None: default init
    torch.manual_seed(seed)
    model = SineForecaster(hidden=16, nonlinearity="relu")
    if radius is not None:
        with torch.no_grad():
            model.rnn.weight_hh_l0.copy_(rnn.scaled_recurrent_matrix(16, radius, seed=0))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    return fit(model, (x50, y50), nn.MSELoss(), optimizer, epochs=epochs, batch_size=32, clip_grad_norm=clip,
               progress=False)

# %%
clip_runs = {"no clipping": clipping_run(0, 1e9), "clip_grad_norm=1.0": clipping_run(0, 1.0),
             "default init, no clipping": clipping_run(0, 1e9, radius=None)}
for label, h in clip_runs.items():
    print(f"{label:26s} final loss {h.train_loss[-1]:.4f}, largest grad norm {max(h.grad_norm):.3g}")
show(clipping_figure(clip_runs))

# %% [markdown]
# 不裁剪时，第一批数据的梯度范数就上万，一步 SGD 把参数推得很远，**第二步**的梯度已经是 NaN，之后全是 NaN，模型报废。
# 裁剪后每一步最多移动 $\text{lr}\times c$，训练不再发散：梯度范数从上万降到最后几步的 10 以下，4 个 epoch 后的训练损失也低于"永远预测 0"的 MSE（约 0.52）。
#
# 裁剪的好处就在这里：一次本来会报废的训练，变回一次正常的训练。它不会让训练比正常的更好：裁剪后的损失和默认初始化那次在同一水平（都在 0.3 与 0.52 之间）。
# 两者都只走了 44 步 SGD（350 个窗口、批大小 32，4 个 epoch），离第 8 节用 Adam 训练 30 个 epoch 的 tanh 模型还差一个数量级以上（第 8 节的验证里比较）：学得好不好，要看模型和训练配方，裁剪管不了。
# 它也治不了"消失"：裁剪只会把过长的梯度缩短，不会把过短的梯度变长；那需要改变结构，比如下面的 LSTM 和 GRU。
#
# 会不会爆炸还取决于其余参数的随机初始化：谱半径同样是 1.5，换几个种子（0–5），只有一部分种子在第一步梯度就上万（个数见下面的验证），其余的根本不炸。上面种子 0 的那次是一个会炸的例子，不是必然结果。
#
# **验证**：种子 0 不裁剪时第 1 步的梯度范数上万、第 2 步起是 NaN；裁剪后全程有限，最后 5 步的梯度范数都小于 10；裁剪后和默认初始化的最终损失都在 0.3 和"预测 0"的 MSE 之间；种子 0–5 里爆炸的是一部分而不是全部，裁剪后的 6 次训练都有限、都低于"预测 0"；我们照公式写的 `clip_grad_norm` 与 `torch.nn.utils.clip_grad_norm_` 的结果相同，裁剪后的范数不超过阈值。

# %%
# NBVAL_CHECK_OUTPUT
wild, tame = (torch.tensor(clip_runs[k].grad_norm) for k in ("no clipping", "clip_grad_norm=1.0"))
predict_zero = (y50 ** 2).mean().item()                # MSE of always answering 0
assert wild[0] > 1e4 and wild[1:].isnan().all() and tame.isfinite().all() and (tame[-5:] < 10).all() and len(tame) == 44
assert all(0.3 < clip_runs[k].train_loss[-1] < predict_zero for k in ("clip_grad_norm=1.0", "default init, no clipping"))
first_epoch = {seed: clipping_run(seed, 1e9, epochs=1) for seed in range(6)}      # unclipped: does it explode?
exploded = [seed for seed, h in first_epoch.items() if h.grad_norm[0] > 1e4]
assert 0 < len(exploded) < 6 and all(torch.isnan(torch.tensor(first_epoch[seed].train_loss[0])) for seed in exploded)
clipped_losses = [clip_runs["clip_grad_norm=1.0"].train_loss[-1]] + [clipping_run(seed, 1.0).train_loss[-1]
                                                                     for seed in range(1, 6)]
assert all(0 < loss < predict_zero for loss in clipped_losses)
print(f"seed 0 — no clipping: ||g|| > 1e4 at step 1, NaN from step 2；clipped: finite, last ||g|| < 10；"
      f"clipped and default init: 0.3 < final loss < {predict_zero:.2f} (predicting 0)")
print(f"seeds 0–5: {len(exploded)} of 6 explode at step 1 (seeds {exploded})；clipped final loss "
      f"{min(clipped_losses):.2f}–{max(clipped_losses):.2f}")

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(3)
net = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 1))
(100 * net(torch.randn(16, 5)).sum()).backward()
clipped, total = rnn.clip_grad_norm([p.grad.clone() for p in net.parameters()], max_norm=1.0)
torch_total = nn.utils.clip_grad_norm_(net.parameters(), max_norm=1.0)
assert abs(total - torch_total.item()) < 1e-3
assert all(torch.allclose(a, p.grad) for a, p in zip(clipped, net.parameters()))
after = torch.sqrt(sum((g ** 2).sum() for g in clipped))
print(f"裁剪前 ||g|| 与 PyTorch 一致：True；裁剪后 ||g|| = {after:.4f} <= 1")

# %% [markdown]
# ### 7.3 LSTM 和 GRU：给记忆开一条"直路"
#
# 笔记把"没有门控"列为 RNN 的局限。长短期记忆网络（LSTM）和门控循环单元（GRU）正是为此设计的。以 LSTM 为例，它另有一条**细胞状态**（cell state）$c_t$：
#
# $$c_t = f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \tanh(c_t)$$
#
# 遗忘门 $f_t$、输入门 $i_t$、输出门 $o_t$ 都是 $(0,1)$ 之间的 sigmoid 输出。关键是 $c_t$ 对 $c_{t-1}$ 的直接偏导 $\partial c_t / \partial c_{t-1} = \mathrm{diag}(f_t)$（门本身也依赖 $h_{t-1}$，那条间接路径另算）：沿着 $c$ 的这条直路往回走，每一步**只乘遗忘门**，不再乘 $W_{hh}$ 和 $\tanh'$。
# 遗忘门接近 1 时，梯度几乎原样传回很远的地方。GRU 用更新门 $z_t$ 做同样的事：$h_t = (1 - z_t)\odot n_t + z_t \odot h_{t-1}$。代价是参数多：LSTM 有 4 组、GRU 有 3 组 RNN 那样的权重。
#
# 一个只考"长期记忆"的任务：序列第一步是一个符号（两种之一，one-hot），之后 39 步全是 0，要求在最后一步说出第一个符号是什么。
# 三种循环层用同样的隐藏维度、优化器和训练步数；LSTM 的遗忘门、GRU 的更新门偏置初始化为 2（常见做法：一开始就"倾向于记住"）。

# %%
x_train, y_train = recall_data(192, length=40, seed=0)
x_val, y_val = recall_data(256, length=40, seed=1)
cells, recall_seeds = ("RNN", "GRU", "LSTM"), range(5)
recall_acc, reach_norm = {c: [] for c in cells}, {c: [] for c in cells}      # one entry per seed
for seed in recall_seeds:
    for cell in cells:
        torch.manual_seed(seed)
        model = RecallNet(cell, tokens=2, hidden=16, gate_bias=2.0)
        x0 = x_val[:64].clone().requires_grad_()
        (reach,) = torch.autograd.grad(model(x0).abs().sum(), x0)   # before training: does x_1 reach the output?
        history = fit(model, (x_train, y_train), nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=1e-2),
                      epochs=10, batch_size=32, val_data=(x_val, y_val), metrics={"acc": accuracy}, progress=False)
        recall_acc[cell].append(history.metrics["val_acc"][-1])
        reach_norm[cell].append(reach[:, 0].norm().item())

# %%
for cell in cells:
    params = sum(p.numel() for p in RecallNet(cell, tokens=2, hidden=16).parameters())
    print(f"{cell:4s} params {params:5d}  gradient reaching x_1 at init {min(reach_norm[cell]):.0e}–"
          f"{max(reach_norm[cell]):.0e}  val acc, seeds 0–4: " + " ".join(f"{a:.2f}" for a in recall_acc[cell]))

# %% [markdown]
# 每种网络用 5 个种子各训练一次。普通 RNN 每次都停在 50% 左右（两个符号，等于瞎猜）：训练开始时从输出回到 $x_1$ 的梯度比门控网络小好几个数量级，它几乎"看不到"第一个输入和答案之间的关系。
# 门控网络一开始就有可观的梯度到达 $x_1$。GRU 每个种子都在 10 个 epoch 内学会了；LSTM 却只在一部分种子上学会，其余的也停在瞎猜，尽管它们开始时到达 $x_1$ 的梯度同样比 RNN 大上千倍。
# 所以门控给了梯度一条到达 $x_1$ 的路，这是学会的前提，却不保证这么短的训练一定学会：这类结果随种子变化很大，要看多个种子，不能只看一次运行。
#
# **验证**：5 个种子上 RNN 都接近随机猜测（< 0.6），GRU 都在 0.9 以上；LSTM 在一部分（不是全部）种子上超过 0.9；每个种子上，训练开始时到达 $x_1$ 的梯度，RNN 都不到两种门控网络的 1/1000。

# %%
# NBVAL_CHECK_OUTPUT
learned = {cell: sum(acc > 0.9 for acc in recall_acc[cell]) for cell in cells}
assert all(acc < 0.6 for acc in recall_acc["RNN"]) and learned["GRU"] == 5 and 0 < learned["LSTM"] < 5
assert all(r < min(g, l) / 1000 for r, g, l in zip(*(reach_norm[c] for c in cells)))
print("seeds above 0.9 (of 5):", learned, "; RNN's gradient at x_1 < 1/1000 of the gated ones' on every seed")

# %% [markdown]
# ## 8. 训练：正弦预测
#
# 回到第 1 节的正弦曲线。模型（`helpers.rnn.SineForecaster`）：一个 `nn.RNN(1, 16)` 读入 20 步的窗口，最后的隐藏状态 $h_{20}$ 经一个线性层给出下一个值（回归，不加激活）。
# 前 280 个窗口训练，其余的做验证（按时间切分，验证集在训练集的"未来"）。

# %%
show_source(SineForecaster)

# %%
series, (x_tr, y_tr), (x_va, y_va) = sine_data(window=20, train_windows=280)
torch.manual_seed(0)
forecaster = SineForecaster(hidden=16)
sine_history = fit(forecaster, (x_tr, y_tr), nn.MSELoss(), torch.optim.Adam(forecaster.parameters(), lr=1e-2),
                   epochs=30, batch_size=32, val_data=(x_va, y_va), progress=False)
naive = F.mse_loss(x_va[:, -1], y_va).item()          # baseline: repeat the last value
print(f"validation MSE {sine_history.val_loss[-1]:.4f}  (repeat-last-value baseline {naive:.4f}, noise variance 0.01)")
show(forecast_figure(forecaster.eval(), series, window=20, train_windows=280))

# %% [markdown]
# 噪声的方差是 $0.1^2 = 0.01$，这是任何模型都消不掉的部分；RNN 的验证误差明显低于"重复上一个值"的基线（不到它的 70%）。
#
# 它是怎么做到的？下面的面板（参照 Karpathy 的 char-RNN 可视化）把 16 个隐藏单元在一个 60 步窗口里的值画成热图（红正蓝负），上面是输入和模型的一步预测。
#
# - 拖动窗口起点：隐藏单元随着正弦周期性地变色，但各有各的相位（不同的单元在不同的时刻达到最大值）；线性输出层正是从这 16 个数里读出下一个值；
# - 换成没见过的输入（周期 20 的正弦、方波、阶跃），看隐藏状态和预测怎样出错：周期 20 的正弦和方波上，一步预测的误差是周期 40 的干净正弦上的十倍以上（看读数里的 MSE）。方波跳变时隐藏状态一下子变化很大（相邻两步的平均变化明显大于正弦输入时），
#   但没有单元进入饱和：五种输入下 $|h|$ 都小于 0.95，读数里的饱和比例都是 0%。

# %%
hidden_state_panel(forecaster)

# %% [markdown]
# **验证**：RNN 的验证误差不到"重复上一个值"基线的 70%，且不到噪声方差的 3 倍；在干净的正弦上，至少 12 个单元几乎就是一条同周期的正弦（拟合的 $R^2 > 0.9$），它们的相位并不一致（有的相差 90° 以上）；周期 20 的正弦和方波上一步预测的 MSE 是干净正弦上的 10 倍以上；
# 五种输入下 $|h| < 0.95$，面板上任何一个窗口起点也是如此（面板每个窗口从 $h_0 = 0$ 重新读）；方波时相邻两步隐藏状态的最大平均变化是带噪正弦时的 1.5 倍以上；7.2 节裁剪后和默认初始化的 ReLU 网络，最终训练损失都是这个 tanh 模型的 10 倍以上。

# %%
# NBVAL_CHECK_OUTPUT
assert (val_mse := evaluate(forecaster, (x_va, y_va), nn.MSELoss())) < 0.7 * naive and val_mse < 0.03
with torch.no_grad():                                  # windows: every window start of the panel, read from h_0 = 0
    states = {name: forecaster.rnn(sig.reshape(1, -1, 1))[0][0] for name, sig in rnn.probe_signals().items()}
    windows = {n: forecaster.rnn(sig.unfold(0, 60, 1)[:340, :, None])[0] for n, sig in rnn.probe_signals().items()}
    one_step = {name: ((forecaster.head(h)[:-1, 0] - sig[1:]) ** 2).mean().item()
                for (name, h), sig in zip(states.items(), rnn.probe_signals().values())}
jump = {name: (h[1:] - h[:-1]).abs().mean(1).max().item() for name, h in states.items()}
assert min(one_step["clean sine, period 20"], one_step["square wave, period 40"]) > 10 * one_step["clean sine, period 40"]
assert all(h.abs().max() < 0.95 for h in states.values()) and all(h.abs().max() < 0.95 for h in windows.values())
assert jump["square wave, period 40"] > 1.5 * jump["noisy sine (training data)"]
assert all(clip_runs[k].train_loss[-1] > 10 * sine_history.train_loss[-1] for k in list(clip_runs)[1:])  # 7.2's
print("validation MSE < 0.7 × baseline, < 0.03；period-20 sine, square wave: one-step MSE > 10 × the clean sine's；"
      "|h| < 0.95 for every input and every panel window；square-wave jumps > 1.5 × sine's；"
      "7.2's ReLU nets (clipped, default init): loss > 10 × this model's")

# %%
# NBVAL_CHECK_OUTPUT
t = torch.arange(100, 400, dtype=torch.float64)           # after a warm-up: h_t against sin / cos of period 40
basis = torch.stack([torch.sin(2 * torch.pi * t / 40), torch.cos(2 * torch.pi * t / 40), torch.ones_like(t)], 1)
units = states["clean sine, period 40"][100:].double()
coef = torch.linalg.lstsq(basis, units).solution
r2 = 1 - ((units - basis @ coef) ** 2).sum(0) / ((units - units.mean(0)) ** 2).sum(0)
phase = torch.atan2(coef[1], coef[0])[r2 > 0.9]
assert (r2 > 0.9).sum() >= 12 and (phase[:, None] - phase[None, :]).cos().min() < 0     # some pairs > 90° apart
print("clean sine, period 40: at least 12 of 16 units are period-40 sines (R² > 0.9), some of them > 90° out of phase")

# %% [markdown]
# ## 9. 词嵌入层 `nn.Embedding`
#
# 真实签名（笔记列出的参数和默认值都对，后面还有 `_weight`、`_freeze`、`device`、`dtype`）：

# %%
print(inspect.signature(nn.Embedding))

# %% [markdown]
# - `num_embeddings`：词表大小 $V$；`embedding_dim`：向量维度 $d$；
# - `padding_idx`：一批句子长短不一，要用一个"填充"id（通常是 0）补齐到同样长度；
# - `max_norm`、`norm_type`：把向量的 $L_p$ 范数限制在 `max_norm` 以内（`norm_type=2.0` 即 L2）；
# - `scale_grad_by_freq`：是否按 id 在本批中出现的次数缩放梯度；
# - `sparse`：为 True 时权重的梯度是稀疏张量，只含本批出现过的行（大词表时省内存，需要支持稀疏梯度的优化器，如 `SparseAdam`）。
#
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：`padding_idx` 只说"通常用 idx = 0 填充"；`max_norm` 只说是"词向量的长度最大值"。
# >
# > **正确的说法**：`padding_idx` 的关键语义是：这一行**初始化为全 0**，并且**梯度恒为 0、永远不会被更新**，所以填充位置不影响训练。
# > `max_norm` 不是一个约束公式，而是在**前向计算时原地修改权重**：本次查到的行若范数超过 `max_norm`，就被缩放到 `max_norm`（没被查到的行不动）。
# >
# > 证据见下一格。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
emb = nn.Embedding(10, 4, padding_idx=0)
print("padding row at init:", emb.weight[0].tolist())
emb(torch.tensor([[0, 3, 3, 0]])).sum().backward()
print("grad of the padding row:", emb.weight.grad[0].tolist(), "; grad of row 3:", emb.weight.grad[3].tolist())
limited = nn.Embedding(10, 4, max_norm=1.0)
before = limited.weight[5].norm().item()
limited(torch.tensor([5]))                             # a forward pass only
print(f"max_norm=1.0: row 5 norm before {before:.3f}, after one forward {limited.weight[5].norm().item():.3f}")
manual = limited.weight.detach().clone()

# %% [markdown]
# > **⚠ 笔记勘误（轻微）**
# >
# > **笔记的写法**：`scale_grad_by_freq` 为"False 表示高频词更新次数更多，True 表示按频次来缩放梯度"，并说 Adam 能解决高频词问题，所以选 False 即可。
# >
# > **正确的说法**：False 时，一个 id 在同一批里出现 $k$ 次，它那一行的梯度就是 $k$ 次的**累加**；True 时除以 $k$（按批内出现次数缩放，而不是全局词频）。
# > "Adam 能解决"只是经验之谈，不是这个选项的含义。证据见下一格：id 2 出现 2 次、id 0 出现 4 次。

# %%
# NBVAL_CHECK_OUTPUT
ids = torch.tensor([2, 2, 0, 0, 0, 0, 7])
for scale in (False, True):
    e = nn.Embedding(10, 3, scale_grad_by_freq=scale)
    e(ids).sum().backward()
    grad = e.weight.grad
    print(f"scale_grad_by_freq={scale!s:5s}: row 2 {grad[2].tolist()}, row 0 {grad[0].tolist()}, row 7 {grad[7].tolist()}")
sparse = nn.Embedding(10, 3, sparse=True)
sparse(ids).sum().backward()
print("sparse=True: gradient layout", sparse.weight.grad.layout)

# %% [markdown]
# **验证**：`helpers.rnn.embedding_lookup` 复现了 `padding_idx` 与 `scale_grad_by_freq` 的梯度规则；`embedding_renorm` 复现了 `max_norm` 对权重的原地修改。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(4)
ids = torch.tensor([[1, 2, 2, 0], [3, 2, 0, 0]])
for kwargs in (dict(padding_idx=0), dict(scale_grad_by_freq=True), dict(padding_idx=0, scale_grad_by_freq=True)):
    layer = nn.Embedding(5, 3, **kwargs)
    weight = layer.weight.detach().clone().requires_grad_()
    (layer(ids) ** 2).sum().backward()
    (rnn.embedding_lookup(ids, weight, **kwargs) ** 2).sum().backward()
    assert torch.allclose(weight.grad, layer.weight.grad), kwargs
torch.manual_seed(0)
reference = nn.Embedding(10, 4, max_norm=1.0)
mine = rnn.embedding_renorm(reference.weight.detach().clone(), torch.tensor([5, 1]), max_norm=1.0)
reference(torch.tensor([5, 1]))
assert torch.allclose(mine, reference.weight.detach())
print("padding_idx / scale_grad_by_freq 的梯度、max_norm 的原地缩放：都与 nn.Embedding 一致")

# %% [markdown]
# ## 10. 训练：下一个词预测与学到的词向量
#
# 语料来自一个小的玩具语法（`helpers.data.toy_corpus`）：比如 "the small cat eats the bread"、"the farmer drives the truck to the market"。
# 同一类的词（动物、食物、交通工具……）在句子里可以互换，也就是**用法相同**。每个训练样本是前 3 个词的 id（句首不足时用 `<pad>` = 0 补齐），目标是下一个词的 id。
#
# 模型（`NextWordModel`）：`nn.Embedding(V, 16, padding_idx=0)` → `nn.RNN(16, 32)` → 线性层输出 $V$ 个 logits（见第 5 节的勘误：不加 softmax）。
# 嵌入矩阵用较小的标准差 0.1 初始化（默认是 1）：训练只有 8 个 epoch，词向量被推动的距离有限；初始的随机部分小，学到的结构才不会被它淹没（本节最后的验证把它和默认初始化比较）。

# %%
word_to_id, id_to_word, (w_train, t_train), (w_val, t_val) = word_data(sentences=2000, context=3)
print(f"vocabulary {len(id_to_word)} words; {len(t_train)} training pairs, {len(t_val)} validation pairs")
print("example:", [id_to_word[i] for i in w_train[5].tolist()], "→", id_to_word[t_train[5]])
torch.manual_seed(0)
word_model = NextWordModel(len(id_to_word), dim=16, hidden=32)
optimizer = torch.optim.Adam(word_model.parameters(), lr=1e-2)
word_history = fit(word_model, (w_train, t_train), nn.CrossEntropyLoss(), optimizer, epochs=8, batch_size=128,
                   val_data=(w_val, t_val), metrics={"acc": accuracy}, progress=False)
with torch.no_grad():
    predicted = word_model(w_val).argmax(1)
pairs = zip(predicted.tolist(), t_val.tolist())
same_class = sum(word_class(id_to_word[p]) == word_class(id_to_word[t]) for p, t in pairs) / len(t_val)
print(f"validation accuracy {word_history.metrics['val_acc'][-1]:.3f}; right class of word {same_class:.3f}")

# %% [markdown]
# 准确率只有一半左右并不奇怪：语法允许同一类里的任何词出现（比如 "the big" 后面可以是 4 种人、4 种动物里的任何一个），下一个词本来就猜不准。
# 能猜准多少有一个上限：对每一种"前 3 个词"，都猜验证集里它后面最常出现的答案，这是只看前 3 个词的规则在验证集上能做到的最好（`rnn.best_possible_accuracy`）。
# 下一格算出：猜具体的词，上限约 0.57；猜**词的类别**，上限约 0.81。模型的两项都不超过上限，猜类别的比例离上限只差几个百分点，接近只看 3 个词所能做到的最好：它学到了语法结构。

# %%
classes = [word_class(id_to_word[t]) for t in t_val.tolist()]
word_ceiling, class_ceiling = rnn.best_possible_accuracy(w_val, t_val.tolist()), rnn.best_possible_accuracy(w_val, classes)
val_acc = word_history.metrics["val_acc"][-1]
print(f"next word:  model {val_acc:.3f}, best possible from 3 words {word_ceiling:.3f}")
print(f"word class: model {same_class:.3f}, best possible from 3 words {class_ceiling:.3f}")
assert abs(word_ceiling - 0.57) < 0.01 and abs(class_ceiling - 0.81) < 0.01          # properties of the corpus
assert 0.4 < val_acc <= word_ceiling and class_ceiling - 0.05 < same_class <= class_ceiling

# %% [markdown]
#
# 学到的嵌入里，用法相同的词挨在一起。按余弦相似度 $\cos(u, v) = \frac{u\cdot v}{\lVert u\rVert\lVert v\rVert}$ 找几个词的最近邻（`helpers.rnn.cosine_neighbours`）：

# %%
weight, tidy = word_model.embed.weight.detach(), {}
for word in ("cat", "truck", "red", "eats", "drives", "walks", "bread", "market"):
    order, sims = rnn.cosine_neighbours(weight, word_to_id[word], k=3)
    print(f"{word:7s} → " + ", ".join(f"{id_to_word[j]} ({s:.2f})" for j, s in zip(order.tolist(), sims.tolist())))
    tidy[word] = all(word_class(id_to_word[j]) == word_class(word) for j in order.tolist())
assert sum(tidy[w] for w in ("cat", "truck", "red", "eats", "drives", "walks")) >= 5 and not (tidy["bread"] or tidy["market"])

# %% [markdown]
# 前六个词的邻居很整齐：这次运行里每个词的 3 个最近邻都和它同属一类（猫的邻居都是动物，"eats" 的邻居都是和它用法相同的动词）。换一个训练种子，就可能有一个词混进一个别类的邻居，所以上一格只要求六个里至少五个全部同类。最后两个却是乱的，为什么？
#
# 词向量只能从"这个词被当作**输入**"的样本里得到梯度。在这个语法里，食物、地点和 "sleeps / sits / waits / rests" 永远出现在句末，后面没有词可预测，所以它们从来不是上下文的一部分：
# 这些行的梯度始终为 0，Adam 也就从不更新它们，它们还是初始化时的随机向量。结果和第 9 节的 `padding_idx` 行一样（梯度为 0，行就不变），只是那一行的梯度是被 `padding_idx` 强制清零的，`<pad>` 本身常常是输入。
# 这正说明了词向量的"意义"来自上下文：一个词的用法模型从没见过，它的向量就什么也没学到。
#
# 把 16 维的词向量用主成分分析（PCA，`helpers.rnn.pca_2d`，即对中心化后的矩阵做 SVD）投影到 2 维，按语法类别上色：名词和形容词每类一种颜色，四类动词共用一种颜色、用不同的点形区分，"the"、"to" 是灰色。在面板里选一个词，粗黑圈标出它，细深灰圈圈出它在 16 维空间里的 $k$ 个最近邻（圈和连线不用任何一类的颜色）；只有这几个词标上名字（标签互不遮挡，离自己的点较远的标签用细灰线连回去），其余的词只画成点，换一个词就能看到它们的名字：
#
# - 在 16 维里，动物、交通工具、颜色、各类动词各自聚在一起（下面的验证：最近邻大多同类），2 维图上也大致看得出来；从没当过输入的食物、地点和休息类动词挤在中心附近（初始化的标准差只有 0.1，它们离中心最远的一个也不到其他词中位距离的一半）；
# - 2 维投影只保留了一部分方差（坐标轴标签上的百分比），有些类别在图上重叠，但在 16 维里仍然分得开：看读数里的相似度。

# %%
embedding_space_panel(word_model, id_to_word, train_ids=w_train)

# %% [markdown]
# **验证**：`<pad>` 行和从没当过输入的词的行，训练后与初始值完全相同；在当过输入的内容词中，最近的 3 个邻居来自同一语法类别的比例远高于随机（随机约为 6%：同类的另外 3 个词在其余 47 个词里），而嵌入用默认的 $\mathcal{N}(0, 1)$ 初始化、其他一切照旧时，这个比例明显更低；`pca_2d` 与 `torch.pca_lowrank` 一致（每个轴只差一个符号）。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
start = NextWordModel(len(id_to_word), dim=16, hidden=32).embed.weight.detach()   # the same initial weights
used = set(w_train.unique().tolist())
never = [i for i in range(len(id_to_word)) if i not in used]
assert torch.equal(weight[never], start[never]) and torch.equal(weight[0], torch.zeros(16))
content = [w for w in id_to_word if word_class(w) not in ("special", "function") and word_to_id[w] in used]
hits = sum(word_class(id_to_word[j]) == word_class(w) for w in content
           for j in rnn.cosine_neighbours(weight, word_to_id[w], 3)[0].tolist())
z, ratio = rnn.pca_2d(weight[2:])
theirs = (weight[2:] - weight[2:].mean(0)) @ torch.pca_lowrank(weight[2:], q=16, center=True)[2][:, :2]
assert torch.allclose(z, theirs * torch.sign((z * theirs).sum(0)), atol=1e-4)    # one sign per axis
assert hits / (3 * len(content)) > 0.8
print("never used as input: " + ", ".join(id_to_word[i] for i in never) + f"\nunchanged since init: True；same-class "
      f"neighbours among {len(content)} used words > 80%: True；pca_2d == pca_lowrank up to one sign per axis: True")

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
wide = NextWordModel(len(id_to_word), dim=16, hidden=32)
with torch.no_grad():
    wide.embed.weight[1:].normal_(0.0, 1.0)           # the default N(0, 1) start instead of std 0.1
fit(wide, (w_train, t_train), nn.CrossEntropyLoss(), torch.optim.Adam(wide.parameters(), lr=1e-2), epochs=8,
    batch_size=128, progress=False)
wide_hits = sum(word_class(id_to_word[j]) == word_class(w) for w in content
                for j in rnn.cosine_neighbours(wide.embed.weight.detach(), word_to_id[w], 3)[0].tolist())
assert wide_hits / (3 * len(content)) < 0.6
print(f"embedding started from N(0, 1), everything else the same: same-class neighbours < 60% (std 0.1: > 80%)")

# %%
# NBVAL_CHECK_OUTPUT
radius = z.norm(dim=1)                                 # distance from the centre of the 2-D picture (rows 2...: no <pad>, <unk>)
quiet = radius[[i - 2 for i in never if i >= 2]]       # never an input
busy = radius[[i - 2 for i in sorted(used) if i >= 2]]
assert quiet.max() < 0.5 * busy.median()
print("never-used words: the farthest from the centre is < half the median distance of the other words")

# %% [markdown]
# ## 小结
#
# - 序列数据有先后依赖，不能当作独立样本；RNN 用隐藏状态 $h_t = \tanh(W_{ih}x_t + b_{ih} + W_{hh}h_{t-1} + b_{hh})$ 把过去带到现在，所有时间步**共享同一组参数**。
# - `nn.RNN(H_in, H)` 的参数量 $H\cdot H_{in} + H^2 + 2H$（两个偏置）；`output` 是每一步的 $h_t$，`h_n` 是最后一步的，形状 $(\text{层数}, \text{batch}, H)$ 不受 `batch_first` 影响。
# - 输出层：回归直接用线性输出；分类输出 logits，让 `CrossEntropyLoss` / `BCEWithLogitsLoss` 去做 softmax / sigmoid。
# - BPTT：$\partial h_t/\partial h_k = \prod \mathrm{diag}(\phi'(z_j))W_{hh}$，范数 $\le (\gamma\sigma_{\max})^{t-k}$。消失与爆炸由 $W_{hh}$ 的奇异值 / 谱半径**和** $\phi'$ 共同决定，不是"权重大于 1 还是小于 1"。
# - 梯度爆炸用梯度裁剪（`clip_grad_norm_`，`fit(..., clip_grad_norm=c)`）；梯度消失要靠结构：LSTM / GRU 的门控给记忆开了一条只乘门值的通路。
# - 嵌入层就是查表，等于 one-hot 乘权重矩阵；`padding_idx` 那一行为 0 且永不更新，`max_norm` 在前向时原地缩放被查到的行，重复出现的 id 梯度累加。
# - 训练好的下一个词模型把用法相同的词放在一起：词向量的"意义"来自它们出现的上下文；从没当过输入的词，向量什么也学不到。
#
# ## 面试速答
#
# **问：RNN 为什么会梯度消失 / 爆炸？**
# 答：BPTT 中 $\partial h_t/\partial h_k$ 是 $t-k$ 个 $\mathrm{diag}(\phi'(z_j))W_{hh}$ 的乘积，它的范数**不超过** $(\gamma\sigma_{\max})^{t-k}$（$\gamma = \max|\phi'|$，$\sigma_{\max}$ 是 $W_{hh}$ 的最大奇异值）。这是上界，不是近似，实际值可以小得多：$\gamma\sigma_{\max} < 1$ 时一定指数消失；要爆炸，至少要 $\gamma\sigma_{\max} > 1$，典型的情形是 $W_{hh}$ 的谱半径大于 1、激活又没有饱和。tanh 的导数不超过 1、饱和时更小，所以 tanh RNN 更常见的是消失。
#
# **问：梯度裁剪怎么做？能解决梯度消失吗？**
# 答：在 backward 之后、step 之前，计算所有参数梯度拼成的向量的范数，超过阈值 $c$ 就整体缩放到 $c$（方向不变）。它只限制步长、防止爆炸；梯度消失要靠 LSTM/GRU、残差连接、合适的初始化等。
#
# **问：LSTM 为什么能缓解梯度消失？**
# 答：细胞状态按 $c_t = f_t\odot c_{t-1} + i_t\odot g_t$ 做加法更新，沿 $c$ 的直接路径上 $\partial c_t/\partial c_{t-1} = \mathrm{diag}(f_t)$，不经过 $W_{hh}$ 和 tanh 的导数；遗忘门接近 1 时梯度可以几乎不衰减地传很远。GRU 的更新门起同样的作用。
#
# **问：`nn.RNN` 的 `output` 和 `h_n` 有什么区别？**
# 答：`output` 是最后一层在每个时间步的隐藏状态 $(L, N, H)$（`batch_first` 时 $(N, L, H)$）；`h_n` 是每一层最后一个时间步的隐藏状态 $(\text{层数}\times\text{方向数}, N, H)$。单层单向时 `output[:, -1] == h_n[0]`。
#
# **问：Embedding 和 one-hot 有什么关系？`padding_idx` 有什么用？**
# 答：嵌入查表等价于 one-hot 向量乘嵌入矩阵，只是省掉了乘 0 的计算；嵌入是低维稠密、可学习的，能表达相似度。`padding_idx` 指定的行初始化为 0、梯度恒为 0，填充位置不会影响训练。

# %% [markdown]
# ## 练习
#
# **练习 1**：不运行代码，写出 `nn.RNN(4, 8, batch_first=True)` 作用在形状 `(3, 5, 4)` 的输入上时，`output` 和 `h_n` 的形状，写成 `(output 的形状, h_n 的形状)`。

# %%
answer = None  # 例如 ((1, 2, 3), (4, 5, 6))
exercises.check_rnn_shapes(answer)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# `batch_first=True` 时 `output` 的形状是 (batch, L, H) = (3, 5, 8)；`h_n` 总是 (num_layers, batch, H) = (1, 3, 8)。
#
# ```python
# answer = ((3, 5, 8), (1, 3, 8))
# exercises.check_rnn_shapes(answer)
# ```
#
# </details>
#
# **练习 2**：不用 `nn.RNN`，写一个 `my_rnn(x, W_ih, W_hh, b_ih, b_hh)`：`x` 是一条序列，形状 $(L, H_{in})$；$h_0 = 0$；返回所有时间步的隐藏状态，形状 $(L, H)$。检查器会与 `nn.RNN` 比较数值和对全部输入、权重的梯度；`nn.RNN`、`nn.RNNCell` 以及它们底层的循环算子（不管用哪个名字调用）和课程自带的 `rnn_forward` 都不能用。

# %%
my_rnn = None  # 在这里写你的函数：def my_rnn(x, W_ih, W_hh, b_ih, b_hh): ...
exercises.check_my_rnn(my_rnn)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# ```python
# def my_rnn(x, W_ih, W_hh, b_ih, b_hh):
#     h = torch.zeros(W_hh.shape[0], dtype=x.dtype)
#     states = []
#     for x_t in x:                                   # 同一组权重用在每一步
#         h = torch.tanh(W_ih @ x_t + b_ih + W_hh @ h + b_hh)
#         states.append(h)
#     return torch.stack(states)
#
# exercises.check_my_rnn(my_rnn)
# ```
#
# </details>
#
# **练习 3**：`emb = nn.Embedding(6, 3)`，执行 `emb(torch.tensor([2, 5, 2, 2])).sum().backward()` 之后，`emb.weight.grad[2]` 的每个元素是多少？先想，再把这个数赋给 `answer`。

# %%
answer = None  # 一个数
exercises.check_embedding_grad(answer)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# 输出对第 2 行的每个元素求导，id 2 每出现一次贡献 1；默认 `scale_grad_by_freq=False`，三次出现的梯度相加。
#
# ```python
# answer = 3.0
# exercises.check_embedding_grad(answer)
# ```
#
# </details>

# %% [markdown]
# [← 第8章 卷积神经网络](08_cnn.ipynb) · [第10章 DataLoader →](10_dataloader.ipynb)
