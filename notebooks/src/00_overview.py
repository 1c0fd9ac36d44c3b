# %% [markdown]
# # 第0章 深度学习与机器学习 (Deep learning vs machine learning)
#
# **学习目标**
#
# - 说清深度学习（deep learning）和经典机器学习（machine learning）在特征、数据与算力、可解释性、典型任务上的差别，并知道每条"常识"在什么条件下才成立
# - 在手写数字上比较经典模型和神经网络的学习曲线（learning curve），读懂它说明了什么、没有说明什么
# - 认识这门课：每章讲什么、先修哪几章、旗舰面板是哪一个；会用交互面板和练习检查器
# - 运行环境自检，确认版本、设备和交互控件都正常
#
# **预计用时**：30–40 分钟
#
# **先修**：无。会写 Python 函数、见过 NumPy 数组就够了。

# %%
import torch
from torch import nn

import helpers
from helpers import data, overview
from helpers.activations import dead_fraction
from helpers.exercises import overview as exercises
from helpers.panels.overview import learning_curve_figure, learning_curve_panel, logistic_weights_figure
from helpers.plotting import show
from helpers.training import accuracy, fit

# %% [markdown]
# ## 1. 怎样使用这门课
#
# 课程由 11 个笔记本组成（本章和第 1–10 章），叙述用中文，代码、变量名和图里的文字用英文。每个笔记本都能从头到尾一次跑完，不需要联网下载数据。有三种打开方式：
#
# - **JupyterLab（本地）**：在仓库根目录运行 `make lab`。它会在第一次运行时创建 `.venv`、安装依赖，然后打开 JupyterLab；左侧文件栏进入 `notebooks/`，从本章开始。已有 conda 的话，也可以用 `environment.yml` 建环境后运行 `jupyter lab notebooks/00_overview.ipynb`。
# - **Colab**：点标题下面的 "Open in Colab" 徽章。每一章的第一个代码格在 Colab 里会自动克隆课程仓库并导入 `helpers`，在本地什么也不做；Colab 自带 PyTorch、matplotlib 和 ipywidgets。
# - **VS Code**：安装 Python 扩展和 Jupyter 扩展，打开 `notebooks/` 下的 `.ipynb` 文件，在右上角 "Select Kernel" 里选中装好课程依赖的解释器（例如仓库里的 `.venv`）。
#
# 打开后点 "Run All"（全部运行）即可。下一格是**环境自检**：它打印 Python、PyTorch、ipywidgets、matplotlib、scikit-learn 的版本，计算设备（device）以及是否在 Colab 里；最后显示一个小滑块，拖动它，旁边的文字变成 "widgets work" 就说明交互面板能用。看不到滑块时，照着打印出来的提示做。

# %%
helpers.doctor()

# %% [markdown]
# ### 1.1 面板、验证格和练习检查器
#
# - **交互面板（panel）**：一个函数调用，比如本章第 3 节的 `learning_curve_panel()`。上面一排控件，中间一张图，下面一行读数。图是在**内核**（kernel）里画好再以 PNG 发给浏览器的，所以 JupyterLab、Notebook 7、VS Code 和 Colab 里的样子都一样；如果前端没有运行控件（例如在 GitHub 上看），你看到的是当前设置下的一张静态图。某个控件在当前设置下不起作用时，它会变成灰色。
# - **验证（check）格**：用 `assert` 检查正文里的说法，并把比较的数字打印出来。它不报错，就说明那句话在你的机器上成立。
# - **⚠ 笔记勘误**：原始笔记里不准确的地方，每条都给出"笔记的写法"、"正确的说法"和一个拿出证据的代码格。
# - **练习（exercise）**：把 `answer = None` 换成你的答案再运行，检查器（checker）会回答 ✅ 或 ❌，答错时给一条提示；参考答案折叠在 "参考答案" 里。还没作答时，它是这样回应的：

# %%
exercises.check_count_parameters(None)

