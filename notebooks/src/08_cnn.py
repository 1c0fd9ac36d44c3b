# %% [markdown]
# # 第8章 卷积神经网络 (Convolutional neural networks)
#
# **学习目标**
#
# - 把图片看成张量：二值图、灰度图、RGB 图各是什么形状、取值在什么范围
# - 亲手算一次卷积：单通道时窗口乘核再求和，多通道时再对通道求和；一个卷积核给出一张特征图
# - 用 $N = \lfloor (W + 2P - D(F-1) - 1)/S \rfloor + 1$ 算出任意步长、填充、空洞下的输出大小，并数清参数量
# - 分清"平移等变"（卷积）和"一点点平移不变"（池化），会用 `MaxPool2d` / `AvgPool2d` 的各个选项
# - 在 8×8 手写数字上几秒钟训练一个小 CNN（验证准确率 ≥ 95%），看它学到的卷积核和每一层的特征图
#
# **预计用时**：75–90 分钟
#
# **先修**：第2章 激活函数（ReLU）、第4章 损失函数（交叉熵）、第5章 优化器（Adam）

# %%
import inspect

import torch
import torch.nn as nn
import torch.nn.functional as F

from helpers import cnn, data, show_source
from helpers.exercises import cnn as exercises
from helpers.cnn import digits_cnn, digits_mlp
from helpers.panels.cnn import (conv_arithmetic_panel, feature_maps_figure, feature_maps_panel, filter_panel,
                                image_types_figure, kernels_figure, padding_modes_figure, shift_panel)
from helpers.plotting import show
from helpers.training import accuracy, evaluate, fit, plot_histories

# %% [markdown]
# 全连接网络（MLP）把一张图片拉平成一个长向量，"左上角的像素"和"右下角的像素"对它来说只是向量里两个不相干的下标。
# 可图片有很强的**空间结构**：相邻像素往往相关，同一个图案（一条边、一个圆角）可能出现在图中任何位置。
# 卷积神经网络（convolutional neural network, CNN）把这两点直接写进网络结构：用一个小窗口在图上滑动、处处使用同一组权重。
#
# 本章按笔记的顺序走：图像怎样表示成张量 → CNN 的整体结构 → 卷积层（计算、作用、步长、填充、输出大小、参数量、API）→ 池化层 → 最后在手写数字上真正训练一个 CNN。
# 笔记里只有 API 的签名模板、没有能运行的模型，这一章把它补上。

# %% [markdown]
# ## 1. 图像是什么样的张量
#
# 一张图片就是一个数字网格。按每个像素存几个数、数的取值范围，常见三类：
#
# | 类型 | 通道数 | 像素取值 | 含义 |
# |---|---|---|---|
# | 二值图（binary image） | 1 | 只有 0 和 1 | 黑 / 白 |
# | 灰度图（grayscale image） | 1 | 0–255 的整数（`uint8`） | 只有亮度：0 是纯黑，255 是纯白 |
# | **彩色 RGB 图**（RGB image） | 3 | 每个通道 0–255 | 红、绿、蓝三种光的强度叠加出颜色 |
#
# PyTorch 的约定是**通道在前**：一张图是 $(C, H, W)$，一批图是 $(N, C, H, W)$。位置 $(i, j)$（第 $i$ 行、第 $j$ 列）处的颜色是三个数 $x[0, i, j], x[1, i, j], x[2, i, j]$，分别是 R、G、B。
# 送进网络之前，`uint8` 通常先除以 255 变成 $[0, 1]$ 的浮点数。
#
# > **⚠ 笔记勘误（轻微）**
# >
# > **笔记的写法**：两处把三通道写成 "RBG"。
# >
# > **正确的说法**：通道顺序是 **RGB**（红、绿、蓝）。顺序确实要紧：OpenCV 读图默认是 BGR，和 PyTorch / PIL 的 RGB 混用时红蓝会对调。
#
# 下面用 matplotlib 自带的一张照片（`helpers.data.photo`，不需要下载）看三种表示。每个通道本身就是一张灰度图（越亮，这种颜色的光越多），所以下图把 R、G、B 三个通道都画成灰度：

# %%
# NBVAL_CHECK_OUTPUT
rgb = data.photo(size=64)                              # (3, 64, 64)，float32，取值 [0, 1]
gray = data.photo(gray=True, size=64)                  # (1, 64, 64)：Y = 0.299 R + 0.587 G + 0.114 B
binary = (gray > 0.5).float()                          # 阈值化：只剩 0 和 1
as_uint8 = (rgb * 255).round().to(torch.uint8)         # 存盘时常见的 0..255 整数
for name, t in [("RGB", rgb), ("gray", gray), ("binary", binary), ("RGB uint8", as_uint8)]:
    lo, hi = t.min().item(), t.max().item()
    print(f"{name:9s} shape {tuple(t.shape)}  dtype {str(t.dtype):13s} values in [{lo:g}, {hi:g}]")
print("pixel (0, 0) as (R, G, B):", as_uint8[:, 0, 0].tolist())

# %%
show(image_types_figure(rgb))

# %% [markdown]
# **验证**：灰度图就是三个通道的加权和；二值图只含 0 和 1；`uint8` 与浮点表示之间只差一个因子 255（加上取整误差）。

# %%
# NBVAL_CHECK_OUTPUT
weights = torch.tensor([0.299, 0.587, 0.114]).reshape(3, 1, 1)
assert torch.allclose((weights * rgb).sum(0, keepdim=True), gray, atol=1e-6)
assert set(binary.unique().tolist()) <= {0.0, 1.0}
assert (as_uint8.float() / 255 - rgb).abs().max() <= 0.5 / 255 + 1e-6
print(f"gray == 0.299R + 0.587G + 0.114B: True；binary 的取值 {binary.unique().tolist()}；"
      f"uint8/255 与 float 的最大差 {(as_uint8.float() / 255 - rgb).abs().max().item() * 255:.2f}/255")

# %% [markdown]
# ## 2. CNN 的整体结构
#
# 一个典型的 CNN 由若干个"卷积块"堆起来，最后接一个分类头：
#
# 1. **卷积层**（convolutional layer）：用小卷积核提取局部特征（边缘、角点、纹理……），输出若干张**特征图**（feature map）；
# 2. **批归一化**（BatchNorm，可选，第7章）；
# 3. **激活函数**，通常是 ReLU；
# 4. **池化层**（pooling layer）：在空间上下采样，把特征图的高宽缩小；
# 5. 重复 1–4 若干次后，**展平**（flatten）再接**全连接层**输出各类别的分数（logits）。
#
# > **⚠ 笔记勘误（轻微）**
# >
# > **笔记的写法**：结构列表里"池化层：降维"和"Pooling：在特征空间下采样"是两项。
# >
# > **正确的说法**：它们是同一层，应合并为一项；另外笔记漏了最后的分类头（展平 + 全连接）。本章第 5 节训练的网络就是"卷积块 × 2 + 全连接"。

# %% [markdown]
# ## 3. 卷积层
#
# ### 3.1 一个通道：窗口乘核，再求和
#
# 先看最简单的情形：一张单通道图 $x$（$H \times W$）和一个 $k \times k$ 的卷积核（kernel）$K$。把卷积核盖在图的左上角，对应位置相乘后全部加起来，得到输出的第一个数；然后把卷积核向右、向下滑动，每个位置重复一次：
#
# $$y[i, j] = \sum_{u=0}^{k-1}\sum_{v=0}^{k-1} K[u, v]\; x[i + u,\ j + v] \; + \; b$$
#
# - $y[i, j]$：输出（特征图）第 $i$ 行第 $j$ 列；
# - $K[u, v]$：卷积核第 $u$ 行第 $v$ 列的权重；$b$：偏置（bias），整张特征图共用一个。
#
# 注意 PyTorch 的"卷积"其实是**互相关**（cross-correlation）：卷积核不翻转，直接对齐相乘。数学课上的卷积要先把核旋转 180°；对要学习的权重来说两者没有区别。
# `helpers.cnn.conv2d_single_channel` 照这个公式用两层循环写成：

# %%
show_source(cnn.conv2d_single_channel)

# %% [markdown]
# **验证**：两层循环的结果与 `F.conv2d` 相同；把核翻转后再用 `F.conv2d`（即数学上的卷积）结果就不同了。

# %%
# NBVAL_CHECK_OUTPUT
x2d = torch.arange(25.0).reshape(5, 5)
k2d = torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
ours = cnn.conv2d_single_channel(x2d, k2d)
theirs = F.conv2d(x2d[None, None], k2d[None, None])[0, 0]
flipped = F.conv2d(x2d[None, None], k2d.flip(0, 1)[None, None])[0, 0]
print("loops:\n", ours)
print("flipped kernel (true convolution):\n", flipped)
assert torch.equal(ours, theirs) and not torch.equal(ours, flipped)
print("与 F.conv2d 相同：", torch.equal(ours, theirs), "；与翻转核的真卷积相同：", torch.equal(ours, flipped))

