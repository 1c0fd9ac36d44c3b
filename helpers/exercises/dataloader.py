"""Exercise checkers for 第10章 DataLoader: each returns a :class:`~helpers.exercises.Feedback`."""
from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from . import Feedback, call_without, close_to, not_answered

__all__ = ["check_iteration_counts", "check_squares_dataset", "check_pad_collate", "check_balanced_weights"]


def check_iteration_counts(answer: Any) -> Feedback:
    """Exercise: (len(loader), len(loader) with drop_last, iterations in 3 epochs) for N = 500, batch_size = 64."""
    if answer is None:
        return not_answered()
    if isinstance(answer, str) or not isinstance(answer, (tuple, list)) or len(answer) != 3:
        return Feedback(False, "请给出一个含 3 个整数的元组，例如 (a, b, c)，不是字符串。")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in answer):
        return Feedback(False, "三个数都应是整数（int）：批次数和迭代次数不会是小数。")
    expected = (len(DataLoader(range(500), batch_size=64)), len(DataLoader(range(500), batch_size=64, drop_last=True)),
                3 * len(DataLoader(range(500), batch_size=64)))
    if tuple(answer) == expected:
        return Feedback(True, "⌈500/64⌉ = 8（最后一批 52 个样本），drop_last 时 ⌊500/64⌋ = 7，3 个 epoch 共 24 次迭代（参数更新）。")
    if answer[0] == 7 or answer[1] == 8:
        return Feedback(False, "想一想最后那个不满 64 的批次：默认保留它（向上取整），drop_last=True 才丢掉（向下取整）。")
    if answer[2] in (3, 1500):
        return Feedback(False, "迭代次数 = 每个 epoch 的批次数 × epoch 数：每处理一个批次就更新一次参数。")
    return Feedback(False, "len(loader) 是每个 epoch 的批次数：⌈N / batch_size⌉；drop_last=True 时是 ⌊N / batch_size⌋。")


def check_squares_dataset(cls: Any) -> Feedback:
    """Exercise: a map-style Dataset ``cls(n)`` whose item i is (tensor([i.]), tensor([i**2.]))."""
    if cls is None:
        return not_answered()
    if not isinstance(cls, type):
        return Feedback(False, "请交一个类（class SquaresDataset(Dataset): ...），而不是它的实例或一个函数。")
    try:
        ds = cls(10)
        if not isinstance(ds, Dataset):
            return Feedback(False, "让你的类继承 torch.utils.data.Dataset。")
        if len(ds) != 10:
            return Feedback(False, f"len(SquaresDataset(10)) 应为 10，得到 {len(ds)}：实现 __len__。")
        x, y = ds[3]
        if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)):
            return Feedback(False, "__getitem__ 应返回两个张量 (x, y)。")
        if not (close_to(x, [3.0]) and close_to(y, [9.0])):
            return Feedback(False, f"ds[3] 应为 (tensor([3.]), tensor([9.]))，得到 ({x}, {y})。")
        xb, yb = next(iter(DataLoader(ds, batch_size=4)))
        total = sum(len(b) for b, _ in DataLoader(cls(10), batch_size=4))
    except Exception as exc:  # the learner's class failed
        return Feedback(False, f"运行时出错：{type(exc).__name__}: {exc}")
    if tuple(xb.shape) != (4, 1) or not close_to(yb.flatten(), [0.0, 1.0, 4.0, 9.0]):
        return Feedback(False, f"DataLoader(ds, batch_size=4) 的第一批应为形状 (4, 1) 的 x 与 y = 0, 1, 4, 9，得到 {tuple(xb.shape)}。")
    if total != 10:
        return Feedback(False, "一个 epoch 应恰好给出 10 个样本。")
    return Feedback(True, "__len__ 和 __getitem__ 就是 map-style Dataset 的全部约定；DataLoader 负责按下标取样本、拼成批。")