# %% [markdown]
# ## 2. 深度学习和经典机器学习
#
# 机器学习的共同点是：不手写规则，而是从大量"输入 → 正确答案"的例子里学，让模型在**没见过的数据**上也答得对。大多数方法的学法是定义一个损失函数、用优化算法调整模型参数（逻辑回归、所有神经网络）；也有不这样学的，比如 k 近邻（k-nearest neighbours）根本没有要优化的参数，"训练"只是把例子存起来，预测时找最像的几个投票。两者的分歧在于**由谁来决定模型看什么**。
#
# - **经典机器学习**：人先把原始数据加工成**特征**（feature），比如贷款申请里的"负债收入比"、手写数字里"每一行有多少黑像素"；模型（线性模型、决策树……）只负责给这些特征分配权重或切分阈值。
# - **深度学习**：把许多层简单的变换（线性变换 + 非线性激活函数）叠在一起，直接吃原始输入。前面的层自己学出有用的中间表示，后面的层在这些表示上做判断，这叫**表示学习**（representation learning）。"深"指的就是层数多。
#
# 所以深度学习是机器学习的一个分支：它沿用"数据 + 损失 + 优化"这种训练方式（经典方法里的逻辑回归也是这样训练的；决策树是一步步贪心地挑切分点，k 近邻干脆只存数据，都不是用优化算法去调一组参数），区别在模型的形状和"特征从哪里来"。下表按笔记的 16 个维度逐行比较，最后一列是每条说法需要打的折扣：它们是**经验趋势**，不是定律。
#
# | 维度 | 经典机器学习 | 深度学习 | 要打的折扣 |
# |---|---|---|---|
# | 核心思想 | 人设计特征，模型学权重 | 多层网络从原始输入自动学出特征表示 | 两者之间是连续的：浅层网络、在手工特征上训练的网络都很常见 |
# | 特征工程（feature engineering） | 决定效果上限，依赖领域经验 | 大幅减少，模型做**端到端学习**（end-to-end learning） | 减少不等于不要：归一化、分词、数据增强和网络结构本身仍是人定的（见下面的勘误"特征工程"） |
# | 模型结构 | 浅：一层线性变换，或一串 if-else 切分 | 深：许多层堆叠 | 随机森林、梯度提升树（gradient-boosted trees）由成百上千棵树组成，并不"简单" |
# | 常见模型 | 线性回归、逻辑回归、支持向量机、决策树、随机森林、XGBoost | 全连接网络、CNN、RNN、LSTM、Transformer | 本章的实验各取几种做对比 |
# | 输入数据类型 | 以表格这种结构化数据为主 | 图像、文本、语音等非结构化数据上优势明显 | 在表格数据上，树模型至今常常不输给网络 |
# | 数据规模 | 小到中等规模就够 | 一般要大量数据 | 预训练后再微调，小数据也能用深度模型；第 3 节的小 CNN 用 200 张图就有约 96% 的准确率 |
# | 参数规模 | 少（百到万级） | 多（百万到千亿级） | 只是量级印象（见下面的勘误"参数规模"）：本章的 CNN 只有 1370 个参数，而一片随机森林有上万个节点 |
# | 训练成本 | 低，CPU 即可 | 高，通常要 GPU / TPU | 本课程的网络都很小，在 CPU 上就能训练；离不开 GPU 的是大模型 |
# | 训练速度 | 快 | 慢 | 取决于模型和数据量；k 近邻几乎不用训练（只存数据），代价转移到了预测时 |
# | 可解释性（interpretability） | 强，容易解释 | 弱，接近黑盒 | 只有线性模型和浅的树天生可读；随机森林、XGBoost 同样要靠事后解释（post-hoc explanation）工具（见下面的勘误"可解释性"） |
# | 过拟合（overfitting）风险 | 相对低 | 小数据上容易过拟合 | 不做**剪枝**（pruning）的决策树在训练集上 100% 正确、验证集上差得多（见下面的勘误"可解释性"）；网络加上正则化（第 7 章）也能控制过拟合 |
# | 调参难度 | 相对简单 | 较复杂：网络结构加上一堆**超参数**（hyperparameter） | 梯度提升树也有十几个超参数；"简单"是相对的 |
# | 工程部署 | 简单，成本低 | 复杂，依赖框架和算力 | 小网络导出后在 CPU 上也跑得很快；上千棵树的集成预测也不一定便宜 |
# | 应用场景 | 风控、定价、推荐、商业分析 | 计算机视觉、自然语言处理、语音识别、生成模型 | 大规模推荐系统也大量使用深度模型，界线并不整齐 |
# | 金融风控中的地位 | 主流（★★★★★） | 受可解释性限制（★★） | 原因是监管与稳定性，不是网络"不够准"，见第 4 节 |
# | 是否包含关系 | — | 深度学习是机器学习的子集 | 成立：深度学习就是用"数据 + 损失 + 优化"训练多层网络的那一类机器学习 |
#
# > **⚠ 笔记勘误：特征工程**
# >
# > **笔记的写法**：深度学习"基本不需要"特征工程，模型端到端学习。
# >
# > **正确的说法**：端到端学习减少了手工特征，但没有消除人的工作：输入要缩放到合适的范围，文本要分词（tokenization），图像常做**数据增强**（data augmentation），网络结构（比如卷积）本身就是人放进去的先验。下一格给出最朴素的例子：同一个网络、同一个优化器，只是输入像素没有除以 16（sklearn 原始数据的范围是 0–16），训练就坏掉了。每种输入用三个随机种子各训练一次，看结果的范围。