# %% [markdown]
# 卷积核决定了"找什么"。几个经典的 $3\times3$ 核：
#
# - **边缘**（Laplacian、Sobel）：权重之和为 0，平坦区域输出 0，只有亮度变化处有响应；Sobel x 找竖直边，Sobel y 找水平边；
# - **模糊**（box、Gaussian）：权重都为正、和为 1，相当于邻域加权平均；
# - **锐化**（sharpen）= 恒等核 + Laplacian：在原图上叠加边缘。
#
# 下面的面板**拆开一个输出像素**（参照 CNN Explainer）。用 output row i、output column j 选输出的一个位置：
#
# - 左图是输入（$48\times48$ 的灰度照片），橙框是这个输出用到的 $3\times3$ 窗口；
# - 中图是整张特征图，橙框是选中的那个输出；
# - 右边把公式摊开：窗口里的 9 个数 × 卷积核的 9 个权重 = 9 个乘积，乘积相加得 Σ，再加偏置 $b$，就是这个输出的值。格子里的数四舍五入到两位，Σ 和最后的结果是按没有舍入的数算的。
#
# **颜色的含义**（本章所有图都一样）：图片用灰度，0 是黑、1 是白（RGB 图按它本来的颜色画）；有正负的量（卷积核、乘积、特征图）用红白蓝：白色是 0，红色为正，蓝色为负，颜色范围对 0 对称（$[-m, m]$，$m$ 是这一组数里绝对值最大的那个，核、乘积、特征图各用各的 $m$），所以同一组里同样深的红和蓝大小相同。
#
# 选一个预设核时，下面 3×3 排列的九个权重滑块显示这个核的数值（灰着，因为预设时它们不起作用）；选 "custom" 后它们启用，从刚才显示的核开始改。
#
# 可以试试（「」里的名字是面板上方"试试："一行里的按钮，点一下就设好这个实验，没提到的控件回到默认值；"↺ 默认"回到开始的设置）：
#
# - 「边缘处」把窗口移到一条边上（按钮选的是第 34 行、第 20 列），「平坦处」再移到一片平坦的地方（第 21 行、第 36 列）：边上的 Σ 可以大到 1 以上，平坦处 9 个乘积正负几乎抵消，Σ 接近 0（边缘核的权重和为 0，完全平坦的一块输出正好是 0）；
# - 「补零角」先把卷积核选成 Sobel x 或 blur（默认的 Laplacian 右下角的权重是 0，乘积会全是 0；按钮选 Sobel x），再把 zero padding P 调到 2、row 和 column 都调到 0：窗口落在左上角补的 0 上，9 个数里只有右下角一个来自图片，所以乘积里只有它可能不是 0；
# - 「步长 2」「步长 3」把 P 调回 0，再把 stride 调到 2、3：输出从 $46\times46$ 变成 $23\times23$、$16\times16$，row、column 滑块的范围跟着变小；
# - 「中列改 1」先选 Sobel x，再切到 "custom"，把中间一列改成 1：权重和不再是 0（变成 3），平坦区域的输出变成"权重和 × 亮度"；
# - 「偏置 1」拖动 bias $b$（按钮把它拖到最右边的 1）：每个输出都加上同一个 $b$，整张特征图一起变。

# %%
filter_panel()

# %% [markdown]
# **验证**：边缘核的权重和为 0，所以平坦的一块（处处同一亮度）经过它们输出 0；两个模糊核的权重都为正、和为 1；锐化核 = 恒等核 + Laplacian。
# 任意核作用在亮度为 $v$ 的平坦块上得到"权重和 × $v$ + $b$"；偏置让每个输出加上同一个 $b$。
# 面板拆开的那个输出（`helpers.cnn.explain_pixel`：窗口、逐元素乘积、和加偏置）等于 `F.conv2d` 在同一位置的输出，补 0 的角上也一样；`P = 2` 时左上角输出的窗口里只有右下角是图片的像素；输出大小 46、23、16 与公式一致；Laplacian 作用在照片上，最大的输出超过 1，又有一成以上的输出绝对值小于 0.02。
# 面板本身：选预设核后九个权重滑块显示它的数值并禁用；切到 "custom" 后滑块不动、画面不变（同一个核），滑块启用。
# 面板的按钮（设置从按钮读出）：「边缘处」的输出大于 1，「平坦处」的输出绝对值小于 0.02，它的 9 个乘积却不全是 0；「补零角」的核右下角的权重不是 0，窗口里只有右下角是图片的像素，其余 8 个乘积都是 0；「步长 2」「步长 3」的 P 是 0，输出是 $23\times23$、$16\times16$；「中列改 1」的核是 Sobel x 把中间一列换成 1，权重和为 3；「偏置 1」让每个输出加 1。

# %%
# NBVAL_CHECK_OUTPUT
kernel = cnn.preset_kernel
flat = torch.full((1, 1, 6, 6), 0.7)                    # a flat patch of brightness 0.7
for name in ("edges (Laplacian)", "vertical edges (Sobel x)", "horizontal edges (Sobel y)"):
    assert kernel(name).sum() == 0 and F.conv2d(flat, kernel(name)[None, None]).abs().max() < 1e-6, name
for name in ("blur (box)", "blur (Gaussian)"):
    assert (kernel(name) > 0).all() and abs(kernel(name).sum().item() - 1) < 1e-6, name
assert torch.equal(kernel("sharpen"), kernel("identity") + kernel("edges (Laplacian)"))
k_custom = kernel("vertical edges (Sobel x)").clone()
k_custom[:, 1] = 1.0                                    # the middle column set to 1: the weights sum to 3
flat_out = F.conv2d(flat, k_custom[None, None], torch.tensor([0.2]))
assert torch.allclose(flat_out, torch.full_like(flat_out, k_custom.sum().item() * 0.7 + 0.2), atol=1e-6)
print("edge kernels sum to 0 (flat patch -> 0); blur kernels positive, sum 1; sharpen = identity + Laplacian; "
      "flat patch -> (sum of weights) × brightness + b")

# %%
# NBVAL_CHECK_OUTPUT
photo48 = data.photo(gray=True, size=48)                # the panel's grey input
k = kernel("edges (Laplacian)")
for stride, padding in [(1, 0), (2, 2), (3, 1)]:
    y = F.conv2d(photo48[None], k[None, None], stride=stride, padding=padding)[0, 0]
    for i, j in [(0, 0), (y.shape[0] - 1, 3), (7, y.shape[1] - 1)]:
        ex = cnn.explain_pixel(photo48, k[None], 0.0, stride=stride, padding=padding, row=i, col=j)
        assert abs(ex.output - y[i, j].item()) < 1e-5 and torch.allclose(ex.products, ex.window * k)
corner = cnn.explain_pixel(photo48, k[None], stride=1, padding=2, row=0, col=0)
assert corner.window[0, 2, 2] == photo48[0, 0, 0] and (corner.window[0].flatten()[:-1] == 0).all()
assert [cnn.conv_output_size(48, 3, s) for s in (1, 2, 3)] == [46, 23, 16]
print("explained pixel == F.conv2d (also in the zero padding); output 46, 23, 16")

# %%
# NBVAL_CHECK_OUTPUT
no_bias, with_bias = F.conv2d(photo48[None], k[None, None]), F.conv2d(photo48[None], k[None, None], torch.tensor([0.3]))
assert torch.allclose(with_bias, no_bias + 0.3, atol=1e-6)   # the bias adds b to every output
edges_out = no_bias[0].abs()                            # Laplacian on the photo: large on edges, near 0 where flat
assert edges_out.max() > 1 and (edges_out < 0.02).float().mean() > 0.1
print(f"bias adds b everywhere; Laplacian on the photo: max |y| {edges_out.max():.2f}, "
      f"{(edges_out < 0.02).float().mean():.0%} of outputs below 0.02")

# %%
# NBVAL_CHECK_OUTPUT
panel = filter_panel()                                  # the panel's controls, without showing it
panel.controls["kernel"].value = "sharpen"
weights = [panel.controls[f"w{r}{c}"] for r in range(3) for c in range(3)]
assert [w.value for w in weights] == kernel("sharpen").flatten().tolist() and all(w.disabled for w in weights)
shown = panel.png
panel.controls["kernel"].value = "custom"
assert [w.value for w in weights] == kernel("sharpen").flatten().tolist() and not any(w.disabled for w in weights)
assert panel.png == shown
print("the weight sliders show the preset (disabled); custom starts from it, same picture")

