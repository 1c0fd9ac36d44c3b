# %% [markdown]
# # 第1章 张量 (Tensors)
#
# **学习目标**
#
# - 分清 `torch.tensor`、`torch.Tensor`、`torch.IntTensor` / `torch.FloatTensor` 三种创建方式，读懂形状（shape）和数据类型（dtype）
# - 会用索引、切片、`reshape` / `view` 处理张量，知道什么时候得到视图、什么时候得到副本
# - 掌握逐元素运算、广播规则和矩阵乘法 `@` 的区别，会沿某一维做 `sum` / `mean` / `max`
# - 了解 `sqrt`、`exp`、`log` 的类型提升和定义域边界（`nan`、`-inf`）
# - 用 `requires_grad` 和 `backward()` 求导数，并把张量放到 GPU 等设备上
#
# **预计用时**：约 60 分钟
#
# **先修**：Python 基础（列表、函数、循环）；不需要任何深度学习知识

# %%
import math

import torch

from helpers import get_device, show_source
from helpers import tensors as T
from helpers.exercises import tensors as exercises
from helpers.panels import tensors as TP
from helpers.plotting import show

# %% [markdown]
# ## 1. 张量创建
#
# 张量（tensor）是 PyTorch 中最基本的数据结构：按多维网格排好的一组数。每个张量带着三项"身份信息"：
#
# - **形状**（shape）：每一维有多长，例如 `(2, 3)` 表示 2 行 3 列；
# - **数据类型**（dtype）：元素是 `int64`、`float32` 还是别的类型；
# - **设备**（device）：数据存放在 CPU 还是 GPU 上（见第 8 节）。
#
# 维度的个数叫 `ndim`；元素总数 `numel` 是各维长度的乘积：
#
# $$\text{shape} = (d_0, d_1, \dots, d_{n-1}), \qquad \text{numel} = \prod_{k=0}^{n-1} d_k$$
#
# 最常用的创建方式是 `torch.tensor(数据)`：把一个数或（嵌套的）列表装进张量，dtype 由数据推断——全是整数时为 `int64`，出现小数时为 `float32`。

# %%
# NBVAL_CHECK_OUTPUT
a = torch.tensor([[1, 2, 3], [4, 5, 6]])   # 嵌套列表 → 2 维
b = torch.tensor([1.5, -2.0])              # 含小数 → float32
c = torch.tensor(3)                        # 单个数 → 0 维张量（标量）
for name, t in [("a", a), ("b", b), ("c", c)]:
    print(f"{name}: shape={tuple(t.shape)}, dtype={t.dtype}, ndim={t.ndim}, numel={t.numel()}")

# %% [markdown]
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：在 Python 代码块里直接写 `torch.tensor 根据指定数据创建张量` 这样的中文说明。这不是合法的 Python 语句，把这段代码复制去运行，立刻得到 `SyntaxError`。
# >
# > **正确的说法**：说明文字放到代码块外面，或者写成注释：`torch.tensor  # 根据指定数据创建张量`。证据见下一格：让 Python 分别编译两种写法。

# %%
# NBVAL_CHECK_OUTPUT
notes_line = "torch.tensor 根据指定数据创建张量"      # 笔记代码块里的原文
fixed_line = "torch.tensor  # 根据指定数据创建张量"    # 改成注释
for label, src in [("笔记原文", notes_line), ("改成注释", fixed_line)]:
    try:
        compile(src, "<cell>", "exec")
        print(f"{label}: 可以编译")
    except SyntaxError as e:
        print(f"{label}: {type(e).__name__}")

# %% [markdown]
# ### `torch.Tensor` 是类，不只是"按形状创建"
#
# `torch.Tensor`（大写 T）是张量这个**类**本身。直接调用它是一种遗留（legacy）写法，行为取决于参数：
#
# - 传**整数**，如 `torch.Tensor(2, 3)`：整数被当成形状，得到 `(2, 3)` 的 `float32` 张量，但其中的值**没有初始化**（uninitialized）——那块内存里原来是什么就是什么，每次运行都可能不同，所以下面只打印形状和类型；
# - 传**列表**，如 `torch.Tensor([2, 3])`：列表被当成数据，得到 `tensor([2., 3.])`，而且总是 `float32`。
#
# 小写的 `torch.tensor` 只接受一个"数据"参数，`torch.tensor(2, 3)` 会报 `TypeError`。想按形状创建张量，应该用意图明确的 `torch.zeros`、`torch.ones`、`torch.rand` 或 `torch.empty`（最后一个同样不初始化）。
#
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：`torch.Tensor` 根据形状创建。
# >
# > **正确的说法**：`torch.Tensor` 是类的构造函数。参数是整数时当作形状，返回**未初始化**的 `float32` 张量；参数是列表时当作数据。`torch.tensor(3)` 是 0 维的 `int64` 标量，`torch.tensor(2, 3)` 直接报错。按形状创建请用 `torch.zeros / ones / empty`。另外，`torch.IntTensor` 会把小数**截断**（向 0 取整）。证据见下一格。

# %%
# NBVAL_CHECK_OUTPUT
u = torch.Tensor(2, 3)        # 整数 = 形状；值未初始化，只看形状和类型
v = torch.Tensor([2, 3])      # 列表 = 数据
s = torch.tensor(3)
print("torch.Tensor(2, 3)  :", tuple(u.shape), u.dtype, "(值未初始化)")
print("torch.Tensor([2, 3]):", v, v.dtype)
print("torch.tensor(3)     :", s, s.dtype, "shape", tuple(s.shape))
try:
    torch.tensor(2, 3)
except TypeError as e:
    print("torch.tensor(2, 3)  :", type(e).__name__)
print("torch.zeros(2, 3)   :", tuple(torch.zeros(2, 3).shape), torch.zeros(2, 3).dtype)

# %% [markdown]
# ### `torch.IntTensor` / `torch.FloatTensor`：固定 dtype
#
# 这两个遗留构造函数把 dtype 写死了：`IntTensor` 是 `int32`，`FloatTensor` 是 `float32`。把小数交给 `IntTensor` 时，小数部分被直接**截断**（truncation，向 0 取整）：`2.7 → 2`，`-2.7 → -2`，不是四舍五入。现代写法是 `torch.tensor(数据, dtype=...)` 或 `.to(dtype)`。