# %%
(x_train, y_train), (x_val, y_val) = data.digits()

def train_mlp(scale: float, seed: int) -> tuple[float, float]:
    """MLP after 10 epochs of SGD on pixels times `scale`: validation accuracy, share of hidden units that never fire."""
    torch.manual_seed(seed)
    net = overview.mlp()
    history = fit(net, (x_train * scale, y_train), nn.CrossEntropyLoss(), torch.optim.SGD(net.parameters(), lr=0.1),
                  epochs=10, batch_size=32, val_data=(x_val * scale, y_val), metrics={"acc": accuracy}, progress=False)
    with torch.no_grad():
        dead = dead_fraction(net[:2](x_train * scale))     # pre-activations of the hidden layer
    return history.metrics["val_acc"][-1], dead

# %%
runs = {scale: [train_mlp(scale, seed) for seed in range(3)] for scale in (1.0, 16.0)}
for scale, name in ((1.0, "pixels scaled to [0, 1]"), (16.0, "raw pixels in [0, 16]  ")):
    accs, dead = [a for a, _ in runs[scale]], [d for _, d in runs[scale]]
    print(f"{name}: validation accuracy {min(accs):.2f}-{max(accs):.2f}, "
          f"dead hidden units {min(dead):.0%}-{max(dead):.0%}  (seeds 0-2)")
assert max(a for a, _ in runs[16.0]) + 0.3 < min(a for a, _ in runs[1.0])      # raw is far worse for every seed
assert min(d for _, d in runs[16.0]) > 0.5 > 0.3 > max(d for _, d in runs[1.0])

# %% [markdown]
# 原始像素大 16 倍，第一层的输出和梯度也跟着放大，学习率 0.1 的 SGD 一步就迈得太远，大多数 ReLU 单元被推到对所有训练图都输出 0 的区域（第 2 章的"神经元死亡"，即上面的 dead hidden units）。这个结果很不稳定：换一个随机种子，甚至只是换一个线程数，准确率都会变，可能停在随机猜测（10 个类别，0.1）附近，也可能好一些。我们在 10 个种子、1 个和 2 个线程下都试过：原始像素的准确率在 0.10–0.38 之间，缩放后的输入在 0.88–0.96 之间，每一次都差得很远。把输入缩放好这件小事，就是深度学习里仍然要做的"特征工程"。
#
# ## 3. 实验：手写数字上的学习曲线
#
# 表里的好几行（数据规模、训练成本、过拟合）都可以用一个小实验检验。数据是 scikit-learn 自带的手写数字：1797 张 8×8 的灰度图，10 个类别。`helpers.data.digits()` 按类别分层切出 1347 张训练图和 450 张验证图，像素已经缩放到 $[0, 1]$。

# %%
# NBVAL_CHECK_OUTPUT
print("training images:", tuple(x_train.shape), " validation images:", tuple(x_val.shape))
print("training images per class:", torch.bincount(y_train).tolist())

# %% [markdown]
# **模型**。四个经典模型来自 scikit-learn：逻辑回归（logistic regression）、k 近邻、决策树（decision tree）、随机森林（random forest）。它们把 8×8 图展平成 64 个数，当作 64 个特征。设置几乎都是默认值，只改了三处（下面的代码格把它们和默认值逐项比出来）：逻辑回归最多迭代 1000 次（默认 100），随机森林用 50 棵树（默认 100），决策树和随机森林固定随机种子。
# 两个网络用同一个训练循环 `helpers.training.fit`：一个**多层感知机**（multilayer perceptron, MLP）：64 → 32 → 10；一个只有一层卷积的小型**卷积神经网络**（convolutional neural network, CNN）。每个网络都用 Adam 训练约 100 步（学习率 0.03，批大小 128）：训练按整个 epoch 进行，所以实际是 100–110 步，见下面打印的步数。两边都不做调参，这样比较才公平。

# %%
# NBVAL_CHECK_OUTPUT
for name in overview.CLASSICAL:
    changed = overview.non_default_settings(name)
    print(f"{name:20s}", ", ".join(f"{k}={v!r} (default {d!r})" for k, (v, d) in changed.items()) or "all defaults")
assert set(overview.non_default_settings("logistic regression")) == {"max_iter"}
assert not overview.non_default_settings("k-NN")
steps = {n: overview.network_steps(n) for n in overview.TRAIN_SIZES}
print("Adam steps per training-set size:", steps)
assert all(100 <= k <= 110 for k in steps.values())
for name, net in [("MLP", overview.mlp()), ("CNN", overview.small_cnn())]:
    print(f"{name}: {overview.count_parameters(net)} parameters")
    print(net)