# %%
def state_pixel(state: str):
    """The panel's explained output in the named state (grey input), with the kernel and all the state's settings."""
    v = panel.state_values(state)
    k = kernel(v["kernel"]) if v["kernel"] != "custom" else torch.tensor([v[n] for n in weight_names]).reshape(3, 3)
    ex = cnn.explain_pixel(photo48, k[None], v["bias"], stride=v["stride"], padding=v["padding"], row=v["row"], col=v["col"])
    return ex, k, v


weight_names = [f"w{r}{c}" for r in range(3) for c in range(3)]

# %%
edge, flat_spot = state_pixel("边缘处")[0], state_pixel("平坦处")[0]
assert edge.output > 1 and abs(flat_spot.output) < 0.02 and (flat_spot.products.abs() > 0.1).sum() >= 5
corner, k_corner, v_corner = state_pixel("补零角")
assert v_corner["padding"] == 2 and (v_corner["row"], v_corner["col"]) == (0, 0) and k_corner[2, 2] != 0
assert corner.window[0, 2, 2] == photo48[0, 0, 0] and (corner.window[0].flatten()[:-1] == 0).all()
assert (corner.products[0].flatten()[:-1] == 0).all() and corner.products[0, 2, 2] != 0
sizes = [cnn.conv_output_size(48, 3, v["stride"], v["padding"]) for v in map(panel.state_values, ("步长 2", "步长 3"))]
assert sizes == [23, 16] and all(panel.state_values(s)["padding"] == 0 for s in ("步长 2", "步长 3"))

# %%
# NBVAL_CHECK_OUTPUT
k_middle = state_pixel("中列改 1")[1]
assert panel.state_values("中列改 1")["kernel"] == "custom" and torch.equal(k_middle, k_custom) and k_middle.sum() == 3
b_state = panel.state_values("偏置 1")["bias"]
y_state = F.conv2d(photo48[None], kernel("edges (Laplacian)")[None, None], torch.tensor([b_state]))
assert b_state == 1 and torch.allclose(y_state, F.conv2d(photo48[None], kernel("edges (Laplacian)")[None, None]) + 1, atol=1e-6)
print(f"边缘处 y = {edge.output:.3f}, 平坦处 y = {flat_spot.output:.4f}; 补零角: only the bottom-right product "
      f"{corner.products[0, 2, 2]:.2f} is not 0; 步长 2, 3: {sizes[0]}×{sizes[0]}, {sizes[1]}×{sizes[1]}; "
      f"中列改 1: weights sum to {k_middle.sum():.0f}; 偏置 1 adds 1 everywhere")

# %% [markdown]
# ### 3.2 多个通道：对通道也求和
#
# RGB 图有 3 个通道，卷积核也必须有 3 个通道：$K \in \mathbb{R}^{C \times k \times k}$（笔记写作 $k \times k \times C$）。计算一个输出位置时：
#
# 1. 每个通道各自做 3.1 的"窗口乘核再求和"；
# 2. 再把 $C$ 个通道的结果**加在一起**（加上偏置），得到**一个**数。
#
# 卷积核只在高、宽两个方向滑动，不沿通道方向滑动，所以**一个卷积核只产生一张特征图**。想要 $C_{out}$ 张特征图，就用 $C_{out}$ 个卷积核，权重形状是 $(C_{out}, C_{in}, k, k)$：
#
# $$y[o, i, j] = b_o + \sum_{c=0}^{C_{in}-1}\sum_{u=0}^{k-1}\sum_{v=0}^{k-1} w[o, c, u, v]\; x[c,\ i + u,\ j + v]$$
#
# 所以 `nn.Conv2d(in_channels, out_channels, ...)` 里，`in_channels` 必须等于输入的通道数，`out_channels` 就是卷积核的个数、也是输出的通道数。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
conv = nn.Conv2d(3, 8, kernel_size=3)                  # 8 个卷积核，每个形状 (3, 3, 3)
x = torch.randn(1, 3, 6, 6)
y = conv(x)
by_hand = (conv.weight[0] * x[0, :, 0:3, 0:3]).sum() + conv.bias[0]   # 第 0 个核、左上角的窗口
print("weight", tuple(conv.weight.shape), " bias", tuple(conv.bias.shape), " output", tuple(y.shape))
print(f"y[0, 0, 0, 0] = {y[0, 0, 0, 0].item():.5f}，手算（三个通道的乘积全部相加 + 偏置）= {by_hand.item():.5f}")
per_channel = [(conv.weight[0, c] * x[0, c, 0:3, 0:3]).sum().item() for c in range(3)]
print("三个通道各自的和：", [round(v, 4) for v in per_channel])

# %% [markdown]
# 回到 3.1 的面板，把 input 换成 "RGB shapes"（一张用代码画的 $48\times48$ 彩色小图）。权重变成 $(1, 3, 3, 3)$：每个通道一个核，这里是同一个 $3\times3$ 核分别乘上 "× on R"、"× on G"、"× on B"。右边拆成三行：每个通道各自"窗口 × 核"再求和得到 $\Sigma_R, \Sigma_G, \Sigma_B$，最后一行把三个通道的和相加、再加偏置，得到**一个**输出。
#
# 可以试试：「只留红」选 Laplacian，把 × on G 和 × on B 设为 0，只留红色通道。红色圆和黄色条（黄 = 红 + 绿）的边缘很亮，绿色方块的边几乎看不见：它的红色分量（0.15）和背景（0.12）差不多。「只留蓝」只留蓝色通道时，最亮的是蓝色三角的边。
#
# **验证**：面板的 RGB 输出等于 `F.conv2d`（`in_channels=3`）；拆开的一个输出等于三个通道的和加偏置；绿色方块的红色分量是 0.15、背景是 0.12；「只留红」（读自面板的按钮）时，绿色方块周围的最大响应不到红色圆、黄色条周围的 10%；「只留蓝」时，蓝色三角周围的响应最大。

# %%
# NBVAL_CHECK_OUTPUT
shapes = cnn.colour_shapes(48)                          # (3, 48, 48)
lap = cnn.preset_kernel("edges (Laplacian)")
def channel_kernels(mix):                               # one kernel per channel: the kernel × (r, g, b)
    return torch.stack([m * lap for m in mix])
w_rgb, b_rgb = channel_kernels((1.0, -0.5, 0.25)), 0.1
y_rgb = F.conv2d(shapes[None], w_rgb[None], torch.tensor([b_rgb]), stride=2, padding=1)[0, 0]
for i, j in [(0, 0), (10, 12), (23, 23)]:
    ex = cnn.explain_pixel(shapes, w_rgb, b_rgb, stride=2, padding=1, row=i, col=j)
    assert abs(ex.channel_sums.sum().item() + b_rgb - y_rgb[i, j].item()) < 1e-5 and abs(ex.output - y_rgb[i, j].item()) < 1e-5
print("RGB: explained pixel = ΣR + ΣG + ΣB + b = F.conv2d with in_channels=3")

# %%
regions = {"disc": (slice(0, 26), slice(0, 26)), "square": (slice(26, 46), slice(2, 22)),
           "triangle": (slice(2, 25), slice(25, 47)), "bar": (slice(29, 40), slice(25, 46))}
def response(mix):
    y = F.conv2d(shapes[None], channel_kernels(mix)[None], padding=1)[0, 0]
    return {name: y[r, c].abs().max().item() for name, (r, c) in regions.items()}
def state_mix(state: str) -> tuple[float, float, float]:
    """The × on R, G, B of the filter panel's named state (built above as ``panel``)."""
    v = panel.state_values(state)
    assert v["input"] == "rgb" and v["kernel"] == "edges (Laplacian)"
    return v["mix_r"], v["mix_g"], v["mix_b"]


# %%
# NBVAL_CHECK_OUTPUT
red_only, blue_only = response(state_mix("只留红")), response(state_mix("只留蓝"))
assert state_mix("只留红") == (1, 0, 0) and state_mix("只留蓝") == (0, 0, 1)
assert abs(shapes[0, 36, 12] - 0.15) < 1e-6 and shapes[1, 36, 12] > 0.7 and abs(shapes[0, 0, 47] - 0.12) < 1e-6
assert red_only["square"] < 0.1 * min(red_only["disc"], red_only["bar"])
assert max(blue_only, key=blue_only.get) == "triangle"
print("red only: square edge", f"{red_only['square']:.2f}",
      "vs disc", f"{red_only['disc']:.2f}", "and bar", f"{red_only['bar']:.2f}; blue only: the triangle is brightest")

# %% [markdown]
# `helpers.cnn.conv2d` 把这个三重求和写成一次矩阵乘法：先用 `im2col` 把每个窗口展开成一列（形状 $(C_{in}k^2,\ H'W')$），再用形状 $(C_{out},\ C_{in}k^2)$ 的权重矩阵乘它，每一行正好是一个卷积核和所有窗口的点积。
# 这也是很多深度学习框架在 CPU 上实现卷积的基本思路。

# %%
show_source(cnn.im2col)

