"""Exercise checkers for 第10章 DataLoader: each returns a :class:`~helpers.exercises.Feedback`."""
from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from . import Feedback, Forbid, as_int_tuple, close_to, fresh_generator, not_answered, run_answer

__all__ = ["check_iteration_counts", "check_squares_dataset", "check_pad_collate", "check_balanced_weights"]


def check_iteration_counts(answer: Any) -> Feedback:
    """Exercise: (len(loader), len(loader) with drop_last, iterations in 3 epochs) for N = 500, batch_size = 64."""
    if answer is None:
        return not_answered()
    answer = as_int_tuple(answer, 3)
    if answer is None:
        return Feedback(False, "请给出一个含 3 个整数的元组，例如 (a, b, c)：批次数和迭代次数都是整数，不是字符串或小数。")
    expected = (len(DataLoader(range(500), batch_size=64)), len(DataLoader(range(500), batch_size=64, drop_last=True)),
                3 * len(DataLoader(range(500), batch_size=64)))
    if tuple(answer) == expected:
        return Feedback(True, "⌈500/64⌉ = 8（最后一批 52 个样本），drop_last 时 ⌊500/64⌋ = 7，3 个 epoch 共 24 次迭代（参数更新）。")
    if answer[0] == 7 or answer[1] == 8:
        return Feedback(False, "想一想最后那个不满 64 的批次：默认保留它（向上取整），drop_last=True 才丢掉（向下取整）。")
    if answer[2] in (3, 1500):
        return Feedback(False, "迭代次数 = 每个 epoch 的批次数 × epoch 数：每处理一个批次就更新一次参数。")
    return Feedback(False, "len(loader) 是每个 epoch 的批次数：⌈N / batch_size⌉；drop_last=True 时是 ⌊N / batch_size⌋。")


_PLAIN = Forbid()  # nothing but the course's own code (always refused)
_SIZES = (1, 7, 10, 23)


def _squares_problem(cls: type) -> str | None:
    """What is wrong with the learner's Dataset class on several sizes, or None."""
    for n in _SIZES:
        ds = cls(n)
        if not isinstance(ds, Dataset):
            return "让你的类继承 torch.utils.data.Dataset。"
        if len(ds) != n:
            return f"len(SquaresDataset({n})) 应为 {n}，得到 {len(ds)}：__len__ 要返回构造时给的 n。"
        for i in range(n):
            x, y = ds[i]
            if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)):
                return "__getitem__ 应返回两个张量 (x, y)。"
            if x.dtype != torch.float32 or y.dtype != torch.float32:
                return f"x、y 应是 float32 张量（torch.tensor([float(i)])），得到 {x.dtype}、{y.dtype}。"
            if tuple(x.shape) != (1,) or tuple(y.shape) != (1,) or x.item() != i or y.item() != i * i:
                return f"SquaresDataset({n})[{i}] 应为 (tensor([{float(i)}]), tensor([{float(i * i)}]))，得到 ({x}, {y})。"
        batches = list(DataLoader(cls(n), batch_size=4))
        xs = torch.cat([b[0] for b in batches])
        if tuple(batches[0][0].shape) != (min(4, n), 1) or xs.flatten().tolist() != [float(i) for i in range(n)]:
            return f"DataLoader(SquaresDataset({n}), batch_size=4) 应依次给出全部 {n} 个样本，每批 x 的形状为 (批大小, 1)。"
    return None


def check_squares_dataset(cls: Any) -> Feedback:
    """Exercise: a map-style Dataset ``cls(n)`` whose item i is (tensor([i.]), tensor([i**2.])), for several n."""
    if cls is None:
        return not_answered()
    if not isinstance(cls, type):
        return Feedback(False, "请交一个类（class SquaresDataset(Dataset): ...），而不是它的实例或一个函数。")
    problem, failed = run_answer(lambda: _squares_problem(cls), _PLAIN, "", "先试试 SquaresDataset(10)[3]。")
    if failed is not None:
        return failed
    if problem is not None:
        return Feedback(False, problem)
    return Feedback(True, f"n = {', '.join(map(str, _SIZES))} 时长度、每个样本（float32）和 DataLoader 的批次都对："
                          "__len__ 和 __getitem__ 就是 map-style Dataset 的全部约定；DataLoader 负责按下标取样本、拼成批。")


# what my_collate must not run: PyTorch's padding and packing of sequences (and nested tensors' to_padded_tensor),
# however reached
_PAD = Forbid(ops=r"pad_sequence|pad_packed|pack_padded|pack_sequence|padded_tensor")


def _collate_batches() -> list[list[tuple[torch.Tensor, int]]]:
    g = fresh_generator()
    fixed = [(torch.tensor([3, 1, 4]), 0), (torch.tensor([1, 5]), 1), (torch.tensor([9, 2, 6, 5]), 1),
             (torch.tensor([3]), 0)]
    lengths = torch.randint(1, 9, (6,), generator=g).tolist()
    random = [(torch.randint(1, 50, (n,), generator=g), int(torch.randint(0, 3, (1,), generator=g))) for n in lengths]
    return [fixed, random]