# %% [markdown]
# **训练集大小**。每个模型分别只用前 $n$ 张训练图训练，$n$ 取 50、100、200、400、800 和全部 1347 张，然后都在同一份 450 张的验证集上打分。取图的顺序由 `overview.balanced_order` 决定：各类别轮流取，所以 50 张图正好每类 5 张，而且大的训练集总是包含小的。把验证准确率画成 $n$ 的函数，就是**学习曲线**。
#
# 下一格训练全部 6 × 6 = 36 个模型（要等一会儿），结果缓存起来，后面的图和面板只读结果、不再训练。

# %%
curves = overview.learning_curves()
print(f"{'n_train':20s}" + "".join(f"{n:>7d}" for n in curves.sizes))
for name in curves.models:
    print(f"{name:20s}" + "".join(f"{acc:7.3f}" for acc in curves.accuracy(name)))

# %%
show(learning_curve_figure(curves))

# %% [markdown]
# **怎么读这张图**（中间一张把错误率画在对数坐标上，挤在一起的曲线就分开了）：
#
# - **数据少的时候**（每类 5 张），逻辑回归和两个网络领先，准确率在 0.88–0.92 之间；k 近邻（0.77）和随机森林（0.80–0.85）低一些，单棵决策树只有 0.44–0.54。网络、决策树和随机森林的结果随随机种子变化，这里给的是 5 个种子的范围（见下面的验证格），图里画的是种子 0；逻辑回归和 k 近邻没有随机性。
# - **数据多一些**（200 张以上），除了单棵决策树，所有模型都超过 0.92，彼此相差不到 4 个百分点。用全部数据时，k 近邻、逻辑回归、随机森林和 CNN 都在 0.98 附近（±0.01）；验证集只有 450 张，一张图就是 0.002，相差一两个千分点谈不上谁更强。
# - **曲线不一定处处平滑**：数据多了，某个模型的验证准确率也可能略降。每个点只训练了一次、只用一个随机种子，网络又只走约 100 步，这种不到 3 个百分点的起伏属于噪声，换一个种子就会变。
# - **右图是训练集上的准确率**：单棵决策树和随机森林在每个大小上都把训练图全部判对（背下来了）；k 近邻在 50 张图时训练准确率也不到 1：它看最近的 5 个邻居投票，自己只占一票。
#
# **这个实验没有说明什么**：8×8 的数字图几乎就是一张现成的"特征表"，64 个像素各有明确含义，这正是经典模型擅长的场景。深度学习真正拉开差距的地方——几百×几百像素的照片、语音、长文本，以及百万级的数据——这里一个也没有涉及。所以结论只能是：**在小而规整的数据上，经典模型是很强的基线**，先试它们再上网络；不能反过来说"网络没用"，也不能说"网络总是更好"。
#
# 面板把同一组结果做成可以拖动的样子：选一个训练集大小和一个模型，左边加粗显示它的学习曲线，右边是它在验证集上的混淆矩阵（confusion matrix）：第 $i$ 行第 $j$ 列是"真实为 $i$、被判成 $j$"的图片占第 $i$ 类的比例，对角线是判对的部分。颜色在 0.2 处封顶，所以一类里只错一张图（约 0.02）也看得出来。试试：
#
# - 决策树在 50 张图时：训练准确率 1.000、验证只有 0.44，混淆矩阵里到处是错；
# - 任意模型从 50 拖到 1347：对角线以外的格子总体上越来越淡（中间偶尔有一步反而多错几张），最常见的错误（读数的第二行）也在变；
# - 在 1347 张图时切换几个模型：除了决策树，每个模型只剩不到 20 张错图，而且分散在许多对数字上，读数里"最常见的错误"也只有一到四张，从这么少的错误里看不出哪两个数字特别容易混。

# %%
learning_curve_panel(curves)

# %% [markdown]
# **验证**：下面几格用 `assert` 检查上面读图得出的几条结论——用全部数据比只用 50 张准；数据少时逻辑回归和最好的网络相差不到 4 个百分点；数据充足时网络和经典模型相差不超过两个百分点；单棵决策树在每个大小上都是最差的；以及列表和面板说明里的每个数字。

# %%
best = lambda names, n: max(curves.run(name, n).val_acc for name in names)
small, full = curves.sizes[0], curves.sizes[-1]
for name in curves.models:
    assert curves.run(name, full).val_acc > curves.run(name, small).val_acc, name
print(f"n = {small}:  best classical {best(overview.CLASSICAL, small):.3f}, best network {best(overview.NETWORKS, small):.3f}")
print(f"n = {full}: best classical {best(overview.CLASSICAL, full):.3f}, best network {best(overview.NETWORKS, full):.3f}")
assert abs(best(overview.CLASSICAL, small) - best(overview.NETWORKS, small)) < 0.04
assert abs(best(overview.CLASSICAL, full) - best(overview.NETWORKS, full)) <= 0.02
others = [name for name in curves.models if name != "decision tree"]
assert all(curves.run("decision tree", n).val_acc < min(curves.run(o, n).val_acc for o in others) for n in curves.sizes)
print("decision tree is the weakest model at every training-set size")