# %% [markdown]
# **验证**：随机的输入、核、步长、填充、空洞组合下，`helpers.cnn.conv2d` 与 `F.conv2d` 一致；手算的 `y[0,0,0,0]` 等于层的输出。

# %%
# NBVAL_CHECK_OUTPUT
assert torch.allclose(by_hand, y[0, 0, 0, 0], atol=1e-6)
gen = torch.Generator().manual_seed(1)
worst = 0.0
for stride, padding, dilation in [(1, 0, 1), (2, 1, 1), (1, 2, 2), (3, 1, 2)]:
    xb = torch.randn(2, 3, 9, 10, generator=gen, dtype=torch.float64)
    w = torch.randn(4, 3, 3, 3, generator=gen, dtype=torch.float64)
    b = torch.randn(4, generator=gen, dtype=torch.float64)
    mine = cnn.conv2d(xb, w, b, stride, padding, dilation)
    ref = F.conv2d(xb, w, b, stride, padding, dilation)
    assert mine.shape == ref.shape and torch.allclose(mine, ref)
    worst = max(worst, (mine - ref).abs().max().item())
print(f"4 种设置下 helpers.cnn.conv2d 与 F.conv2d 的最大差 < 1e-12：{worst < 1e-12}")

# %% [markdown]
# ### 3.3 卷积层的作用
#
# - **特征提取**：每个卷积核是一个"模式探测器"，特征图上数值大的地方就是这个模式出现的地方。
# - **权重共享**（weight sharing）：同一个卷积核在所有位置重复使用。$3\times3$ 的单通道核只有 9 个权重，不管图片是 8×8 还是 1000×1000。
# - **局部连接**（local connectivity）：每个输出只看输入中一个 $k \times k \times C$ 的邻域，这个邻域叫它的**局部感受野**（local receptive field）。叠加多层后，深层神经元的感受野会越来越大。
# - **平移等变**（translation equivariance）：把输入平移，特征图跟着平移同样的距离。
#
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**："平移等变：图的输入变化了，卷积层的特征输出图也会改变。"
# >
# > **正确的说法**："输入变了输出就变"说的不是等变，而且对卷积也不总成立：权重和为 0 的核（比如 3.1 节的 Laplacian）不填充时对 $x$ 和 $x + 5$（每个像素都加 5）给出相同的输出（只差浮点舍入），常数偏移被抵消了。平移等变说的是**平移和卷积可以交换次序**：
# >
# > $$\mathrm{conv}(\mathrm{shift}(x)) = \mathrm{shift}(\mathrm{conv}(x))$$
# >
# > 先平移再卷积，等于先卷积再平移。对步长为 1 的卷积，在远离边界处严格成立；用循环填充（`padding_mode='circular'`）配合循环平移 `torch.roll` 时处处成立。全连接层一般没有这个性质。
# >
# > 证据见下一格：循环填充的卷积与循环平移可交换，随机的全连接层不行；Laplacian 核分不出 $x$ 和 $x + 5$。

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
img = torch.randn(1, 1, 12, 12)
k = nn.Conv2d(1, 4, 3, padding=1, padding_mode="circular")
roll = lambda t: torch.roll(t, shifts=(2, 3), dims=(2, 3))       # 向下 2 格、向右 3 格（循环）
print("conv(shift(x)) == shift(conv(x))：", torch.allclose(k(roll(img)), roll(k(img)), atol=1e-6))
fc = nn.Linear(144, 144)                                          # 全连接层：同样的输入输出大小
fc_map = lambda t: fc(t.flatten(1)).reshape(1, 1, 12, 12)
print("全连接层 fc(shift(x)) == shift(fc(x))：", torch.allclose(fc_map(roll(img)), roll(fc_map(img)), atol=1e-6))
laplacian = cnn.preset_kernel("edges (Laplacian)")[None, None]
gap = (F.conv2d(img, laplacian) - F.conv2d(img + 5, laplacian)).abs().max().item()    # no padding
same = gap < 1e-5
print("Laplacian（不填充）: conv(x) 与 conv(x + 5) 的最大差 < 1e-5，输入变了输出却没变：", same)
assert torch.allclose(k(roll(img)), roll(k(img)), atol=1e-6) and same
assert not torch.allclose(fc_map(roll(img)), roll(fc_map(img)), atol=1e-6)

# %% [markdown]
# ### 3.4 步长、填充与空洞
#
# - **步长**（stride）$S$：卷积核每次移动几格。步长决定采样有多密（输出的分辨率），卷积核大小决定每个输出看多大一块（感受野）。$S = 2$ 时输出的高宽大约减半。
# - **填充**（padding）$P$：在图的四周补 $P$ 圈值。不填充时，角上的像素只被一个窗口覆盖，中间的像素被 $k^2$ 个窗口覆盖，边缘信息用得少；而且每过一层输出就缩小 $k - 1$。
#   $P = (k-1)/2$（奇数 $k$、步长 1）时输出和输入一样大。
# - **空洞**（dilation）$D$：卷积核的各个抽头（tap）之间隔 $D - 1$ 个像素。$3\times3$ 的核在 $D = 2$ 时覆盖 $5\times5$ 的范围，参数不变、感受野变大，即"空洞卷积"（dilated convolution）。
#
# 补什么值由 `padding_mode` 决定。下图把一个 $3\times3$ 的小图在四周各补 2 圈（红框是原图）：
#
# - `'zeros'`（默认）：补 0；
# - `'reflect'`：以边缘像素为镜面反射，边缘像素本身不重复，边界处没有突变；
# - `'replicate'`：重复最外圈的像素，边缘值被"拉长"；
# - `'circular'`：把图看成首尾相接，左边补右边的内容（笔记漏了这一种）。

# %%
show(padding_modes_figure(torch.arange(1.0, 10.0).reshape(3, 3), padding=2))

# %% [markdown]
# **验证**：`helpers.cnn.pad2d` 的四种模式与 `F.pad` 一致（`'zeros'` 对应 `F.pad` 的 `'constant'`）。

# %%
# NBVAL_CHECK_OUTPUT
small = torch.arange(1.0, 10.0).reshape(1, 1, 3, 3)
for mode, torch_mode in [("zeros", "constant"), ("reflect", "reflect"), ("replicate", "replicate"),
                         ("circular", "circular")]:
    ours = cnn.pad2d(small, 2, mode)
    assert torch.equal(ours, F.pad(small, (2, 2, 2, 2), mode=torch_mode)), mode
    print(f"{mode:9s} first padded row: {ours[0, 0, 0].tolist()}")

# %% [markdown]
# ### 3.5 输出大小
#
# 一个方向上（高或宽分开算），设输入大小 $W$、卷积核大小 $F$、填充 $P$、步长 $S$、空洞 $D$。空洞卷积核实际覆盖 $D(F-1) + 1$ 个像素；补完后的输入长 $W + 2P$；窗口的起点每次前进 $S$，最后一个窗口不能越过边界：
#
# $$N = \left\lfloor \frac{W + 2P - D(F - 1) - 1}{S} \right\rfloor + 1$$
#
# $D = 1$ 时就是 $N = \lfloor (W - F + 2P)/S \rfloor + 1$。
#
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：$N = \frac{W - F + 2P}{S} + 1$。
# >
# > **正确的说法**：除不尽时要**向下取整**（按步长再走一步，窗口就越过边界了，最后那几个像素被丢掉），而且有空洞时 $F$ 要换成 $D(F-1)+1$：$N = \lfloor (W + 2P - D(F-1) - 1)/S \rfloor + 1$。
# > 例如 $W = 6, F = 3, P = 0, S = 2$：笔记的公式给出 2.5，PyTorch 给出 2。
# >
# > 证据见下一格。
#
# > **⚠ 笔记勘误**
# >
# > **笔记的写法**：记忆口诀"填充大一圈，两边各少走一格"。
# >
# > **正确的说法**：填充让输入变大，卷积核能多走：**填充大一圈，两边各多走一格**，输出大 2（公式里是 $+2P$）。$W = 5, F = 3, S = 1$ 时，$P = 0, 1, 2$ 的输出分别是 3、5、7。
# >
# > 证据见下一格的最后三行。

# %%
# NBVAL_CHECK_OUTPUT
print(" W  F  P  S  D | PyTorch | floor formula | notes (W-F+2P)/S+1")
for W, Fk, P, S, D in [(32, 3, 1, 1, 1), (32, 5, 0, 1, 1), (6, 3, 0, 2, 1), (7, 3, 1, 2, 1), (28, 3, 0, 3, 1),
                       (10, 3, 0, 1, 2), (5, 3, 0, 1, 1), (5, 3, 1, 1, 1), (5, 3, 2, 1, 1)]:
    real = nn.Conv2d(1, 1, Fk, S, P, D)(torch.zeros(1, 1, W, W)).shape[-1]
    formula = cnn.conv_output_size(W, Fk, S, P, D)
    notes = (W - Fk + 2 * P) / S + 1
    print(f"{W:2d} {Fk:2d} {P:2d} {S:2d} {D:2d} | {real:7d} | {formula:13d} | {notes:g}")
    assert real == formula

