"""Exercise checkers for 第0章 深度学习与机器学习 (overview): each returns a :class:`~helpers.exercises.Feedback`."""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from . import Feedback, call_without, close_to, not_answered, run_check
from .. import overview


def _refers_to(fn: Callable, targets: list) -> bool:
    """True if ``fn`` is one of ``targets`` or reads one of them through a global name."""
    if any(fn is t for t in targets):
        return True
    code, scope = getattr(fn, "__code__", None), getattr(fn, "__globals__", {})
    return code is not None and any(any(scope.get(name) is t for t in targets) for name in code.co_names)


def _sklearn_confusion_matrix():
    """scikit-learn's confusion_matrix, or None where scikit-learn is missing."""
    try:
        from sklearn import metrics
    except ImportError:
        return None
    return metrics.confusion_matrix


def _models() -> list[tuple[nn.Module, int]]:
    shared = nn.Linear(3, 2)
    return [(nn.Linear(3, 2), 8), (nn.Conv2d(3, 8, 3), 224), (nn.RNN(3, 5), 50),
            (overview.small_cnn(), 1370), (nn.Sequential(shared, nn.ReLU(), shared), 8)]


def check_count_parameters(fn: Any) -> Feedback:
    """Exercise: ``fn(model)`` returns the number of parameters of any ``nn.Module`` (as an int)."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 count_parameters(model)，它返回一个整数。")
    if _refers_to(fn, [overview.count_parameters]):
        return Feedback(False, "helpers.overview.count_parameters 就是答案本身：请用 model.parameters() 自己写一遍。")
    results = []
    for model, expected in _models():
        try:
            got = fn(model)
        except Exception as exc:
            return Feedback(False, f"对 {model.__class__.__name__} 运行时出错（{type(exc).__name__}: {exc}）。"
                                   "提示：遍历 model.parameters()，把每个张量的 numel() 加起来。")
        if isinstance(got, (str, bytes)) or isinstance(got, bool):
            return Feedback(False, f"返回的是 {type(got).__name__}，需要一个整数。")
        results.append((model, expected, got))
    wrong = [(m, e, g) for m, e, g in results if not close_to(g, e, atol=0, rtol=0)]
    if not wrong:
        return Feedback(True, "nn.Linear(3, 2) 有 8 个参数，Conv2d(3, 8, 3) 有 224 个，nn.RNN(3, 5) 有 50 个；"
                              "同一层用两次只算一次（parameters() 会去重）。")
    model, expected, got = wrong[0]
    weights = sum(p.numel() for name, p in model.named_parameters() if "bias" not in name)
    if close_to(got, weights, atol=0, rtol=0):
        return Feedback(False, "只数了权重：偏置（bias）也是要学习的参数。")
    if isinstance(model, nn.Sequential) and close_to(got, 2 * expected, atol=0, rtol=0):
        return Feedback(False, "同一个层在模型里出现两次，它的参数只有一份：用 model.parameters()（会去重）来数。")
    return Feedback(False, f"{model.__class__.__name__} 应有 {expected} 个参数，你的函数给出 {got}。"
                           "提示：sum(p.numel() for p in model.parameters())。")


_Y_TRUE = [0, 1, 2, 2, 1, 0, 2, 2, 1, 0, 0, 2]
_Y_PRED = [0, 2, 2, 1, 1, 0, 2, 0, 1, 0, 1, 2]
_COUNT_IT_YOURSELF = "这道题要自己数出来，不能直接调用 sklearn 或 helpers 里现成的 confusion_matrix。"


def check_confusion_matrix(fn: Any) -> Feedback:
    """Exercise: ``fn(y_true, y_pred, num_classes)`` returns the (C, C) confusion matrix, rows = true class."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 my_confusion_matrix(y_true, y_pred, num_classes)。")
    builtins = [overview.confusion_matrix] + [f for f in [_sklearn_confusion_matrix()] if f is not None]
    if _refers_to(fn, builtins):
        return Feedback(False, _COUNT_IT_YOURSELF)
    y_true, y_pred = torch.tensor(_Y_TRUE), torch.tensor(_Y_PRED)
    expected = overview.confusion_matrix(y_true, y_pred, 3)
    paths = ["helpers.overview.confusion_matrix"] + (["sklearn.metrics.confusion_matrix"] if len(builtins) > 1 else [])
    got, failed = call_without(paths, lambda: fn(y_true.clone(), y_pred.clone(), 3), _COUNT_IT_YOURSELF,
                               "提示：先建一个 (C, C) 的全零张量，再对每个样本把 [真实类别, 预测类别] 那一格加 1。")
    if failed is not None:
        return failed
    if isinstance(got, (str, bytes)):
        return Feedback(False, "返回的是字符串，需要一个 (C, C) 的张量或数组。")
    if close_to(got, expected.T, atol=0, rtol=0) and not close_to(got, expected, atol=0, rtol=0):
        return Feedback(False, "行和列反了：约定是第 i 行 = 真实类别 i，第 j 列 = 预测类别 j。")
    return run_check(
        lambda: close_to(got, expected, atol=0, rtol=0) and close_to(fn(y_true[:5], y_pred[:5], 4),
                                                                      overview.confusion_matrix(y_true[:5], y_pred[:5], 4),
                                                                      atol=0, rtol=0),
        "每一行加起来是这一类的样本数，对角线是判对的个数；num_classes 决定形状，即使某一类没有出现。",
        "C[i, j] 数的是“真实类别为 i、被预测成 j”的样本个数；形状固定为 (num_classes, num_classes)。",
    )


_CM = [[40, 3, 2], [5, 30, 0], [1, 9, 20]]


def check_per_class_recall(fn: Any) -> Feedback:
    """Exercise: ``fn(cm)`` returns each class's recall ``cm[i, i] / cm[i].sum()`` (rows = true class)."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 per_class_recall(cm)，它返回每一类的召回率。")
    cm = torch.tensor(_CM, dtype=torch.float64)
    expected = cm.diagonal() / cm.sum(dim=1)
    try:
        got = fn(cm.clone())
    except Exception as exc:
        return Feedback(False, f"运行时出错（{type(exc).__name__}: {exc}）。提示：对角线除以每一行的和。")
    if isinstance(got, (str, bytes)):
        return Feedback(False, "返回的是字符串，需要一个长度为 C 的张量。")
    if close_to(got, cm.diagonal() / cm.sum(dim=0)):
        return Feedback(False, "这是每一类的精确率（precision，按列归一化）。召回率按行：真实为 i 的样本里有多少被判对。")
    if close_to(got, cm.diagonal().sum() / cm.sum()):
        return Feedback(False, "这是总体准确率（一个数）。题目要的是每一类一个召回率。")
    return run_check(
        lambda: close_to(got, expected),
        "召回率 = 对角线 / 行和：第 2 类只有 20/30 ≈ 0.67 被认出来，它最常被错认成第 1 类。",
        "第 i 类的召回率 = cm[i, i] / cm[i, :].sum()：真实属于 i 的样本中，被判成 i 的比例。",
    )