# %%
acc = {name: dict(zip(curves.sizes, curves.accuracy(name))) for name in curves.models}
train = {name: dict(zip(curves.sizes, curves.train_accuracy(name))) for name in curves.models}
large = [n for n in curves.sizes if n >= 200]
spread = max(max(acc[m][n] for m in others) - min(acc[m][n] for m in others) for n in large)
print(f"n >= 200: lowest accuracy {min(acc[m][n] for m in others for n in large):.3f}, largest spread {spread:.3f}")
assert min(acc[m][n] for m in others for n in large) > 0.92 and spread < 0.04
assert all(abs(acc[m][full] - 0.98) <= 0.01 for m in ("k-NN", "logistic regression", "random forest", "CNN"))
drop = max(acc[m][a] - acc[m][b] for m in curves.models for a, b in zip(curves.sizes, curves.sizes[1:]))
print(f"largest drop of a learning curve between two sizes: {max(drop, 0):.3f}")
assert drop < 0.03

# %%
assert all(train[m][n] == 1.0 for m in ("decision tree", "random forest") for n in curves.sizes)
assert train["k-NN"][small] < 1.0 and curves.run("k-NN", small).model.n_neighbors == 5
assert abs(acc["CNN"][200] - 0.96) <= 0.015          # the table's "about 96% with 200 images"
for m in others:                                     # the panel at 1347 images: few errors, scattered
    off = curves.run(m, full).confusion.clone().fill_diagonal_(0)
    print(f"{m:20s} {int(off.sum()):2d} validation errors in {int((off > 0).sum()):2d} (true, predicted) pairs, "
          f"at most {int(off.max())} in one pair")
    assert off.sum() < 20 and off.max() <= 4 and (off > 0).sum() >= off.sum() / 2

# %%
seeded = ("decision tree", "random forest", "MLP", "CNN")   # logistic regression and k-NN involve no randomness
at50 = {m: [overview.run_model(m, small, seed=s).val_acc for s in range(5)] for m in seeded}
at50 |= {m: [acc[m][small]] for m in ("logistic regression", "k-NN")}
for m in curves.models:
    print(f"n = {small}, {m:20s} validation accuracy {min(at50[m]):.3f}-{max(at50[m]):.3f}",
          "(seeds 0-4)" if m in seeded else "(no randomness)")
leaders = at50["logistic regression"] + at50["MLP"] + at50["CNN"]
assert 0.86 <= min(leaders) and max(leaders) <= 0.93 and max(at50["decision tree"]) < 0.6
assert 0.75 <= min(at50["k-NN"] + at50["random forest"]) < max(at50["k-NN"] + at50["random forest"]) < min(leaders)
assert all(abs(acc["logistic regression"][small] - max(a, b)) < 0.04 for a, b in zip(at50["MLP"], at50["CNN"]))
trees = [overview.run_model("decision tree", full, seed=s).val_acc for s in range(5)]
print(f"n = {full}, decision tree validation accuracy {min(trees):.3f}-{max(trees):.3f} (seeds 0-4)")
assert 0.8 < min(trees) and max(trees) < 0.88

# %% [markdown]
# > **⚠ 笔记勘误：可解释性与过拟合**
# >
# > **笔记的写法**：经典机器学习"可解释性强"，"LR、XGBoost 能解释"；经典模型的过拟合风险"相对较低"。
# >
# > **正确的说法**：只有线性模型（如逻辑回归）和很浅的树是**天生**可读的：逻辑回归的每个权重直接说明"这个特征让哪个类别更可能"。随机森林、XGBoost 这样由成百上千棵树组成的集成模型，和网络一样需要 SHAP 之类的事后解释工具，才能说清一个具体决定的原因。
# > 过拟合也不是经典模型天然就少：不剪枝的决策树会把训练集背下来。证据见下面两格：先看树和森林的训练 / 验证准确率，再看逻辑回归的权重图。

# %%
for name in ("decision tree", "random forest", "logistic regression"):
    run = curves.run(name, full)
    print(f"{name:20s} training accuracy {run.train_acc:.3f}   validation accuracy {run.val_acc:.3f}")
tree = curves.run("decision tree", full).model
print(f"the unpruned tree has {tree.get_n_leaves()} leaves for {full} training images, depth {tree.get_depth()}")
assert curves.run("decision tree", full).train_acc == 1.0 and abs(curves.run("decision tree", full).val_acc - 0.85) <= 0.02
assert curves.run("random forest", full).train_acc == 1.0 and curves.run("random forest", full).val_acc > 0.97
zero_weights = curves.run("logistic regression", full).model.coef_[0].reshape(8, 8)
print(f"class 0: mean weight of the 4 centre pixels {zero_weights[3:5, 3:5].mean():.2f}")
assert zero_weights[3:5, 3:5].mean() < 0          # the hole in the middle of a 0 counts against class 0