# %% [markdown]
# 下面的面板把输出大小画出来：左边是补过边的输入（灰色是填充），橙色是卷积核当前的抽头，右边是输出网格，虚线连着"这个窗口算出了哪个输出"。这里的格子颜色只表示类别（见图例），不表示数值。
#
# - 拖动 "kernel position (output cell)"：它是输出格子的编号，按行数，从 0 到 $N^2 - 1$，每按一次方向键走一格；看卷积核按行扫过输入、输出一格一格填满。改变 W、F、S、P、D 时，它的范围跟着输出的格子数变；
# - 把 stride 调到 2、3：卷积核跳着走；如果最后剩下的像素不够卷积核再走一步（下一个窗口会越过边界），它们就**从来没被覆盖**（粉色），这就是公式里的向下取整；
#   步长比卷积核覆盖的范围还大时（比如 F = 1、S = 3），窗口**之间**的行和列也会被跳过（同样是粉色），那是步长造成的，和取整无关，读数会分开说明；
# - 把 dilation 调大：抽头之间出现空隙（浅橙），覆盖范围变大；
# - 调出一个不可能的组合（比如 W = 3、F = 5、P = 0）：面板会告诉你为什么没有输出。
#
# 图下方的读数同时给出正确公式和笔记公式的结果，不一致时打 ✗。

# %%
conv_arithmetic_panel()

# %% [markdown]
# **验证**：在 300 个随机组合上，`helpers.cnn.conv_output_size` 都与 `nn.Conv2d` 的输出形状一致；放不下窗口的组合 PyTorch 报错，我们的函数抛出写明原因的 `ValueError`。

# %%
# NBVAL_CHECK_OUTPUT
gen, found = torch.Generator().manual_seed(0), []
for _ in range(300):
    W, Fk, S, P, D = (int(torch.randint(lo, hi, (1,), generator=gen)) for lo, hi in [(1, 13), (1, 6), (1, 4), (0, 3), (1, 4)])
    try:
        real = F.conv2d(torch.zeros(1, 1, W, W), torch.zeros(1, 1, Fk, Fk), stride=S, padding=P, dilation=D).shape[-1]
    except RuntimeError:                                # PyTorch refuses: no window fits
        real = None
    try:
        ours = cnn.conv_output_size(W, Fk, S, P, D)
    except ValueError as err:
        ours, message = None, str(err)
    assert ours == real, (W, Fk, S, P, D)
    found.append(real is not None)
print(f"{sum(found)} 个组合输出大小一致；{len(found) - sum(found)} 个组合双方都拒绝，例如：\n{message}")

# %% [markdown]
# ### 3.6 参数量
#
# 一个卷积层的参数只有卷积核和偏置：
#
# $$\#\theta = C_{out} \cdot C_{in} \cdot k_h \cdot k_w + C_{out}$$
#
# 和图片大小**无关**，这就是权重共享的好处。同样把 $3 \times 32 \times 32$ 的输入变成 $8 \times 30 \times 30$ 的输出，全连接层需要 $3072 \times 7200$ 个权重。

# %%
# NBVAL_CHECK_OUTPUT
count = lambda m: sum(p.numel() for p in m.parameters())
conv = nn.Conv2d(3, 8, 3)
print("Conv2d(3, 8, 3):", count(conv), "=", cnn.conv2d_params(3, 8, 3), "= 8·3·3·3 + 8")
for size in (8, 32, 224):
    print(f"  输入 3×{size}×{size} → 输出 {tuple(conv(torch.zeros(1, 3, size, size)).shape[1:])}，参数仍是 {count(conv)}")
print(f"同样输入输出的全连接层：{3 * 32 * 32 * 8 * 30 * 30 + 8 * 30 * 30:,} 个参数")
assert count(conv) == cnn.conv2d_params(3, 8, 3) == 224
big = nn.Conv2d(3, 64, 7, stride=2, padding=3)                      # the interview question at the end of the chapter
assert big(torch.zeros(1, 3, 224, 224)).shape == (1, 64, 112, 112) and count(big) == 9472
print("Conv2d(3, 64, 7, stride=2, padding=3) on 3×224×224:", tuple(big(torch.zeros(1, 3, 224, 224)).shape[1:]),
      f"，参数 {count(big):,}")

# %% [markdown]
# ### 3.7 `nn.Conv2d` 的真实签名
#
# > **⚠ 笔记勘误（轻微）**
# >
# > **笔记的写法**：`Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, bias=True, padding_mode='zeros')`，`padding_mode` 只介绍了 zeros / reflect / replicate。
# >
# > **正确的说法**：在 `dilation` 和 `bias` 之间还有 `groups=1`，最后还有 `device`、`dtype`；`padding_mode` 还可以是 `'circular'`；`padding` 除了整数，还可以写字符串 `'valid'`（不填充）或 `'same'`（输出与输入同样大，只能配合 stride 1）。
# >
# > 证据见下一格。`groups=g` 把输入和输出通道各分成 $g$ 组、组内各自卷积，**权重**个数除以 $g$，偏置不变（仍是 $C_{out}$ 个）：$\#\theta = C_{out}\cdot\frac{C_{in}}{g}\cdot k^2 + C_{out}$。
# > 例如 `Conv2d(16, 16, 3, groups=4)` 有 $16\cdot4\cdot9 + 16 = 592$ 个参数，不是 $(16\cdot16\cdot9 + 16)/4 = 580$。`groups = in_channels` 就是深度可分离卷积里的逐通道卷积（depthwise convolution）。

# %%
print(inspect.signature(nn.Conv2d))
x = torch.zeros(1, 16, 9, 9)
for kwargs in [dict(padding="valid"), dict(padding="same"), dict(padding="same", dilation=2), dict(groups=4),
               dict(groups=16)]:
    layer = nn.Conv2d(16, 16, 3, **kwargs)
    formula = cnn.conv2d_params(16, 16, 3, groups=layer.groups)
    print(f"{str(kwargs):35s} output {tuple(layer(x).shape)}  params {count(layer):5d} = {formula}")
    assert count(layer) == formula
grouped = count(nn.Conv2d(16, 16, 3, groups=4))
assert grouped == 16 * 4 * 9 + 16 == 592 and grouped != count(nn.Conv2d(16, 16, 3)) / 4
print(f"groups=4: {grouped} = 16·4·9 + 16，不是 (16·16·9 + 16)/4 = {count(nn.Conv2d(16, 16, 3)) / 4:g}")

# %%
try:
    nn.Conv2d(16, 16, 3, padding="same", stride=2)
    raise AssertionError("padding='same' with stride 2 was accepted")
except ValueError as err:
    print("padding='same', stride=2:", err)

# %% [markdown]
# ## 4. 池化层
#
# 池化层（pooling layer）在**不学习任何参数**的前提下对特征图下采样：高宽变小，保留显著的信息，减少后面层的计算量。池化窗口（通常 $2\times2$）像卷积核一样滑动，但对每个窗口只做一个固定的运算：
#
# - **最大池化**（max pooling）：$y[c, i, j] = \max_{u, v}\ x[c,\ iS + u,\ jS + v]$，取窗口里的最大值；
# - **平均池化**（average pooling）：$y[c, i, j] = \frac{1}{k^2}\sum_{u, v} x[c,\ iS + u,\ jS + v]$，取平均值（所以会出现小数）。
#
# 输出大小用同一个公式 $N = \lfloor (W + 2P - D(k-1) - 1)/S \rfloor + 1$，只是池化的步长默认等于窗口大小（`stride=None`）。
#
# 和卷积最大的不同：池化**逐通道**进行，通道之间不相加，所以通道数不变；它也没有参数。

# %%
# NBVAL_CHECK_OUTPUT
x = torch.randn(2, 6, 8, 8)
pool = nn.MaxPool2d(2)
print("MaxPool2d(2):", tuple(x.shape), "->", tuple(pool(x).shape), "; parameters:", list(pool.parameters()))
print("stride 默认等于 kernel_size：", pool.stride)
grid = torch.arange(25.0).reshape(1, 1, 5, 5)
print("5×5 上 MaxPool2d(2)：\n", nn.MaxPool2d(2)(grid)[0, 0])
print("ceil_mode=True 保留边上不完整的窗口：\n", nn.MaxPool2d(2, ceil_mode=True)(grid)[0, 0])