# %%
# NBVAL_CHECK_OUTPUT
i = torch.IntTensor([2.7, -2.7])
f = torch.FloatTensor([1, 2])
print(i, i.dtype)
print(f, f.dtype)
print(torch.tensor([2.7, -2.7]).to(torch.int32))      # 现代写法，同样截断
print(torch.tensor([1, 2], dtype=torch.float32))       # 现代写法

# %% [markdown]
# **动手试试**：面板把"构造函数 × 参数"的每种组合都真的调用一次，画出得到的张量（蓝色是整数类型，橙色是浮点类型，虚线框加 `?` 表示值未初始化），出错时显示异常信息。试试 `torch.tensor` 配 `2, 3`，`torch.Tensor` 分别配 `3` 和 `[3]`，以及 `torch.zeros` 配 `[2.7, -2.7]`（报错：zeros 只接受形状，不接受数据）。

# %%
TP.creation_panel()

# %% [markdown]
# **验证**：本节的每条结论逐一用 PyTorch 检查：推断出的 dtype、`torch.Tensor` 的两种含义、`torch.tensor(2, 3)` 报错、两个遗留构造函数的 dtype 与截断。

# %%
# NBVAL_CHECK_OUTPUT
t0, t1, t2 = torch.tensor(3), torch.Tensor(3), torch.Tensor([3])
trunc = torch.IntTensor([2.7, -2.7])
print("torch.tensor(3)      : shape", tuple(t0.shape), t0.dtype)
print("torch.Tensor(3)      : shape", tuple(t1.shape), t1.dtype)
print("torch.Tensor([3])    : 数据", t2.tolist(), t2.dtype)
print("IntTensor([2.7, -2.7]):", trunc.tolist(), trunc.dtype)
print("a.numel() =", a.numel(), "  各维长度之积 =", math.prod(a.shape))
assert a.dtype == torch.int64 and b.dtype == torch.float32 and c.ndim == 0
assert t0.shape == () and t0.dtype == torch.int64
assert t1.shape == (3,) and t1.dtype == torch.float32
assert torch.equal(t2, torch.tensor([3.0])) and torch.Tensor([2, 3]).dtype == torch.float32
assert a.numel() == math.prod(a.shape) == 2 * 3

# %%
# NBVAL_CHECK_OUTPUT
assert torch.equal(trunc, torch.tensor([2, -2], dtype=torch.int32)) and torch.FloatTensor([1, 2]).dtype == torch.float32
assert torch.equal(torch.tensor([2.7, -2.7]).to(torch.int32), trunc)     # 现代写法同样截断
try:
    torch.tensor(2, 3)
    error = None
except TypeError as e:
    error = type(e).__name__
print("torch.tensor(2, 3) ->", error)
assert error == "TypeError"

# %% [markdown]
# ## 2. 索引与切片（补充）
#
# 笔记没有讲怎样取出张量的一部分，但后面每一章都会用到。规则与 Python 列表、NumPy 数组相同：
#
# - `x[i]` 取第 `i` 个（从 0 开始数），负数从末尾数，`x[-1]` 是最后一个；
# - 多维时用逗号分隔每一维：`x[i, j]`；单独的 `:` 表示这一维全要，`x[:, 1]` 就是第 1 列；
# - 切片 `start:stop:step` 取下标 $\text{start}, \text{start}+\text{step}, \dots$ 中小于 `stop` 的那些，个数为
#
# $$n = \left\lceil \frac{\text{stop} - \text{start}}{\text{step}} \right\rceil \qquad (\text{stop} > \text{start})$$
#
# - 布尔掩码（mask）`x[x > 8]` 取出满足条件的所有元素，结果是 1 维的。

# %%
# NBVAL_CHECK_OUTPUT
x = torch.arange(12).reshape(3, 4)   # 0..11 排成 3 行 4 列
print(x)
print("x[1]        ->", x[1])
print("x[:, 1]     ->", x[:, 1])
print("x[-1, -1]   ->", x[-1, -1].item())
print("x[0, 1:4:2] ->", x[0, 1:4:2])
print("x[x > 8]    ->", x[x > 8])

# %% [markdown]
# **视图还是副本？** 普通切片得到的是**视图**（view）：它和原张量共用同一块内存，改视图就是改原张量。布尔掩码、下标列表这类"高级索引"（advanced indexing）得到的是**副本**（copy），改它不影响原张量。`data_ptr()` 返回张量第一个元素在内存中的地址：`x[0]` 和 `x` 从同一处开始，地址相同。但它只比较起点：`x[1]` 同样是视图，起点却往后挪了 4 个元素，地址就不同了。要问"是不是同一块内存"，应比较底层存储的起点 `untyped_storage().data_ptr()`。

# %%
# NBVAL_CHECK_OUTPUT
x = torch.arange(12).reshape(3, 4)
row = x[0]                 # 切片 → 视图
row[0] = 100
print("改了 row 之后 x[0] =", x[0])
picked = x[x > 8]          # 布尔掩码 → 副本
picked[0] = -1
print("改了 picked 之后 x[2] =", x[2])
print("row 与 x 的 data_ptr 相同:", row.data_ptr() == x.data_ptr())
same_storage = lambda t: t.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
print("x[1] 与 x 的 data_ptr 相同:", x[1].data_ptr() == x.data_ptr(), "| 存储相同:", same_storage(x[1]), "| picked 存储相同:", same_storage(picked))

# %% [markdown]
# **验证**：切片长度公式与 PyTorch 的实际结果对照；视图改了原张量、副本没有；`x[1]` 与 `x` 起点不同但存储相同，掩码取出的副本存储不同。

# %%
# NBVAL_CHECK_OUTPUT
z = torch.arange(20)
for start, stop, step in [(1, 10, 3), (0, 20, 7), (5, 6, 2), (2, 19, 4)]:
    n_formula = math.ceil((stop - start) / step)
    n_torch = len(z[start:stop:step])
    print(f"{start}:{stop}:{step}  公式 {n_formula}  PyTorch {n_torch}")
    assert n_formula == n_torch
assert torch.equal(torch.arange(12).reshape(3, 4)[:, 1], torch.tensor([1, 5, 9]))
assert x[0, 0] == 100 and x[2, 1] == 9     # 视图改了原张量，副本没有
assert x[1].data_ptr() != x.data_ptr() and same_storage(x[1]) and same_storage(row) and not same_storage(picked)