# %%
show(logistic_weights_figure(curves.run("logistic regression", full).model))

# %% [markdown]
# 单棵树把 1347 张训练图全部判对，验证集上却只有 0.85（换随机种子在 0.82–0.86 之间）：这就是过拟合。随机森林同样把训练集背下来了，但它平均了 50 棵在不同子样本上长出来的树，验证准确率回到 0.97 以上；代价是再也没有一条"从根到叶"的规则可以读。
# 逻辑回归的权重图则一眼可读：红色像素是"支持这个数字"的证据，蓝色是反对的证据，比如 0 的中间是蓝的（0 的中间是空的）。
#
# > **⚠ 笔记勘误：参数规模**
# >
# > **笔记的写法**：机器学习模型的参数"百到万级"，深度学习"百万到百亿级"。
# >
# > **正确的说法**：这只是对大型生产系统的量级印象，不是区分两者的标准。一个梯度提升树集成或一个建立在哈希特征上的逻辑回归可以有上百万个参数，而今天最大的语言模型已经超过一千亿；反过来，笔记自己举的网络都很小：`nn.Linear(3, 2)` 只有 8 个参数，`nn.Conv2d(3, 8, 3)` 只有 224 个。下一格把本章的模型放在一起数一数。

# %%
# NBVAL_CHECK_OUTPUT
sizes = {"nn.Linear(3, 2)": overview.count_parameters(nn.Linear(3, 2)),
         "nn.Conv2d(3, 8, 3)": overview.count_parameters(nn.Conv2d(3, 8, 3)),
         "nn.RNN(3, 5)": overview.count_parameters(nn.RNN(3, 5)),
         "our CNN": overview.count_parameters(overview.small_cnn()),
         "our MLP": overview.count_parameters(overview.mlp())}
lr_model = curves.run("logistic regression", full).model
sizes["logistic regression (weights)"] = lr_model.coef_.size + lr_model.intercept_.size
sizes["k-NN (stored pixels)"] = curves.run("k-NN", full).model.n_samples_fit_ * 64   # fit only stores the images
for name, count in sizes.items():
    print(f"{name:32s} {count:>7,d}")
assert sizes["nn.Linear(3, 2)"] == 8 and sizes["nn.Conv2d(3, 8, 3)"] == 224
assert sizes["k-NN (stored pixels)"] > sizes["our MLP"] > sizes["our CNN"] > sizes["logistic regression (weights)"]

# %%
forest = curves.run("random forest", full).model
nodes = sum(t.tree_.node_count for t in forest.estimators_)
print(f"random forest: {len(forest.estimators_)} trees with {nodes:,d} nodes in total "
      f"(each node stores a pixel index and a threshold, or class counts)")
assert nodes > 10_000 > overview.count_parameters(overview.small_cnn())

# %% [markdown]
# 在这个问题上，"经典"的 k 近邻要存下八万多个像素值，随机森林有上万个节点，都比"深度"的 CNN（1370 个参数）大得多。参数多少取决于问题和模型，而不是取决于它属于哪个阵营。
#
# ## 4. 为什么金融风控偏爱经典模型
#
# 笔记用一句话概括：风控要的是**可解释、稳定、合规**，而不是把准确率推到极限。展开成五个原因（每条后面是需要补充的限定）：
#
# 1. **监管要求**：拒绝一笔贷款时，机构必须能说明理由。逻辑回归做成的评分卡（每个特征加几分、减几分）天然满足这一点。*限定*：树集成模型也被大量使用，但要配合 SHAP 等工具逐笔解释，这正是上面的勘误说的"不是天生可解释"。
# 2. **数据类型**：账户、交易、征信这些都是表格，每一列本身就是有含义的特征，正是经典模型的主场。*限定*：文本、图像类的材料（合同、证件照、通话录音）仍然用深度模型处理。
# 3. **数据规模**：违约的"坏样本"很少，类别极不平衡，小数据上复杂模型更容易过拟合。*限定*：经典模型同样会过拟合（见上面的决策树），靠的是正则化和验证，而不是模型类型本身。
# 4. **稳定性优先**：模型上线后，用户群体和经济环境会变化，即分布漂移（distribution shift）。简单模型的行为更容易监控和复现，比多一个百分点的准确率更重要。
# 5. **成本与工程**：经典模型在 CPU 上训练和预测都便宜，延迟低，上线和审计流程成熟。
#
# 面试时可以这样压缩成一句：风控更常用经典机器学习，因为它必须向监管和客户解释每一个决定、在分布变化时保持稳定，而它的数据主要是中小规模的结构化表格——在这种场景下，经典模型更容易做到合规、稳定和低成本上线。

