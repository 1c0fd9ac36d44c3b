"""Exercise checkers for 第0章 深度学习与机器学习 (overview): each returns a :class:`~helpers.exercises.Feedback`."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from . import Feedback, Forbid, as_integer, close_to, fresh_generator, not_answered, run_answer
from .. import overview

# fresh work: the course's own code is always refused, and so are libraries that already count parameters or
# build confusion matrices (scikit-learn, pandas' crosstab, SciPy's sparse matrices, model-summary packages);
# a library that is not installed is skipped
_FRESH = Forbid(modules=("sklearn", "torchmetrics", "pandas", "scipy", "torchinfo", "torchsummary", "thop", "fvcore"))


def _models() -> list[tuple[nn.Module, int]]:
    """Models with their parameter counts; the BatchNorm ones also hold buffers, which are not parameters."""
    shared = nn.Linear(3, 2)
    return [(nn.Linear(3, 2), 8), (nn.Conv2d(3, 8, 3), 224), (nn.RNN(3, 5), 50),
            (overview.small_cnn(), 1370), (nn.Sequential(shared, nn.ReLU(), shared), 8),
            (nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 1)), 49)]


def check_count_parameters(fn: Any) -> Feedback:
    """Exercise: ``fn(model)`` returns the number of parameters of any ``nn.Module`` (an integer in any form)."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 count_parameters(model)，它返回一个整数。")
    models = _models()
    answers, failed = run_answer(lambda: [fn(model) for model, _ in models], _FRESH, "你的函数运行了 {what}：请自己数。",
                                 "提示：遍历 model.parameters()，把每个张量的 numel() 加起来。")
    if failed is not None:
        return failed
    counts = [as_integer(a) for a in answers]
    if None in counts:
        bad = answers[counts.index(None)]
        return Feedback(False, f"返回的是 {type(bad).__name__}（{str(bad)[:20]}），需要一个整数。")
    wrong = [(m, e, c) for (m, e), c in zip(models, counts) if c != e]
    if wrong and counts == [sum(t.numel() for t in m.state_dict().values()) for m, _ in models]:
        return Feedback(False, "你数的是 state_dict()：它把缓冲区（BatchNorm 的 running_mean、running_var、num_batches_tracked）"
                               "也算进去了，同一层用两次也会算两遍。用 model.parameters()。")
    if not wrong:
        return Feedback(True, "nn.Linear(3, 2) 有 8 个参数，Conv2d(3, 8, 3) 有 224 个，nn.RNN(3, 5) 有 50 个；"
                              "同一层用两次只算一次（parameters() 会去重），BatchNorm 的 running_mean/var 是缓冲区，不算参数。")
    model, expected, got = wrong[0]
    weights = sum(p.numel() for name, p in model.named_parameters() if "bias" not in name)
    if got == weights:
        return Feedback(False, "只数了权重：偏置（bias）也是要学习的参数。")
    if isinstance(model, nn.Sequential) and got == 2 * expected:
        return Feedback(False, "同一个层在模型里出现两次，它的参数只有一份：用 model.parameters()（会去重）来数。")
    if got == sum(t.numel() for t in model.state_dict().values()):
        return Feedback(False, "你把缓冲区（BatchNorm 的 running_mean、running_var、num_batches_tracked）也数进去了："
                               "它们不是要学习的参数。用 model.parameters()，不要用 state_dict()。")
    return Feedback(False, f"{model.__class__.__name__} 应有 {expected} 个参数，你的函数给出 {got}。"
                           "提示：sum(p.numel() for p in model.parameters())。")


_COUNT_IT_YOURSELF = "这道题要自己数出来，不能调用现成的 {what}。"


def _confusion_cases() -> list[tuple[torch.Tensor, torch.Tensor, int]]:
    """Label pairs with 3, 5 and 7 classes (one class never seen in the last), in a fresh random order."""
    g = fresh_generator()
    fixed = (torch.tensor([0, 1, 2, 2, 1, 0, 2, 2, 1, 0, 0, 2]), torch.tensor([0, 2, 2, 1, 1, 0, 2, 0, 1, 0, 1, 2]), 3)
    five = (torch.randint(0, 5, (60,), generator=g), torch.randint(0, 5, (60,), generator=g), 5)
    seven = (torch.randint(0, 6, (40,), generator=g), torch.randint(0, 6, (40,), generator=g), 7)
    return [fixed, five, seven]