def _reference_collate(batch):
    longest = max(len(seq) for seq, _ in batch)
    padded = torch.zeros(len(batch), longest, dtype=torch.long)
    for row, (seq, _) in enumerate(batch):
        padded[row, :len(seq)] = seq
    return (padded, torch.tensor([len(s) for s, _ in batch])), torch.tensor([label for _, label in batch])


def check_pad_collate(fn: Any) -> Feedback:
    """Exercise: ``fn(batch)`` pads 1-D sequences with 0 and returns ((padded, lengths), labels) like ``pad_collate``."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 my_collate(batch)。")
    batches = _collate_batches()
    results, failed = run_answer(lambda: [fn([(s.clone(), y) for s, y in b]) for b in batches], _PAD,
                                 "你的函数运行了 PyTorch 现成的 {what}：请用 torch.zeros 建好 (B, L_max) 的张量，再逐行填入。",
                                 "batch 是若干 (一维整数张量, 整数标签)。")
    if failed is not None:
        return failed
    for batch, result in zip(batches, results):
        (padded, lengths), labels = _reference_collate(batch)
        try:
            (ours_padded, ours_lengths), ours_labels = result
        except (TypeError, ValueError):
            return Feedback(False, f"返回的结构不对：应为 ((padded, lengths), labels)，得到 {type(result).__name__}。")
        if not isinstance(ours_padded, torch.Tensor) or tuple(ours_padded.shape) != tuple(padded.shape):
            return Feedback(False, f"padded 的形状应为 (批大小, 本批最长长度) = {tuple(padded.shape)}。")
        if not torch.equal(ours_padded.long(), padded):
            return Feedback(False, "每一行先放原序列，后面补 0；检查行的顺序与补齐的位置。")
        if not (isinstance(ours_lengths, torch.Tensor) and torch.equal(ours_lengths.long(), lengths)):
            return Feedback(False, f"lengths 应是每条序列原来的长度组成的张量，例如 {lengths}。")
        if not (isinstance(ours_labels, torch.Tensor) and torch.equal(ours_labels.long(), labels)):
            return Feedback(False, f"labels 应把每个样本的标签拼成一个张量，例如 {labels}。")
    return Feedback(True, "补齐到本批最长的序列，并记下原长度（第9章的 RNN 会用到）：和 helpers.dataloader.pad_collate 一样。")


# what class_weights must not run: scikit-learn's class/sample weights and the course's own (always refused)
_WEIGHTS = Forbid(modules=("sklearn",))


def check_balanced_weights(fn: Any) -> Feedback:
    """Exercise: ``fn(labels)`` gives per-sample weights with which WeightedRandomSampler draws every class equally."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 class_weights(labels)。")
    g = fresh_generator()
    counts = [70, 20, 10, 35]
    labels = torch.cat([torch.full((n,), c) for c, n in enumerate(counts)])
    labels = labels[torch.randperm(len(labels), generator=g)]
    w, failed = run_answer(lambda: fn(labels.clone()), _WEIGHTS,
                           "你的函数运行了 {what}：请自己用 torch.bincount 数出每类的样本数。", "labels 是一维整数张量。")
    if failed is not None:
        return failed
    try:
        w = torch.as_tensor(w.detach() if isinstance(w, torch.Tensor) else w, dtype=torch.float64)
    except Exception:
        return Feedback(False, "应返回一个张量（每个样本一个权重）。")
    if w.shape != labels.shape:
        return Feedback(False, f"要给**每个样本**一个权重：应返回长度 {len(labels)} 的张量，而不是每个类一个数。")
    if not bool(torch.isfinite(w).all()) or (w < 0).any() or w.sum() <= 0:
        return Feedback(False, "权重必须是有限的非负数，且不能全为 0。")
    n_c = torch.tensor(counts, dtype=torch.float64)[labels]
    shares = torch.zeros(len(counts), dtype=torch.float64).index_add_(0, labels, w) / w.sum()
    if close_to(w * n_c / (w * n_c).mean(), torch.ones_like(w), atol=1e-6):
        return Feedback(True, "每个样本的权重是 1 / n_{y_i}：每个类的权重总和相同，WeightedRandomSampler 抽到各类的概率相同，"
                              "同一类里每个样本被抽到的机会也一样（整体乘一个常数也可以）。")
    if close_to(shares, torch.full((len(counts),), 1 / len(counts), dtype=torch.float64), atol=1e-6):
        return Feedback(False, "各类的权重总和相同了，但同一类里的样本权重不一样：有些样本永远（或很少）被抽到。"
                               "每个样本的权重应为 1 / (它所属类的样本数)。")
    if close_to(w / w.mean(), n_c / n_c.mean(), atol=1e-6):
        return Feedback(False, "权重和类别样本数成正比，多数类反而更容易被抽到：应取**倒数** 1 / n_c。")
    if close_to(w / w.mean(), torch.ones_like(w), atol=1e-6):
        return Feedback(False, "权重都一样，各类被抽到的比例和数据集一样（相当于没加权）：每个样本的权重应为 1 / (它所属类的样本数)。")
    return Feedback(False, "先用 torch.bincount(labels) 数出每类样本数 n_c，再令样本 i 的权重为 1 / n_{y_i}。")