# %% [markdown]
# `AvgPool2d` 在有填充时要决定"除以几"：`count_include_pad=True`（默认）把补的 0 也算进窗口，所以边角的平均值被拉低；`False` 只除以真实像素的个数；`divisor_override` 直接指定除数。
# `MaxPool2d` 的填充补的是 $-\infty$（不会被选中），而且填充不能超过窗口的一半。`return_indices=True` 记下最大值的位置，`MaxUnpool2d` 用它把值放回原处。

# %%
# NBVAL_CHECK_OUTPUT
ones = torch.ones(1, 1, 4, 4)
print("AvgPool2d(3, 1, 1) 左上角：count_include_pad=True ->", round(nn.AvgPool2d(3, 1, 1)(ones)[0, 0, 0, 0].item(), 3),
      "；False ->", nn.AvgPool2d(3, 1, 1, count_include_pad=False)(ones)[0, 0, 0, 0].item())
print("AvgPool2d(2, divisor_override=2) on ones ->", nn.AvgPool2d(2, divisor_override=2)(ones)[0, 0, 0, 0].item())
try:
    nn.MaxPool2d(2, padding=2)(ones)
except RuntimeError as err:
    print("MaxPool2d(2, padding=2):", str(err).splitlines()[0])
values, where = nn.MaxPool2d(2, return_indices=True)(grid[..., :4, :4])
print("MaxUnpool2d 放回原处：\n", nn.MaxUnpool2d(2)(values, where)[0, 0])

# %% [markdown]
# 两个池化层的完整签名（笔记给出的参数和默认值都是对的）：

# %%
print("MaxPool2d", inspect.signature(nn.MaxPool2d))
print("AvgPool2d", inspect.signature(nn.AvgPool2d))

# %% [markdown]
# **验证**：`helpers.cnn.max_pool2d` / `avg_pool2d` 按公式逐通道取窗口的最大值 / 平均值，在各种 `ceil_mode`、`padding`、`count_include_pad` 组合下与 PyTorch 一致；池化前后通道数不变。

# %%
# NBVAL_CHECK_OUTPUT
gen = torch.Generator().manual_seed(3)
xp = torch.randn(2, 3, 7, 9, generator=gen, dtype=torch.float64)
for k, s, p, ceil in [(2, None, 0, False), (2, None, 0, True), (3, 2, 1, True), (3, 1, 1, False)]:
    assert torch.equal(cnn.max_pool2d(xp, k, s, p, ceil_mode=ceil), F.max_pool2d(xp, k, s, p, ceil_mode=ceil))
    for include in (True, False):
        ours = cnn.avg_pool2d(xp, k, s, p, ceil_mode=ceil, count_include_pad=include)
        assert torch.allclose(ours, F.avg_pool2d(xp, k, s, p, ceil_mode=ceil, count_include_pad=include))
    assert cnn.max_pool2d(xp, k, s, p, ceil_mode=ceil).shape[1] == xp.shape[1]
print("max_pool2d / avg_pool2d：4 种设置 × 2 种 count_include_pad 全部一致，通道数保持 3")

# %% [markdown]
# 还有一种池化不给窗口大小，而给**输出大小**：`nn.AdaptiveAvgPool2d(output_size)`（自适应平均池化；取最大值的版本是 `nn.AdaptiveMaxPool2d`）自己算出窗口，让每个通道的输出恰好是 `output_size`。
# `output_size=1` 时每个通道只剩一个数，即整张特征图的平均值，这叫**全局平均池化**（global average pooling）：不管输入多大，输出都是 $(N, C, 1, 1)$，常用来代替展平、接在分类头前面。它同样没有参数。

# %%
# NBVAL_CHECK_OUTPUT
fm = torch.randn(2, 6, 8, 8)
gap = nn.AdaptiveAvgPool2d(1)
print("AdaptiveAvgPool2d(1):", tuple(fm.shape), "->", tuple(gap(fm).shape), "; parameters:", list(gap.parameters()))
print("输入 12×12 时：", tuple(gap(torch.randn(2, 6, 12, 12)).shape))
assert torch.allclose(gap(fm)[..., 0, 0], fm.mean(dim=(2, 3)), atol=1e-6)
assert torch.allclose(nn.AdaptiveAvgPool2d(4)(fm), nn.AvgPool2d(2)(fm))     # 8×8 -> 4×4: the window is 2×2
print("AdaptiveAvgPool2d(1) == 每个通道的平均：True；8×8 上 AdaptiveAvgPool2d(4) == AvgPool2d(2)：True")

# %% [markdown]
# 池化还带来一点点**平移不变性**（translation invariance）：输入挪动一两个像素时，池化后的图平均而言比池化前变化小（窗口里的最大值可能只是在窗口内换了位置）。这一点在第 5 节训练好网络之后用面板来看，并检查它在什么条件下成立。

# %% [markdown]
# ## 5. 动手训练：手写数字上的小 CNN
#
# 数据是 scikit-learn 自带的 1,797 张 $8\times8$ 手写数字（`helpers.data.digits`，像素已缩放到 $[0, 1]$），按 3:1 分成训练集和验证集。
# 网络是两个卷积块加一个全连接层（`helpers.cnn.digits_cnn`）。每一层的输出形状写在注释里，用 3.5 节的公式可以逐个核对：

# %%
show_source(digits_cnn)

# %%
# NBVAL_CHECK_OUTPUT
(x_train, y_train), (x_val, y_val) = data.digits()
print("train", tuple(x_train.shape), " val", tuple(x_val.shape))
torch.manual_seed(0)
cnn_model = digits_cnn()
torch.manual_seed(0)
mlp_model = digits_mlp(hidden=44)                     # 对照：参数量相近的 MLP
print(f"CNN 参数量 {count(cnn_model):,}；MLP 参数量 {count(mlp_model):,}")
print(mlp_model)

# %% [markdown]
# 两个模型用同一个训练循环 `helpers.training.fit`、同样的优化器（Adam, lr = 0.01）、批大小 128、12 个 epoch。数据很小，在 CPU 上也训练得很快。

# %%
histories = {}
for name, model in [("CNN", cnn_model), ("MLP", mlp_model)]:
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    histories[name] = fit(model, (x_train, y_train), nn.CrossEntropyLoss(), optimizer, epochs=12, batch_size=128,
                          val_data=(x_val, y_val), metrics={"acc": accuracy}, progress=False)
    print(f"{name}: final validation accuracy {histories[name].metrics['val_acc'][-1]:.3f}")
show(plot_histories(histories, keys=("train_loss", "val_loss", "val_acc")))

# %% [markdown]
# 在这么小、这么干净的图上，参数量相近的 MLP 也能做得不错。CNN 的特点在于它"内置"的假设：同一个图案在哪里都用同一个探测器去找。
# 这个假设能不能让它对位置的变化更宽容？把验证集里的数字整体向右挪 1 个、2 个像素（空出来的地方补 0），两个模型都没见过这样的图。
# 一次训练的结果可能只是运气，所以再用种子 1、2 各训练一遍两个模型，报告 3 个种子的范围：

# %%
def shifted_accuracy(model):                          # validation accuracy after shifting right by 0, 1, 2 pixels
    return [evaluate(model, (cnn.shift2d(x_val, 0, s), y_val), nn.CrossEntropyLoss(), metrics={"acc": accuracy})["acc"]
            for s in (0, 1, 2)]

runs = {"CNN": [shifted_accuracy(cnn_model)], "MLP": [shifted_accuracy(mlp_model)]}
for seed in (1, 2):                                   # the same recipe (Adam, lr 0.01, 12 epochs, batch 128)
    for name, make in [("CNN", digits_cnn), ("MLP", digits_mlp)]:
        torch.manual_seed(seed)
        runs[name].append(shifted_accuracy(cnn.train_digits_model(make(), seed)))
for shift in (0, 1, 2):
    spans = {name: (min(r[shift] for r in rs), max(r[shift] for r in rs)) for name, rs in runs.items()}
    print(f"向右平移 {shift} 像素，3 个种子：" + "   ".join(f"{n} {lo:.3f}–{hi:.3f}" for n, (lo, hi) in spans.items()))

# %% [markdown]
# 不平移时两个模型不相上下（每个种子上差距都不到 0.03）。平移 1 个像素，两者都掉了 0.2 以上；在这 3 个种子上 CNN 每次都比 MLP 高，但高出多少随种子变化很大（看上面的范围）：
# 平移后的准确率对训练的随机性很敏感，只看一次运行的数字说明不了多少。
#
# 向右平移 1 像素会把最右一列挤出图外，但这解释不了这么大的下降：验证集里只有约 12% 的数字在最右一列有笔画。
#
# **验证**：在每个种子上，不平移时两者差距小于 0.03；平移 1 像素后两者都比不平移时低 0.2 以上，MLP 掉得更多；平移 1、2 像素时 CNN 都比 MLP 高；最右一列有笔画的验证数字不到 15%。