def check_confusion_matrix(fn: Any) -> Feedback:
    """Exercise: ``fn(y_true, y_pred, num_classes)`` returns the (C, C) confusion matrix, rows = true class."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 my_confusion_matrix(y_true, y_pred, num_classes)。")
    cases = _confusion_cases()
    results, failed = run_answer(lambda: [fn(t.clone(), p.clone(), c) for t, p, c in cases], _FRESH, _COUNT_IT_YOURSELF,
                                 "提示：先建一个 (C, C) 的全零张量，再对每个样本把 [真实类别, 预测类别] 那一格加 1。")
    if failed is not None:
        return failed
    for (y_true, y_pred, c), got in zip(cases, results):
        expected = torch.zeros(c, c, dtype=torch.long).index_put_((y_true, y_pred), torch.tensor(1), accumulate=True)
        if isinstance(got, (str, bytes)):
            return Feedback(False, "返回的是字符串，需要一个 (C, C) 的张量或数组。")
        if close_to(got, expected, atol=0, rtol=0):
            continue
        if close_to(got, expected.T, atol=0, rtol=0):
            return Feedback(False, "行和列反了：约定是第 i 行 = 真实类别 i，第 j 列 = 预测类别 j。")
        if c == 7:
            return Feedback(False, "形状要由 num_classes 决定：即使某一类一次都没出现，矩阵也是 (num_classes, num_classes)。")
        return Feedback(False, f"{c} 个类时不对：C[i, j] 数的是“真实类别为 i、被预测成 j”的样本个数；"
                               "形状固定为 (num_classes, num_classes)。")
    return Feedback(True, "3、5、7 个类都对：每一行加起来是这一类的样本数，对角线是判对的个数；"
                          "num_classes 决定形状，即使某一类没有出现。")


def _recall_cases() -> list[torch.Tensor]:
    g = fresh_generator()
    fixed = torch.tensor([[40, 3, 2], [5, 30, 0], [1, 9, 20]], dtype=torch.float64)
    return [fixed] + [torch.randint(0, 20, (c, c), generator=g).double() + 10 * torch.eye(c, dtype=torch.float64)
                      for c in (4, 6)]


def check_per_class_recall(fn: Any) -> Feedback:
    """Exercise: ``fn(cm)`` returns each class's recall ``cm[i, i] / cm[i].sum()`` (rows = true class)."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 per_class_recall(cm)，它返回每一类的召回率。")
    cases = _recall_cases()
    results, failed = run_answer(lambda: [fn(cm.clone()) for cm in cases], _FRESH, _COUNT_IT_YOURSELF,
                                 "提示：对角线除以每一行的和。")
    if failed is not None:
        return failed
    for cm, got in zip(cases, results):
        if isinstance(got, (str, bytes)):
            return Feedback(False, "返回的是字符串，需要一个长度为 C 的张量。")
        if close_to(got, cm.diagonal() / cm.sum(dim=0)):
            return Feedback(False, "这是每一类的精确率（precision，按列归一化）。召回率按行：真实为 i 的样本里有多少被判对。")
        if close_to(got, cm.diagonal().sum() / cm.sum()):
            return Feedback(False, "这是总体准确率（一个数）。题目要的是每一类一个召回率。")
        if not close_to(got, cm.diagonal() / cm.sum(dim=1)):
            return Feedback(False, f"{len(cm)} 个类的混淆矩阵上不对：第 i 类的召回率 = cm[i, i] / cm[i, :].sum()，"
                                   "真实属于 i 的样本中被判成 i 的比例。")
    return Feedback(True, "3、4、6 个类都对。召回率 = 对角线 / 行和：本题第一个矩阵里第 2 类只有 20/30 ≈ 0.67 被认出来，"
                          "它最常被错认成第 1 类。")