# %% [markdown]
# ## 5. 课程地图
#
# | 章 | 笔记本 | 学什么 | 旗舰面板 | 先修 |
# |---|---|---|---|---|
# | 0 | [00_overview.ipynb](00_overview.ipynb) | 深度学习与经典机器学习的对比；课程的用法；环境自检 | 学习曲线 + 混淆矩阵（训练集大小 × 模型） | 无 |
# | 1 | [01_tensors.ipynb](01_tensors.ipynb) | 张量的创建与 dtype、数学函数的定义域、索引、广播、自动求导 | 函数定义域浏览器（nan / -inf 一目了然）、广播浏览器 | 无 |
# | 2 | [02_activations.ipynb](02_activations.ipynb) | Sigmoid、Tanh、ReLU、Softmax 的曲线与导数，饱和、梯度消失、神经元死亡 | 激活函数与导数；梯度随深度消失 | 第 1 章 |
# | 3 | [03_initialization.ipynb](03_initialization.ipynb) | 全零 / 常数 / 均匀 / 正态 / Kaiming / Xavier 初始化，fan_in 与 fan_out | 各层激活标准差随深度 × 初始化 × 激活函数变化 | 第 1、2 章 |
# | 4 | [04_losses.ipynb](04_losses.ipynb) | 交叉熵、二元交叉熵、MAE、MSE、Huber 与 SmoothL1 | 损失与梯度随误差变化（δ 滑块）；带离群点的直线拟合 | 第 1、2 章 |
# | 5 | [05_optimizers.ipynb](05_optimizers.ipynb) | 梯度下降、动量、AdaGrad、RMSProp、Adam 与指数移动平均 | 二维曲面上的优化器赛跑 | 第 1、4 章 |
# | 6 | [06_lr_schedules.ipynb](06_lr_schedules.ipynb) | StepLR、MultiStepLR、指数衰减、余弦退火、ReduceLROnPlateau | 学习率调度浏览器 + 学习率范围测试 | 第 5 章 |
# | 7 | [07_regularization.ipynb](07_regularization.ipynb) | Dropout、权重衰减、批归一化 | 过拟合游乐场（数据、噪声、正则化强度、结构） | 第 2、4、5 章 |
# | 8 | [08_cnn.ipynb](08_cnn.ipynb) | 卷积层与池化层的计算和 API、输出尺寸、特征图 | 卷积算术网格 + 真实照片上的滤波器游乐场 | 第 2、4、5 章 |
# | 9 | [09_rnn.ipynb](09_rnn.ipynb) | 循环神经网络、时间上的梯度、词嵌入 | 时间上的梯度范数 + 隐状态热图 + 嵌入空间 | 第 2、4、5、8 章 |
# | 10 | [10_dataloader.ipynb](10_dataloader.ipynb) | Dataset 与 DataLoader：batch_size、shuffle、drop_last，按批大小加权的 epoch 损失 | batch 地图（哪个样本落在哪一批） | 第 5 章（第 7、9 章的 BatchNorm 和变长序列在几个例子里用到） |
#
# 第 1–7 章是一条主线：张量 → 激活函数 → 初始化 → 损失 → 优化器 → 学习率 → 正则化，每章都用到前面的内容。第 8、9 章是两类网络结构，建立在第 2–5 章之上；第 10 章讲数据怎样一批批送进模型，学完第 5 章就能读懂主体，最好再读过第 7、9 章。每章末尾都有上一章、下一章的链接。

# %% [markdown]
# ## 小结
#
# - 深度学习是机器学习的子集：它用"数据 + 损失 + 优化"训练多层网络，区别在于特征由人设计还是由网络从原始输入中学出来；k 近邻这类经典方法甚至不优化任何损失。
# - 对比表里的每一条都是经验趋势：特征工程减少但没有消失，参数规模只是量级印象，"可解释""不易过拟合"只对线性模型和浅树成立。
# - 在 8×8 手写数字上，有 200 张或更多训练图时，逻辑回归、k 近邻、随机森林和小网络的验证准确率相差不到 4 个百分点；数据很少时差别明显（50 张图时逻辑回归和网络在 0.88–0.92 之间，k 近邻 0.77，随机森林 0.80–0.85）。单棵不剪枝的决策树在每个大小上都最差，而且严重过拟合。
# - 这个实验不能推广到大图像、语音、文本和海量数据——那才是深度学习的主场。先用经典模型建立基线，是任何时候都划算的习惯。
# - 风控偏爱经典模型，主要是为了可解释、稳定、合规和低成本，而不是因为网络不够准。