# %% [markdown]
# ## 3. 形状变换：`reshape` 与 `view`（补充）
#
# 张量在内存里其实是一条一维的数字序列，"形状"只是解读它的方式。解读方式由**步长**（stride）决定：沿第 $k$ 维走一步，要在内存里跳过 $s_k$ 个元素。按行优先（row-major）连续存放时
#
# $$s_k = \prod_{j>k} d_j, \qquad \text{元素 } (i_0, \dots, i_{n-1}) \text{ 在内存中的位置} = \sum_k i_k\, s_k$$
#
# - `view(新形状)` 只换一种解读方式，不复制数据；它要求内存布局与新形状兼容，最常见的情形就是张量是**连续的**（contiguous）；
# - `reshape(新形状)` 能用 `view` 时就用 `view`，不能时自动复制一份；
# - 形状里写 `-1` 表示"这一维由元素总数推算"。
#
# 转置 `t()` 只交换两个步长，并不搬动数据，所以转置后的张量不再连续，把它 `view` 成一维（或其他需要合并维度的形状）会失败。

# %%
# NBVAL_CHECK_OUTPUT
m = torch.arange(12).view(3, 4)
print("m     :", tuple(m.shape), "stride", m.stride(), "contiguous", m.is_contiguous())
mt = m.t()
print("m.t() :", tuple(mt.shape), "stride", mt.stride(), "contiguous", mt.is_contiguous())
try:
    mt.view(12)
except RuntimeError as e:
    print("m.t().view(12)    ->", type(e).__name__)
print("m.t().reshape(12) ->", mt.reshape(12))
print("m.reshape(2, -1)  ->", tuple(m.reshape(2, -1).shape))

# %% [markdown]
# **验证**：步长公式（`T.contiguous_strides`，代码见下）和位置公式与 PyTorch 对照；`view` 与原张量共用内存；转置后不连续，`view(12)` 报错，`reshape` 则复制了数据。

# %%
show_source(T.contiguous_strides)

# %%
# NBVAL_CHECK_OUTPUT
x3 = torch.arange(24).reshape(2, 3, 4)
print("公式步长", T.contiguous_strides(x3.shape), " PyTorch", x3.stride())
assert T.contiguous_strides(x3.shape) == x3.stride()
idx = (1, 2, 3)
offset = sum(i * s for i, s in zip(idx, x3.stride()))
print(f"x3[1, 2, 3] = {x3[idx].item()}，公式位置 {offset} 上的数 = {x3.flatten()[offset].item()}")
assert x3[idx] == x3.flatten()[offset]
assert m.view(4, 3).data_ptr() == m.data_ptr() and mt.reshape(12).data_ptr() != m.data_ptr()

# %%
# NBVAL_CHECK_OUTPUT
try:
    mt.view(12)
    error = None
except RuntimeError as e:
    error = type(e).__name__
print("m.t() 的步长", mt.stride(), "连续:", mt.is_contiguous(), " m.t().view(12) ->", error)
assert mt.stride() == (1, 4) and not mt.is_contiguous() and error == "RuntimeError"

# %% [markdown]
# ## 4. 张量的运算 · 基本运算
#
# > **⚠ 笔记勘误（轻微）**
# >
# > **笔记的写法**：在"张量的运算"下面留了一个空标题 `### 1.`，内容缺失。
# >
# > **正确的说法**：从上下文看，这里应当讲最基本的运算。本节补上三件事：逐元素运算、广播、矩阵乘法；下面第一个代码格就是补上的内容。
#
# ### 4.1 逐元素运算
#
# 两个形状相同的张量做 `+ - * / **`，都是**逐元素**（element-wise）进行的：相同位置上的数各算各的，
#
# $$(A \odot B)_{ij} = A_{ij} \cdot B_{ij}$$
#
# 其中 $\odot$ 表示逐元素乘（也叫 Hadamard 积），在 PyTorch 里就是 `*`。张量和一个标量运算时，标量与每个元素各算一次。注意整数张量做 `/` 得到的是浮点数（真除法），整除要用 `//`。