def check_pad_collate(fn: Any) -> Feedback:
    """Exercise: ``fn(batch)`` pads 1-D sequences with 0 and returns ((padded, lengths), labels) like ``pad_collate``."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 my_collate(batch)。")
    from ..dataloader import pad_collate

    batch = [(torch.tensor([3, 1, 4]), 0), (torch.tensor([1, 5]), 1), (torch.tensor([9, 2, 6, 5]), 1),
             (torch.tensor([3]), 0)]
    (padded, lengths), labels = pad_collate(batch)
    if fn is pad_collate:
        return Feedback(False, "这就是课程自带的 pad_collate：请自己写一个。")
    result, failed = call_without(["torch.nn.utils.rnn.pad_sequence", "torch._C._nn.pad_sequence",
                                   "helpers.dataloader.pad_collate", "helpers.dataloader._stack_targets"],
                                  lambda: fn(batch), "你的函数调用了 pad_sequence / pad_collate：请用 torch.zeros 建好 "
                                                     "(B, L_max) 的张量，再逐行填入。")
    if failed is not None:
        return failed
    try:
        (ours_padded, ours_lengths), ours_labels = result
    except (TypeError, ValueError):
        return Feedback(False, f"返回的结构不对：应为 ((padded, lengths), labels)，得到 {type(result).__name__}。")
    if not isinstance(ours_padded, torch.Tensor) or tuple(ours_padded.shape) != tuple(padded.shape):
        return Feedback(False, f"padded 的形状应为 (批大小, 最长长度) = {tuple(padded.shape)}。")
    if not torch.equal(ours_padded.long(), padded):
        return Feedback(False, "每一行先放原序列，后面补 0；检查行的顺序与补齐的位置。")
    if not (isinstance(ours_lengths, torch.Tensor) and torch.equal(ours_lengths.long(), lengths)):
        return Feedback(False, "lengths 应是每条序列原来的长度组成的张量：tensor([3, 2, 4, 1])。")
    if not (isinstance(ours_labels, torch.Tensor) and torch.equal(ours_labels.long(), labels)):
        return Feedback(False, "labels 应把每个样本的标签拼成一个张量：tensor([0, 1, 1, 0])。")
    return Feedback(True, "和 helpers.dataloader.pad_collate 一致：补齐到本批最长的序列，并记下原长度（第9章的 RNN 会用到）。")


def check_balanced_weights(fn: Any) -> Feedback:
    """Exercise: ``fn(labels)`` gives per-sample weights with which WeightedRandomSampler draws every class equally."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 class_weights(labels)。")
    labels = torch.tensor([0] * 70 + [1] * 20 + [2] * 10)
    w, failed = call_without(["helpers.dataloader.balanced_sample_weights"],
                             lambda: torch.as_tensor(fn(labels), dtype=torch.float64),
                             "你的函数调用了 helpers.dataloader.balanced_sample_weights：请自己用 torch.bincount 算。")
    if failed is not None:
        return failed
    if w.shape != labels.shape:
        return Feedback(False, f"要给**每个样本**一个权重：应返回长度 {len(labels)} 的张量，而不是每个类一个数。")
    if (w < 0).any() or w.sum() <= 0:
        return Feedback(False, "权重必须非负，且不能全为 0。")
    totals = torch.zeros(3, dtype=torch.float64).index_add_(0, labels, w)
    shares = totals / totals.sum()
    if close_to(shares, [1 / 3, 1 / 3, 1 / 3], atol=1e-6):
        return Feedback(True, "每个类的权重总和相同，所以 WeightedRandomSampler 抽到各类的概率相同：w_i = 1 / n_{y_i}（整体乘一个常数也可以）。")
    if close_to(shares, [0.7 ** 2 / 0.54, 0.2 ** 2 / 0.54, 0.1 ** 2 / 0.54], atol=1e-3):
        return Feedback(False, "权重和类别样本数成正比，多数类反而更容易被抽到：应取**倒数** 1 / n_c。")
    if close_to(shares, [0.7, 0.2, 0.1], atol=1e-6):
        return Feedback(False, "这样各类被抽到的比例和数据集一样（相当于没加权）：每个样本的权重应为 1 / (它所属类的样本数)。")
    return Feedback(False, "先用 torch.bincount(labels) 数出每类样本数 n_c，再令样本 i 的权重为 1 / n_{y_i}。")