# %%
# NBVAL_CHECK_OUTPUT
for c, m in zip(runs["CNN"], runs["MLP"]):               # one (CNN, MLP) pair per seed: accuracy at shift 0, 1, 2
    assert abs(c[0] - m[0]) < 0.03 and max(c[1], m[1]) < min(c[0], m[0]) - 0.2 and c[1] > m[1] and c[2] > m[2]
    assert m[0] - m[1] > c[0] - c[1]                    # the MLP loses more
inked = (x_val[..., 7] > 0).flatten(1).any(1).float().mean().item()   # digits with ink in the column a shift pushes out
assert inked < 0.15
print(f"3 个种子上都成立：不平移差距 < 0.03；平移 1 像素都掉 0.2 以上、MLP 掉得更多；平移后 CNN > MLP；最右一列有笔画：{inked:.0%}")

# %% [markdown]
# 更重要的是：即使是 CNN，挪一个像素也掉这么多。这说明**卷积层的平移等变不等于整个网络的平移不变**：
#
# - 卷积特征图确实跟着数字一起平移了（5.2 节会看到）；
# - 但最后的 `Flatten` + `Linear` 仍然给特征图的每个位置配了不同的权重，特征挪了位置，分类头就认不出来；两个 $2\times2$ 池化只能抵消一部分；
# - MLP 从第一层起每个权重就绑定在一个固定像素上，所以掉得更多。
#
# 想要更强的平移不变性，常见做法是用**全局池化**（对每个通道整张图取最大值或平均值）代替展平，或者在训练时随机平移图片（数据增强）。
#
# **验证**：CNN 的验证准确率至少 95%；每一层的输出形状都等于用 3.5 节的公式算出的大小（也就是 `digits_cnn` 源码注释里写的形状）；参数量与 3.6 节的公式一致。

# %%
# NBVAL_CHECK_OUTPUT
cnn_acc = evaluate(cnn_model, (x_val, y_val), nn.CrossEntropyLoss(), metrics={"acc": accuracy})["acc"]
mlp_acc = evaluate(mlp_model, (x_val, y_val), nn.CrossEntropyLoss(), metrics={"acc": accuracy})["acc"]
assert cnn_acc >= 0.95 and mlp_acc >= 0.90
n1 = cnn.conv_output_size(8, 3, padding=1)              # conv 3×3, padding 1
p1 = cnn.conv_output_size(n1, 2, 2)                     # max-pool 2 (stride 2)
n2 = cnn.conv_output_size(p1, 3, padding=1)
p2 = cnn.conv_output_size(n2, 2, 2)
shapes = {name: tuple(t.shape[1:]) for name, t in cnn.layer_outputs(cnn_model, x_val[:1]).items()}
assert shapes == {"conv1": (16, n1, n1), "relu1": (16, n1, n1), "pool1": (16, p1, p1), "conv2": (16, n2, n2),
                  "relu2": (16, n2, n2), "pool2": (16, p2, p2), "logits": (10,)}
assert count(cnn_model) == cnn.conv2d_params(1, 16, 3) + cnn.conv2d_params(16, 16, 3) + 16 * p2 * p2 * 10 + 10
print(f"CNN 验证准确率 ≥ 95%：{cnn_acc >= 0.95}；MLP ≥ 90%：{mlp_acc >= 0.90}；层输出形状 {shapes['conv1']} → "
      f"{shapes['pool2']}；参数量 {count(cnn_model)} = 160 + 2320 + 650")

# %% [markdown]
# ### 5.1 网络学到了什么
#
# 第一层的 16 个 $3\times3$ 卷积核（红色为正权重、蓝色为负权重）。绝大多数核同时含有正、负权重，所以它们对亮度的**变化**有响应，而不只是求平均；其中有几个核的权重和接近 0（不到权重绝对值之和的 20%），很像 3.1 节的边缘核，只不过它们是从数据里学出来的（下面的验证检查了这两点）：

# %%
show(kernels_figure(cnn_model[0].weight))

# %% [markdown]
# 一张数字经过每一层后的全部特征图（每行一层，每个小方块是一个通道）。越往后，特征图越小、越抽象。
# 卷积行（`conv1`、`conv2`，ReLU 之前）有正有负：红正蓝负；池化行在 ReLU 之后，所有值都 $\ge 0$，所以只有白（0）和红：

# %%
show(feature_maps_figure(cnn_model, x_val[0]))

# %% [markdown]
# 在面板里自己挑：验证集的第几张数字、哪一层、哪个通道。左边是输入，中间是这一层的全部通道（橙框是选中的通道），右边把它放大。图下方是模型的预测。
#
# - `conv1` 是卷积的原始输出，有正有负；过了 `relu1` 负的部分全部变成 0；`pool1` 把 $8\times8$ 缩成 $4\times4$；
# - 换几张不同的数字，看同一个通道在哪些位置亮起来。

# %%
feature_maps_panel(cnn_model)

# %% [markdown]
# **验证**：第一层的 16 个核里至少 12 个同时含有正、负权重，至少 3 个的 $|\sum w| < 0.2\sum|w|$；在 30 张验证数字上，卷积层的输出有正有负，ReLU 和池化之后的输出全部 $\ge 0$。

# %%
# NBVAL_CHECK_OUTPUT
w1 = cnn_model[0].weight.detach()[:, 0].flatten(1)
mixed = int(((w1 > 0).any(1) & (w1 < 0).any(1)).sum())
outs = cnn.layer_outputs(cnn_model, x_val[:30])
edge_like = int((w1.sum(1).abs() < 0.2 * w1.abs().sum(1)).sum())      # weights summing to nearly 0, like an edge kernel
figure_digit = cnn.layer_outputs(cnn_model, x_val[:1])                 # the digit drawn above
assert mixed >= 12 and edge_like >= 3
assert all((o[n] < 0).any() and (o[n] > 0).any() for o in (outs, figure_digit) for n in ("conv1", "conv2"))
assert all((outs[n] >= 0).all() for n in ("relu1", "pool1", "relu2", "pool2"))
print(f"核里正负权重都有：至少 12 个；权重和接近 0 的：至少 3 个；conv1/conv2 有正有负，relu/pool 之后全部 ≥ 0")

# %% [markdown]
# ### 5.2 平移：卷积跟着走，池化变化小一些
#
# 把一张数字放在 $14\times14$ 的空白画布中央（`cnn.on_canvas`，数字四周各空 3 个像素），用训练好的第一个卷积层（+ ReLU）处理，再做最大池化。拖动 dx、dy 平移输入：
#
# - 卷积 + ReLU 的特征图**跟着平移**：把它平移回去，与不平移时的结果相比，除了"平移回去时空出来、补 0 的那条边"（宽 $|d_x|$ 列、高 $|d_y|$ 行），处处相同（读数里的差不超过 $10^{-6}$，只是浮点误差）。这就是平移等变。
#   那条边上不一定相同：不平移时那里是空白画布上的卷积输出 $\mathrm{ReLU}(b)$，偏置 $b > 0$ 的通道那里不是 0；$|d| = 3$ 时数字的 $8\times8$ 方框已挪到画布边上，那条边可能碰到数字。所以"平移回去与原图完全相同"只对偏置 $\le 0$ 的通道、且 $|d_x|, |d_y| \le 2$ 时对整张图成立。读数会给出这两部分各差多少。
# - 池化后的图变化**一般更小**：右边的曲线是"与不平移相比变化了多少"（相对 L2 距离）。对 30 张验证数字和 16 个通道取平均，每一种平移下 $2\times2$ 池化都比卷积图变化小，$4\times4$ 更小，全局最大池化最小；但对单张数字、单个通道并不保证（下面的验证数了反例占多少）。
# - 全局最大池化（整张图取一个最大值）在 $|d_x|, |d_y| \le 2$ 时完全不变：最大值只是换了位置，还在画布里。$|d| = 3$ 时数字的方框贴到画布边上，卷积图靠边的一圈被切掉，全局最大值也可能变。
#
# 所以说池化只带来"一点点"平移不变性：窗口越大越不变，但丢掉的位置信息也越多。还要分清：对小平移不敏感**不等于能防止过拟合**。池化不是正则化方法：它不惩罚任何权重，也不往训练里加噪声；防过拟合要靠更多数据、数据增强、权重衰减、dropout 等（第 7 章）。

# %%
shift_panel(cnn_model)

# %% [markdown]
# **验证**：在 30 张验证数字、16 个通道、面板上所有的平移（$d_x, d_y \in \{-3, \dots, 3\}$）上检查上面的每一句话。