# %%
# NBVAL_CHECK_OUTPUT
A = torch.tensor([[1., 2.], [3., 4.]])
B = torch.tensor([[10., 20.], [30., 40.]])
print("A + B =", A + B)
print("A * B =", A * B)
print("B / A =", B / A)
print("A ** 2 =", A ** 2)
print("A + 1 =", A + 1)
print("整数: 7 / 2 =", torch.tensor(7) / 2, "  7 // 2 =", torch.tensor(7) // 2)

# %% [markdown]
# ### 4.2 广播（broadcasting）
#
# 形状不同的两个张量也能做逐元素运算，只要它们能**广播**成同一个形状。规则只有两步：
#
# 1. 把两个形状**右对齐**，较短的那个在左边补 1；
# 2. 逐维比较：长度相等，或者其中一个为 1，这一维就兼容，结果取不为 1 的那个（长度为 1 的一方被"复制"拉长）；否则报错。
#
# $$n_k = \begin{cases} a_k, & a_k = b_k \ \text{或}\ b_k = 1 \\ b_k, & a_k = 1 \\ \text{无法广播}, & \text{其他情况} \end{cases}$$
#
# 拉长并不真的复制内存：PyTorch 用步长为 0 的视图实现它。`helpers/tensors.py` 里的 `broadcast_shape` 就是照这条规则逐行写成的：先读一遍它的代码（补 1、逐维比较、冲突时报错），再和 PyTorch 真正相加得到的形状对照。

# %%
show_source(T.broadcast_shape)

# %%
# NBVAL_CHECK_OUTPUT
col = torch.tensor([[1], [2], [3]])      # 形状 (3, 1)
row = torch.tensor([10, 20, 30, 40])     # 形状 (4,)，右对齐后看作 (1, 4)
print(col + row)
print("按规则:", T.broadcast_shape(col.shape, row.shape), "  PyTorch 相加的结果:", tuple((col + row).shape))
print("拉长后的步长:", col.expand(3, 4).stride(), "<- 第 1 维步长为 0，没有复制数据")

# %% [markdown]
# 同一个例子画成格子：`A` 的形状 `(3, 1)` 沿列方向复制成 `(3, 4)`，`B` 的形状 `(4,)` 先看作 `(1, 4)` 再沿行方向复制；淡色虚线格是复制出来的。结果格左上半是 `A` 的颜色，右下半是 `B` 的颜色。

# %%
show(TP.broadcast_figure((3, 1), (4,)))

# %% [markdown]
# 形状不兼容时，PyTorch 报 `RuntimeError`，我们的 `broadcast_shape` 报 `ValueError` 并指出是哪一维冲突：

# %%
# NBVAL_CHECK_OUTPUT
try:
    torch.ones(3, 2) + torch.ones(4)
except RuntimeError as e:
    print("PyTorch:", type(e).__name__)
try:
    T.broadcast_shape((3, 2), (4,))
except ValueError as e:
    print("按规则:", e)

# %% [markdown]
# **动手试试**：用滑块设定 `A` 和 `B` 的行数、列数（`B rows` 取 0 表示 `B` 是 1 维的），观察每个张量怎样被拉长到结果形状；不兼容时面板会说明是哪一维冲突。试着找出所有能和 `(3, 2)` 广播的 `B`。

# %%
TP.broadcast_panel()

# %% [markdown]
# **验证**：对一组形状，用规则推算的结果（或报错）必须与 PyTorch 的广播（`torch.broadcast_tensors`）一致，也与真正相加得到的形状一致；拉长出来的那一维步长为 0。单元测试 `tests/test_tensors.py` 还用 `torch.broadcast_shapes` 对照了 300 组随机形状。

# %%
# NBVAL_CHECK_OUTPUT
pairs = [((3, 1), (4,)), ((1, 3), (2, 1, 1)), ((5,), (1,)), ((1, 4), (3, 1)), ((3, 2), (4,)), ((2, 3), (3, 2))]
for a_shape, b_shape in pairs:
    try:
        ours = T.broadcast_shape(a_shape, b_shape)
    except ValueError:
        ours = "error"
    try:
        theirs = tuple(torch.broadcast_tensors(torch.ones(a_shape), torch.ones(b_shape))[0].shape)
        assert theirs == tuple((torch.ones(a_shape) + torch.ones(b_shape)).shape)   # 真的相加也是这个形状
    except RuntimeError:
        theirs = "error"
    print(f"{str(a_shape):>9} + {str(b_shape):<9} -> 规则 {ours}, PyTorch {theirs}")
    assert ours == theirs
assert col.expand(3, 4).stride() == (1, 0) and col.expand(3, 4).data_ptr() == col.data_ptr()

# %% [markdown]
# ### 4.3 逐元素乘 `*` 与矩阵乘法 `@`
#
# `*` 是逐元素乘，要求形状相同或可以广播；`@`（即 `torch.matmul`）是线性代数中的矩阵乘法（matrix multiplication），要求左边的列数等于右边的行数：
#
# $$C = AB, \qquad C_{ij} = \sum_{k} A_{ik} B_{kj}, \qquad (n \times k)\ @\ (k \times m) \to (n \times m)$$
#
# 神经网络的全连接层本质上就是一次 `@` 再加上偏置。`T.matmul` 用广播和求和照公式实现：把 $A$ 看成 $(n, k, 1)$、$B$ 看成 $(1, k, m)$，逐元素相乘得到 $(n, k, m)$，再沿 $k$ 这一维求和（求和见第 6 节）。代码的最后一行就是这句话：

# %%
show_source(T.matmul)

# %%
# NBVAL_CHECK_OUTPUT
A = torch.tensor([[1., 2.], [3., 4.]])
B = torch.tensor([[5., 6.], [7., 8.]])
print("A * B =", A * B)
print("A @ B =", A @ B)
print("照公式:", T.matmul(A, B))
try:
    torch.ones(2, 3) @ torch.ones(2, 3)
except RuntimeError as e:
    print("(2, 3) @ (2, 3) ->", type(e).__name__, "(内维 3 与 2 不等)")

# %% [markdown]
# **验证**：手算 $AB$ 的第一个元素 $1 \cdot 5 + 2 \cdot 7 = 19$；随机矩阵上公式实现与 `@` 一致；整数张量的 `/` 得到浮点数，`//` 才是整除。

# %%
# NBVAL_CHECK_OUTPUT
assert torch.equal(A * B, torch.tensor([[5., 12.], [21., 32.]]))
assert torch.equal(A @ B, torch.tensor([[1 * 5 + 2 * 7, 1 * 6 + 2 * 8], [3 * 5 + 4 * 7, 3 * 6 + 4 * 8]]).float())
g = torch.Generator().manual_seed(0)
P, Q = torch.randn(5, 3, generator=g), torch.randn(3, 4, generator=g)
diff = (T.matmul(P, Q) - P @ Q).abs().max().item()
print(f"A @ B 左上角 = {(A @ B)[0, 0].item():.0f}，手算 1*5 + 2*7 = {1 * 5 + 2 * 7}")
print(f"(5, 3) @ (3, 4) -> {tuple((P @ Q).shape)}，公式与 PyTorch 的最大差 {diff:.5f}")
assert torch.allclose(T.matmul(P, Q), P @ Q, atol=1e-6) and (P @ Q).shape == (5, 4)
half, floor_div = torch.tensor(7) / 2, torch.tensor(7) // 2
print(f"整数 7 / 2 = {half.item()} ({half.dtype})，7 // 2 = {floor_div.item()} ({floor_div.dtype})")
assert half.dtype == torch.float32 and half.item() == 3.5 and floor_div.dtype == torch.int64 and floor_div.item() == 3

# %% [markdown]
# ## 5. 张量的运算 · 运算函数
#
# 笔记列出了几个逐元素的数学函数：平方根 `sqrt`、指数 `exp`、自然对数 `log`，以及以 2、10 为底的对数 `log2`、`log10`。它们的定义和定义域（domain）：
#
# $$\sqrt{x} = x^{1/2}\ (x \ge 0), \qquad e^{x}\ (x \in \mathbb{R}), \qquad \ln x\ (x > 0), \qquad \log_b x = \frac{\ln x}{\ln b}$$
#
# 所以 `log2`、`log10` 不过是把 `log` 除以常数 $\ln 2$、$\ln 10$。
#
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：`print(data.sqrt())`、`data.exp()`、`data.log()`、`data.log2()`、`data.log10()`，但 `data` 从头到尾没有定义，原样运行得到 `NameError`。
# >
# > **正确的说法**：先创建 `data`。另外还有三个笔记没提的坑：
# >
# > - 对整数张量调用这些函数，结果会被**类型提升**（type promotion）为 `float32`；
# > - 原地版本 `sqrt_()` 要把浮点结果写回整数张量，写不进去，报 `RuntimeError`（result type Float can't be cast to the desired output type Int）；
# > - 超出定义域不会报错，而是得到特殊值：`sqrt(-1) = nan`，`log(0) = -inf`，`log(-1) = nan`。
# >
# > 证据见下一格（`NameError`）和其后几格。

# %%
# NBVAL_CHECK_OUTPUT
try:
    exec("print(data.sqrt())", {})      # 笔记原文：data 没有定义
except NameError as e:
    print(type(e).__name__, ":", e)

# %% [markdown]
# 补上 `data` 之后，注意输出的 dtype：输入是 `int32`，结果都是 `float32`。

# %%
# NBVAL_CHECK_OUTPUT
data = torch.IntTensor([4, 9, 2])
print("data.sqrt() :", data.sqrt(), data.sqrt().dtype)
print("data.exp()  :", data.exp())
print("data.log()  :", data.log())
print("data.log2() :", data.log2())
print("data.log10():", data.log10())

# %% [markdown]
# 原地运算（名字以下划线结尾）把结果写回原张量，dtype 不能变，所以对整数张量失败；先转成浮点数就可以了。

# %%
# NBVAL_CHECK_OUTPUT
try:
    data.sqrt_()                    # 结果是 float，写不回 int32
except RuntimeError as e:
    print("data.sqrt_() ->", type(e).__name__)
fdata = data.float()                # 先转成浮点
fdata.sqrt_()
print("data.float().sqrt_() ->", fdata)

# %% [markdown]
# **定义域的边界**：`nan`（Not a Number，"不是一个数"）表示结果没有定义；`-inf` 是负无穷，来自 $\lim_{x \to 0^+} \ln x = -\infty$。两者通常会顺着后续计算传播：加减乘除、`exp`、`sum`、`mean` 里只要混进一个 `nan`，结果就是 `nan`（例外见下文）。训练时损失一旦变成 `nan`，参数更新后也会变成 `nan`，训练就此失败。所以对可能为 0 的量取对数时，常先加一个很小的 $\varepsilon$ 或用 `clamp` 限制下界。

# %%
# NBVAL_CHECK_OUTPUT
edge = torch.tensor([-1.0, 0.0, 1.0])
for name in ["sqrt", "exp", "log", "log2", "log10"]:
    print(f"{name:>5}({edge.tolist()}) =", getattr(torch, name)(edge))

# %% [markdown]
# "`nan` 进、`nan` 出"只是大多数运算的情形，并不是铁律。下面这些运算碰到 `nan` 给出的是普通的数，检查和清洗数据时恰好要靠它们：
#
# - **幂**：IEEE 754 浮点标准规定任何数的 0 次方都是 1、1 的任何次方也是 1，所以 `nan ** 0` 和 `1 ** nan` 都等于 1；
# - **比较**：只要有一边是 `nan`，`==`、`<`、`>` 都是 `False`，`nan != nan` 反而是 `True`。因此判断 `nan` 要用 `torch.isnan(x)`，写 `x == nan` 永远得不到 `True`；
# - **按条件挑选**：`torch.where(cond, a, b)` 每个位置只取被选中的那一边，另一边的 `nan` 不影响结果；`torch.nan_to_num` 把 `nan` 换成 0（`±inf` 换成 `float32` 能表示的最大、最小有限数）；
# - **取较大者**：`torch.maximum` 遇到 `nan` 就返回 `nan`，`torch.fmax` 则忽略 `nan`、返回另一个数；同理 `sum` 变成 `nan`，`nansum` 会跳过 `nan`。

# %%
# NBVAL_CHECK_OUTPUT
n, one = torch.tensor(float("nan")), torch.tensor(1.0)
t, u = torch.tensor([float("nan"), 2.0]), torch.tensor([1.0, float("nan")])
print("nan ** 0 =", (n ** 0).item(), "  1 ** nan =", (one ** n).item())
print("nan == nan:", (n == n).item(), "  nan != nan:", (n != n).item(), "  nan > 0:", (n > 0).item())
print("where(isnan(t), 0, t) =", torch.where(torch.isnan(t), 0.0, t).tolist(), "  nan_to_num(t) =", torch.nan_to_num(t).tolist())
print("maximum(t, u) =", torch.maximum(t, u).tolist(), "  fmax(t, u) =", torch.fmax(t, u).tolist())
print("t.sum() =", t.sum().item(), "  t.nansum() =", t.nansum().item())
assert (n ** 0).item() == 1.0 and (one ** n).item() == 1.0
assert not (n == n) and (n != n) and not (n > 0) and not (n < 0)
assert torch.where(torch.isnan(t), 0.0, t).tolist() == [0.0, 2.0] == torch.nan_to_num(t).tolist()
assert torch.nan_to_num(torch.tensor([math.inf, -math.inf])).tolist() == [torch.finfo(torch.float32).max, torch.finfo(torch.float32).min]
assert torch.isnan(torch.maximum(t, u)).all() and torch.fmax(t, u).tolist() == [1.0, 2.0]
assert torch.isnan(t.sum()) and t.nansum().item() == 2.0

# %% [markdown]
# 下图把五个函数在 $x \in [-2, 4]$ 上的 PyTorch 输出画出来：红色区域和红叉是 `nan` 的点，紫色三角是 `-inf` 的点（恰好是 $x = 0$）。

# %%
show(TP.domain_figure((-2.0, 4.0)))

# %% [markdown]
# **动手试试**：选一个函数，把 `x min` 拖到 0 的左边，看 `nan` 区域怎样出现、右侧读数里 `nan` 的比例怎样变化；再把 `x min` 拖到 0 右边，`-inf` 就消失了。`exp` 在整条实轴上都有定义，但 `float32` 能表示的最大数约为 $3.4 \times 10^{38}$，所以 $x > \ln(3.4 \times 10^{38}) \approx 88.7$ 时会溢出成 `inf`。

# %%
TP.domain_panel()

# %% [markdown]
# **验证**：换底公式（`T.log_base`，代码见下）、互逆关系与 PyTorch 对照；`nan` / `-inf` 的个数与 $x<0$、$x=0$ 的点数一致；`exp` 的 `float32` 溢出阈值；整数输入被提升为 `float32`、原地版本报错、定义域外的特殊值，以及 `nan` 在普通运算里的传播。

# %%
show_source(T.log_base)

# %%
# NBVAL_CHECK_OUTPUT
x = torch.linspace(0.1, 10, 100)
pairs = {"log2 vs ln/ln2": (T.log_base(x, 2), torch.log2(x), 1e-6), "log10 vs ln/ln10": (T.log_base(x, 10), torch.log10(x), 1e-6),
         "exp(log x) vs x": (torch.exp(torch.log(x)), x, 1e-5), "sqrt(x)^2 vs x": (torch.sqrt(x) ** 2, x, 1e-5)}
for name, (lhs, rhs, tol) in pairs.items():
    print(f"{name:16s} 最大差 {(lhs - rhs).abs().max().item():.4f}")
    assert torch.allclose(lhs, rhs, atol=tol)
grid = T.domain_grid(-2.0, 4.0)
counts = T.count_special(torch.log(grid))
n_neg, n_zero = int((grid < 0).sum()), int((grid == 0).sum())
print(f"log 在 [-2, 4] 的 {len(grid)} 个点上: nan {counts['nan']} 个 (x<0 的点 {n_neg} 个), -inf {counts['-inf']} 个 (x=0 的点 {n_zero} 个)")
assert counts["nan"] == n_neg and counts["-inf"] == n_zero == 1

# %%
# NBVAL_CHECK_OUTPUT
limit = math.log(torch.finfo(torch.float32).max)
e88, e89 = torch.exp(torch.tensor(88.0)), torch.exp(torch.tensor(89.0))
print(f"ln(float32 最大值) = {limit:.2f};  exp(88) = {e88.item():.3e},  exp(89) = {e89.item()}")
assert 88 < limit < 89 and torch.isfinite(e88) and torch.isinf(e89)

# %%
# NBVAL_CHECK_OUTPUT
ints = torch.IntTensor([4, 9, 2])
promoted = {name: getattr(ints, name)().dtype for name in ["sqrt", "exp", "log", "log2", "log10"]}
print("int32 输入的结果类型:", sorted(set(map(str, promoted.values()))))
assert set(promoted.values()) == {torch.float32}
try:
    ints.clone().sqrt_()
    error = None
except RuntimeError as e:
    error = type(e).__name__
print("int32 的 sqrt_() ->", error)
assert error == "RuntimeError"

# %%
# NBVAL_CHECK_OUTPUT
special = torch.tensor([-1.0, 0.0])
print("sqrt(-1) =", special.sqrt()[0].item(), " log(-1) =", torch.log(special)[0].item(), " log(0) =", torch.log(special)[1].item())
assert torch.isnan(special.sqrt()[0]) and torch.log(special)[1].item() == -math.inf and torch.isnan(torch.log(special)[0])
nan = torch.tensor(float("nan"))
spread = [nan + 1, nan - 1, nan * 0, nan / 2, torch.exp(nan), torch.stack([nan, one]).sum(), torch.stack([nan, one]).mean()]
print("nan 参与 + - * / exp sum mean 的结果:", [v.item() for v in spread])
assert all(torch.isnan(v) for v in spread)

# %% [markdown]
# ## 6. 沿某一维归约：`sum` / `mean` / `max`（补充）
#
# 归约（reduction）把许多数合成一个数。不指定维度时对所有元素归约；指定 `dim` 时只沿这一维合并，**这一维随之消失**：
#
# $$\big(\texttt{x.sum(dim=0)}\big)_j = \sum_{i} x_{ij}, \qquad \big(\texttt{x.mean(dim=1)}\big)_i = \frac{1}{m}\sum_{j=1}^{m} x_{ij}$$
#
# 形状 `(3, 4)` 的矩阵沿 `dim=0` 求和得到 `(4,)`（每列一个和），沿 `dim=1` 得到 `(3,)`（每行一个和）。加上 `keepdim=True`，被归约的维度保留为长度 1，例如 `(3, 1)`，便于接着和原矩阵广播。`max(dim=...)` 同时返回最大值和它所在的下标（即 `argmax`）。

# %%
# NBVAL_CHECK_OUTPUT
x = torch.arange(1., 13.).reshape(3, 4)
print("x.sum()      =", x.sum())
print("x.sum(dim=0) =", x.sum(dim=0))
print("x.sum(dim=1) =", x.sum(dim=1))
print("x.mean(dim=1) 的形状:", tuple(x.mean(dim=1).shape), "  加 keepdim=True:", tuple(x.mean(dim=1, keepdim=True).shape))
values, indices = x.max(dim=1)
print("x.max(dim=1) -> values", values, " indices", indices)

# %% [markdown]
# 图中箭头是求和的方向：`dim=0` 是"沿着行号变化的方向"往下加，每列得到一个数；`dim=1` 是沿列号往右加，每行得到一个数。

# %%
show(TP.reduction_figure())

# %% [markdown]
# 归约和广播经常一起出现。例如让每一**列**的均值变成 0：`x.mean(dim=0)` 的形状是 `(4,)`，右对齐后正好对上 `(3, 4)` 的最后一维，直接相减即可。（让每一**行**均值为 0 稍微麻烦一点，留作练习 2。）

# %%
# NBVAL_CHECK_OUTPUT
centered_cols = x - x.mean(dim=0)      # (3, 4) - (4,)：每列减去该列均值
print(centered_cols)
print("每列的新均值:", centered_cols.mean(dim=0))

# %% [markdown]
# **验证**：用双重循环照公式求和、求均值，与 PyTorch 的归约对照。

# %%
# NBVAL_CHECK_OUTPUT
loop_sum0 = torch.tensor([sum(x[i, j].item() for i in range(3)) for j in range(4)])
loop_mean1 = torch.tensor([sum(x[i, j].item() for j in range(4)) / 4 for i in range(3)])
print("sum(dim=0) :", loop_sum0.tolist(), "vs", x.sum(dim=0).tolist())
print("mean(dim=1):", loop_mean1.tolist(), "vs", x.mean(dim=1).tolist())
assert torch.allclose(loop_sum0, x.sum(dim=0)) and torch.allclose(loop_mean1, x.mean(dim=1))
assert x.mean(dim=1, keepdim=True).shape == (3, 1) and torch.equal(indices, torch.tensor([3, 3, 3]))
assert torch.allclose(centered_cols.mean(dim=0), torch.zeros(4))

# %% [markdown]
# ## 7. 自动求导：`requires_grad` 与 `backward()`（补充）
#
# 训练神经网络，就是反复求"损失对参数的导数"再更新参数。PyTorch 的自动求导（autograd）替我们完成求导：
#
# 1. 创建张量时设 `requires_grad=True`，PyTorch 就会记下之后对它做的每一步运算（计算图，computational graph）；
# 2. 对最终的**标量**结果调用 `backward()`，PyTorch 沿计算图反向应用链式法则；
# 3. 导数存进**叶子张量**（leaf tensor）的 `.grad` 属性。
#
# 以 $f(x) = x^3 + 2x$ 为例，手算导数 $f'(x) = 3x^2 + 2$，在 $x = 2$ 处 $f'(2) = 14$。

# %%
# NBVAL_CHECK_OUTPUT
x = torch.tensor(2.0, requires_grad=True)
y = x ** 3 + 2 * x
y.backward()
print(f"y = {y.item():.1f};  autograd: dy/dx = {x.grad.item():.1f};  手算 3x^2 + 2 = {3 * 2.0 ** 2 + 2:.1f}")

# %% [markdown]
# `.grad` 是**累加**的：再做一次 `backward()`，新的导数会加到旧值上。所以训练循环每一步都要先清零（`optimizer.zero_grad()` 做的就是这件事）。

# %%
# NBVAL_CHECK_OUTPUT
y = x ** 3 + 2 * x
y.backward()
print("没有清零，第二次 backward 后 x.grad =", x.grad.item())   # 14 + 14
x.grad.zero_()
print("清零后 x.grad =", x.grad.item())

# %% [markdown]
# 导数的几何意义是切线的斜率。下图在 $x_0 = 1$ 处画出切线，斜率由 autograd 算出，应等于 $3 \cdot 1^2 + 2 = 5$。

# %%
show(TP.tangent_figure(lambda t: t ** 3 + 2 * t, 1.0, label="f(x) = x^3 + 2x"))

# %% [markdown]
# 神经网络的参数就是 `requires_grad=True` 的张量。例如全连接层 `nn.Linear(3, 2)` 有一个 $2 \times 3$ 的权重矩阵和长度为 2 的偏置，参数个数为 $3 \times 2 + 2 = 8$。把每个参数的 `numel()` 加起来，就能数出任何模型的参数量。

# %%
# NBVAL_CHECK_OUTPUT
layer = torch.nn.Linear(3, 2)
for name, p in layer.named_parameters():
    print(f"{name:>6}: shape={tuple(p.shape)}, requires_grad={p.requires_grad}")
print("参数总数:", sum(p.numel() for p in layer.parameters()))

# %% [markdown]
# **验证**：在几个点上（包括切线图的 $x_0 = 1$，斜率 5）对照 autograd 与手算导数；向量情形 $\frac{\partial}{\partial v}\sum_i v_i^2 = 2v$；不清零时第二次 `backward()` 把梯度加到旧值上；参数个数与公式一致（卷积层 `Conv2d(3, 8, 3)`：$8 \cdot 3 \cdot 3 \cdot 3 + 8 = 224$）。

# %%
# NBVAL_CHECK_OUTPUT
for x0 in [-1.5, 0.0, 1.0, 2.0, 3.0]:
    auto = T.autograd_slope(lambda t: t ** 3 + 2 * t, x0)
    print(f"x0 = {x0:4.1f}: autograd {auto:7.3f}, 3x^2 + 2 = {3 * x0 ** 2 + 2:7.3f}")
    assert math.isclose(auto, 3 * x0 ** 2 + 2, rel_tol=1e-9, abs_tol=1e-9)
v = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
(v ** 2).sum().backward()
print("d/dv sum(v^2) =", v.grad.tolist(), "= 2v")
assert torch.equal(v.grad, 2 * v.detach())

# %%
# NBVAL_CHECK_OUTPUT
x_acc = torch.tensor(2.0, requires_grad=True)
for _ in range(2):
    (x_acc ** 3 + 2 * x_acc).backward()
print("两次 backward 之后 x.grad =", x_acc.grad.item(), "= 14 + 14")
assert x_acc.grad.item() == 2 * 14.0
conv = torch.nn.Conv2d(3, 8, 3)
print("Linear(3, 2):", sum(p.numel() for p in layer.parameters()), "  Conv2d(3, 8, 3):", sum(p.numel() for p in conv.parameters()))
assert sum(p.numel() for p in layer.parameters()) == 3 * 2 + 2 and sum(p.numel() for p in conv.parameters()) == 8 * 3 * 3 * 3 + 8

# %% [markdown]
# ## 8. 把张量放到设备上（补充）
#
# 张量的第三项身份信息是设备（device）。GPU 能并行完成大量逐元素运算和矩阵乘法，所以训练通常在 GPU 上进行。要点：
#
# - `get_device()`（本章开头从 `helpers` 导入）依次尝试 `cuda`（NVIDIA GPU）、`mps`（Apple 芯片）、`cpu`，返回可用的最好设备；
# - `x.to(device)` 返回放在该设备上的张量（已经在那里就不复制）；`.cpu()` 搬回 CPU；
# - 参与同一次运算的张量必须在同一个设备上，否则报 `RuntimeError`（例外：0 维的 CPU 张量可以像普通数字一样和 GPU 上的张量一起运算）；
# - 打印、转成 NumPy、画图之前先 `.cpu()`；取出单个数用 `.item()`。
#
# 下面第一格打印的设备取决于你的机器（本课程在 CPU 上也能完整运行）。

# %%
device = get_device()
print("当前设备:", device)

# %%
# NBVAL_CHECK_OUTPUT
x = torch.arange(6.0).reshape(2, 3)
xd = x.to(device)              # 搬到设备上
yd = xd * 2 + 1                # 运算在设备上进行
back = yd.cpu()                # 搬回 CPU
print("形状与类型不变:", tuple(yd.shape), yd.dtype)
print("运算结果和输入在同一设备:", yd.device == xd.device, "| 搬回后在:", back.device)

# %% [markdown]
# **验证**：在设备上算出的结果搬回 CPU 后，与直接在 CPU 上计算完全相同；张量已经在目标设备上时，`.to` 直接返回它本身，不复制。

# %%
# NBVAL_CHECK_OUTPUT
print("设备上算的:", back.tolist())
print("CPU 上算的:", (x * 2 + 1).tolist())
assert torch.equal(back, x * 2 + 1) and back.device.type == "cpu" and xd.device.type == device.type
assert xd.to(device) is xd and back.cpu() is back

# %% [markdown]
# ## 小结
#
# - 用 `torch.tensor(数据)` 创建张量，dtype 由数据推断；按形状创建用 `torch.zeros / ones / rand / empty`。`torch.Tensor(整数...)` 返回未初始化的 `float32` 张量，`torch.IntTensor` 会截断小数。
# - 索引、切片与 NumPy 相同；普通切片是共用内存的视图，布尔掩码得到副本。
# - 形状只是解读内存的方式（步长）。`view` 不复制但要求布局兼容，`reshape` 必要时复制；转置后的张量不连续。
# - 逐元素运算要求形状相同或可广播：右对齐、左补 1、每维相等或有一个为 1。`*` 是逐元素乘，`@` 是矩阵乘法。
# - 沿 `dim` 归约会去掉这一维，`keepdim=True` 保留为长度 1，方便之后广播。
# - `sqrt/exp/log` 会把整数提升为 `float32`；原地版本对整数失败；定义域外得到 `nan`，`log(0)` 得到 `-inf`。
# - `requires_grad=True` + `backward()` 自动求导，结果在 `.grad` 里并且会累加；`.to(device)` 在设备间移动张量。

# %% [markdown]
# ## 面试速答
#
# - **`torch.tensor` 和 `torch.Tensor` 有什么区别？** 前者是工厂函数，把数据拷进新张量并推断 dtype；后者是类构造函数，整数参数当形状（值未初始化），列表参数当数据，结果总是 `float32`。新代码应使用前者。
# - **`view` 和 `reshape` 的区别？** `view` 永远不复制，只在内存布局兼容（通常是连续）时可用；`reshape` 能 `view` 就 `view`，否则复制。把转置后的张量 `view` 成一维会报错。
# - **什么是广播？** 形状不同的张量做逐元素运算时，把形状右对齐、短的左边补 1，每一维要么相等要么有一个为 1，长度为 1 的维被虚拟复制（步长为 0，不占额外内存）。
# - **`*` 和 `@` 有什么不同？** `*` 逐元素相乘（Hadamard 积），`@` 是矩阵乘法 $C_{ij}=\sum_k A_{ik}B_{kj}$，要求内维相等。
# - **对 `IntTensor` 调用 `sqrt_()` 为什么报错？** 结果是浮点数，原地运算必须写回原张量的 `int32`，类型无法安全转换。
# - **`log(0)` 会得到什么？训练中如何避免？** 得到 `-inf`，再往下算很容易变成 `nan`。可以加小的 $\varepsilon$、用 `clamp` 限制下界，或者直接用数值稳定的组合函数（例如 `log_softmax`）。
# - **为什么每步训练前要清零梯度？** `.grad` 会累加多次 `backward()` 的结果，不清零就会把上一步的梯度带进来。

# %% [markdown]
# ## 练习
#
# **练习 1（广播）**：先不运行代码，推算 `torch.ones(2, 1, 3) + torch.ones(4, 1)` 的形状，把答案写成元组。

# %%
answer = None  # 在这里写你的答案，例如 (5, 6, 7)
exercises.check_broadcast_result(answer)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# 右对齐：`(2, 1, 3)` 对 `(1, 4, 1)`（短的左边补 1）。逐维比较：2 与 1 → 2，1 与 4 → 4，3 与 1 → 3。
#
# ```python
# answer = (2, 4, 3)
# exercises.check_broadcast_result(answer)
# ```
#
# </details>
#
# **练习 2（归约 + 广播）**：写一个函数 `center_rows(x)`，让形状 `(n, m)` 的矩阵每一**行**减去这一行自己的均值（结果每行均值为 0）。提示：想想 `keepdim`，并用方阵试一试。

# %%
center_rows = None  # 在这里写你的答案：def center_rows(x): return ...
exercises.check_center_rows(center_rows)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# 每行的均值 `x.mean(dim=1)` 形状是 `(n,)`。右对齐后，它对上的是 `x` 的**最后一维**（列，长度 $m$），而不是行。于是 `x - x.mean(dim=1)` 的结果取决于 $n$ 和 $m$：
#
# - $n \ne m$ 且两者都大于 1：$m$ 对 $n$ 无法广播，报 `RuntimeError`；
# - $n = m$（方阵）：不报错，但第 $j$ 行的均值被减在了第 $j$ **列**上，悄悄算错；
# - $m = 1$：`(n, 1)` 减 `(n,)` 被广播成 `(n, n)`，连形状都变了，同样不报错；
# - $n = 1$：只有一行，碰巧算对。
#
# 加上 `keepdim=True` 得到形状 `(n, 1)`，它沿列方向复制，对任何 $n$、$m$ 都正确。
#
# ```python
# def center_rows(x):
#     return x - x.mean(dim=1, keepdim=True)
#
# exercises.check_center_rows(center_rows)
# ```
#
# </details>
#
# **练习 3（自动求导）**：用 autograd 求 $f(x) = x^2 e^x$ 在 $x = 1$ 处的导数（一个数或 0 维张量）。

# %%
grad_at_1 = None  # 在这里写你的答案
exercises.check_grad_value(grad_at_1)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# 手算：$f'(x) = (2x + x^2)e^x$，所以 $f'(1) = 3e \approx 8.1548$。用 autograd：
#
# ```python
# x = torch.tensor(1.0, requires_grad=True)
# y = x ** 2 * torch.exp(x)
# y.backward()
# grad_at_1 = x.grad
# exercises.check_grad_value(grad_at_1)
# ```
#
# </details>

# %% [markdown]
# ---
#
# [← 第0章 深度学习与机器学习](00_overview.ipynb) · [第2章 激活函数 →](02_activations.ipynb)