# %% [markdown]
# ## 面试速答
#
# **问：深度学习和机器学习是什么关系？**
# 答：深度学习是机器学习的一个子集。深度学习的模型是多层网络，用"损失 + 优化"从原始输入中自己学出特征；经典方法通常依赖人工设计的特征，训练方式也更多样（逻辑回归同样优化损失，决策树按规则切分，k 近邻只存数据）。
#
# **问：什么时候优先用经典机器学习？**
# 答：数据是中小规模的结构化表格、需要逐条解释决定、对延迟和成本敏感的时候。即使最终要上深度模型，也应该先用逻辑回归、树模型做一个基线。
#
# **问：深度学习还需要特征工程吗？**
# 答：需要的少了，但没有消失：输入归一化、文本分词、数据增强、缺失值处理，以及选择网络结构（卷积、循环）本身都是人把先验知识放进模型的方式。
#
# **问：随机森林和 XGBoost 算"可解释"吗？**
# 答：不是天生可解释。单棵浅树和线性模型可以直接读；成百上千棵树的集成需要特征重要性、SHAP 等事后解释工具，才能说明某一个预测的原因。
#
# **问：为什么说"深度学习需要大数据"不绝对？**
# 答：模型容量可以按数据量选，加上正则化和早停，小网络在小数据上也能表现很好（本章的小 CNN 用 200 张图就有约 96%）；预训练模型微调更是专门为小数据准备的。

# %% [markdown]
# ## 练习
#
# **练习 1**：写一个函数 `count_parameters(model)`，返回任意 `nn.Module` 中要学习的参数个数（一个整数）。检查器会用 `nn.Linear`、`nn.Conv2d`、`nn.RNN`、本章的 CNN、一个把同一层用了两次的模型，以及一个带 `BatchNorm1d` 的模型来测试它（BatchNorm 的 `running_mean`、`running_var` 是缓冲区，不是要学习的参数）。返回 `int`、NumPy 整数或 0 维整数张量都可以；课程自带的 `count_parameters` 不算数。

# %%
count_parameters = None  # 在这里写你的函数：def count_parameters(model): ...
exercises.check_count_parameters(count_parameters)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# ```python
# def count_parameters(model):
#     return sum(p.numel() for p in model.parameters())   # parameters() 对共享的层只给一次
#
# exercises.check_count_parameters(count_parameters)
# ```
#
# </details>
#
# **练习 2**：不用 `sklearn.metrics.confusion_matrix`，自己写 `my_confusion_matrix(y_true, y_pred, num_classes)`：返回形状为 `(num_classes, num_classes)` 的张量，第 `i` 行第 `j` 列是"真实类别为 `i`、预测为 `j`"的样本个数。检查器会用 3、5、7 个类别的标签来试（有的类别可能一次也没出现）；scikit-learn、pandas、SciPy 里现成的做法和课程自带的混淆矩阵函数都不能用，NumPy 或 torch 的计数（如 `bincount`）可以。

# %%
my_confusion_matrix = None  # 在这里写你的函数：def my_confusion_matrix(y_true, y_pred, num_classes): ...
exercises.check_confusion_matrix(my_confusion_matrix)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# ```python
# def my_confusion_matrix(y_true, y_pred, num_classes):
#     cm = torch.zeros(num_classes, num_classes, dtype=torch.long)
#     for t, p in zip(y_true.tolist(), y_pred.tolist()):
#         cm[t, p] += 1
#     return cm
#
# exercises.check_confusion_matrix(my_confusion_matrix)
# ```
#
# 不写循环也可以：`torch.bincount(y_true * num_classes + y_pred, minlength=num_classes**2).reshape(num_classes, num_classes)`。
#
# </details>
#
# **练习 3**：写 `per_class_recall(cm)`：给定一个混淆矩阵（行 = 真实类别），返回每一类的召回率（recall），即这一类的样本中被判对的比例。然后用它找出面板里 CNN 在 50 张训练图时最难认的数字（`curves.run("CNN", 50).confusion`）。

# %%
per_class_recall = None  # 在这里写你的函数：def per_class_recall(cm): ...
exercises.check_per_class_recall(per_class_recall)

# %% [markdown]
# <details><summary>参考答案</summary>
#
# ```python
# def per_class_recall(cm):
#     cm = torch.as_tensor(cm, dtype=torch.float64)
#     return cm.diagonal() / cm.sum(dim=1)
#
# exercises.check_per_class_recall(per_class_recall)
# recall = per_class_recall(curves.run("CNN", 50).confusion)
# print("hardest digit for the CNN with 50 images:", int(recall.argmin()), f"(recall {recall.min():.2f})")
# ```
#
# </details>

# %% [markdown]
# [第1章 张量 →](01_tensors.ipynb)