# %%
conv1 = cnn_model[0]
study = cnn.shift_study(conv1, cnn.on_canvas(x_val[:30], 14), max_shift=3, pools=(2, 4, 14))
near = [d for d in study if d != (0, 0) and max(map(abs, d)) <= 2]
positive = conv1.bias.detach() > 0
off_strip = max(r["off_strip"].max().item() for r in study.values())
assert off_strip < 1e-5                                   # every shift, every channel: equal away from the strip
assert all(study[d]["whole"][:, ~positive].max() < 1e-5 for d in near)                      # b <= 0, |d| <= 2
assert all(torch.allclose(study[d]["whole"][:, positive], torch.relu(conv1.bias.detach())[positive].expand(30, -1),
                          atol=1e-5) for d in near)       # b > 0: the strip differs by exactly ReLU(b)
assert all(study[d]["global_max"].max() < 1e-5 for d in near)
edge = max(r["global_max"].max().item() for r in study.values())
print(f"平移回去、离开补 0 的边：最大差 < 1e-5；b ≤ 0 且 |d| ≤ 2：整张图最大差 < 1e-5；b > 0 的通道 ({int(positive.sum())} 个)：那条边差 ReLU(b)")
print(f"|d| ≤ 2 时全局最大值不变；|d| = 3 时最多变了 {edge:.2f}")

# %%
moved = [d for d in study if d != (0, 0)]
mean_change = {d: [study[d]["change"][k].mean().item() for k in (1, 2, 4, 14)] for d in moved}   # conv, 2×2, 4×4, global
assert all(c > p2 > p4 > g for c, p2, p4, g in mean_change.values())
against = torch.stack([(study[d]["change"][2] >= study[d]["change"][1]).float().mean() for d in moved]).mean().item()
assert 0 < against < 0.5
print(f"平均变化 卷积 > 2×2 > 4×4 > 全局：所有 48 种平移都成立；单张数字单个通道 2×2 池化变化不比卷积小的：{against:.0%}")

# %% [markdown]
# ## 小结
#
# - 图片是 $(C, H, W)$ 的张量：二值图和灰度图 $C = 1$，RGB 图 $C = 3$；`uint8` 取值 0–255，送进网络前通常缩放到 $[0, 1]$。
# - 卷积：窗口与卷积核逐元素相乘，**对窗口和所有输入通道一起求和**，加偏置；一个卷积核产生一张特征图，`out_channels` = 卷积核个数。PyTorch 做的是不翻转核的互相关。
# - 输出大小 $N = \lfloor (W + 2P - D(F-1) - 1)/S \rfloor + 1$：要向下取整，填充让输出**变大**。
# - 参数量 $C_{out} C_{in} k^2 + C_{out}$，与图片大小无关（权重共享）；每个输出只依赖一个局部感受野。
# - 卷积是平移**等变**的：$\mathrm{conv}(\mathrm{shift}(x)) = \mathrm{shift}(\mathrm{conv}(x))$；池化带来一点平移**不变**性。
# - 池化逐通道进行、没有参数、通道数不变；`ceil_mode` 决定是否保留不完整的边缘窗口，`count_include_pad` 决定平均时是否把填充算进去。
# - 在 8×8 数字上，一个 3,130 参数的小 CNN 12 个 epoch 就达到 95% 以上的验证准确率。卷积层的等变性不会自动让整个网络平移不变：分类头（展平 + 全连接）仍然依赖位置；常见的补救是全局池化或平移数据增强。
#
# ## 面试速答
#
# **问：卷积层和全连接层的本质区别是什么？**
# 答：两点——局部连接（每个输出只看一个小邻域）和权重共享（同一个核用在所有位置）。结果是参数量与图像大小无关，并且天然具有平移等变性。全连接层可以看成卷积核覆盖整张图、不共享权重的特例。
#
# **问：输入 $3\times 224 \times 224$，`Conv2d(3, 64, 7, stride=2, padding=3)`，输出多大？有多少参数？**
# 答：$\lfloor (224 + 6 - 7)/2 \rfloor + 1 = 112$，输出 $64\times112\times112$；参数 $64\cdot3\cdot7\cdot7 + 64 = 9{,}472$。
#
# **问：平移等变和平移不变有什么区别？CNN 里分别来自哪里？**
# 答：等变是"输入平移，输出跟着平移同样的量"，来自步长为 1 的卷积（边界处除外）；不变是"输入平移，输出不变"。小窗口的池化只对一两个像素的挪动带来一点不变性；展平 + 全连接的分类头给每个位置配不同的权重，反而依赖位置，所以普通 CNN 整体上并不平移不变（第 5 节：挪一个像素准确率就大幅下降）。想要不变性，用全局池化代替展平，或者训练时随机平移图片（数据增强）。步长大于 1 的卷积和池化还会部分破坏严格的等变性。
#
# **问：池化层有参数吗？会改变通道数吗？**
# 答：没有参数（最大或平均都是固定运算），逐通道进行，不改变通道数，只缩小高宽。通道数只由卷积层的 `out_channels` 决定。
#
# **问：为什么常用 $3\times3$ 的小卷积核？**
# 答：两个 $3\times3$ 卷积叠起来的感受野是 $5\times5$，三个是 $7\times7$，但参数更少（$2\cdot9C^2 < 25C^2$），中间还多了非线性。需要更大的感受野时也可以用空洞卷积，参数不变。

# %% [markdown]
# ## 练习
#
# **练习 1**：不运行代码，手算 `nn.Conv2d(3, 16, kernel_size=5, stride=2, padding=1)` 作用在形状为 `(4, 3, 32, 32)` 的一批图片上，输出的形状是什么？把答案写成一个元组赋给 `answer`。

# %%
answer = None  # 例如 (4, 16, 10, 10)
exercises.check_conv_output_shape(answer)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# 高和宽都是 $\lfloor (32 + 2\cdot1 - 5)/2 \rfloor + 1 = \lfloor 14.5 \rfloor + 1 = 15$；通道数是卷积核个数 16；批大小不变。
#
# ```python
# answer = (4, 16, 15, 15)
# exercises.check_conv_output_shape(answer)
# ```
#
# </details>
#
# **练习 2**：不用任何现成的卷积（`F.conv2d`、`nn.Conv2d`、`torch.convolution`，或 SciPy 的相关函数），写一个 `my_conv2d(x, w)`：`x` 的形状是 $(C, H, W)$，`w` 是 $(C_{out}, C, k, k)$，不填充、步长 1、没有偏置，返回 $(C_{out}, H-k+1, W-k+1)$ 的输出。检查器会在几个不同的通道数和核大小上与 `F.conv2d` 比较数值和梯度。用循环和切片可以，用 `unfold`（把每个窗口展开成一列，即 im2col）再做矩阵乘法或 `einsum` 也可以：那是卷积的另一种正当写法。

# %%
my_conv2d = None  # 在这里写你的函数：def my_conv2d(x, w): ...
exercises.check_my_conv2d(my_conv2d)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# ```python
# def my_conv2d(x, w):
#     c_out, _, k, _ = w.shape
#     h, wd = x.shape[1] - k + 1, x.shape[2] - k + 1
#     out = torch.zeros(c_out, h, wd, dtype=x.dtype)
#     for o in range(c_out):                     # 每个卷积核一张特征图
#         for i in range(h):
#             for j in range(wd):                # 窗口 × 核，对通道和窗口一起求和
#                 out[o, i, j] = (x[:, i:i + k, j:j + k] * w[o]).sum()
#     return out
#
# exercises.check_my_conv2d(my_conv2d)
# ```
#
# 不写循环的版本：`F.unfold` 把每个 $k \times k$ 窗口（连同全部通道）拉成一列，卷积就变成一次矩阵乘法。
#
# ```python
# def my_conv2d(x, w):
#     c_out, _, k, _ = w.shape
#     cols = F.unfold(x.unsqueeze(0), k)[0]      # (C·k·k, 窗口个数)
#     return (w.reshape(c_out, -1) @ cols).reshape(c_out, x.shape[1] - k + 1, x.shape[2] - k + 1)
#
# exercises.check_my_conv2d(my_conv2d)
# ```
#
# </details>
#
# **练习 3**：不运行代码，数一数下面这个模型有多少个参数，把整数赋给 `answer`（可以之后再用 `sum(p.numel() for p in model.parameters())` 核对）。

# %%
print(exercises.PARAM_MODEL_TEXT)
answer = None  # 一个整数
exercises.check_param_count(answer)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# - 第一个卷积层：8 个形状为 $(3, 3, 3)$ 的核加 8 个偏置：$8\cdot27 + 8 = 224$；
# - 第二个卷积层：16 个形状为 $(8, 3, 3)$ 的核，`bias=False`：$16\cdot72 = 1152$；
# - ReLU、`AdaptiveAvgPool2d`、`Flatten` 没有参数；全连接层：$16\cdot10 + 10 = 170$。
#
# ```python
# answer = 224 + 1152 + 170   # = 1546
# exercises.check_param_count(answer)
# ```
#
# </details>

# %% [markdown]
# [← 第7章 正则化](07_regularization.ipynb) · [第9章 循环神经网络与词嵌入 →](09_rnn.ipynb)
