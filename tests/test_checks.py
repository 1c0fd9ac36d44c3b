"""The shared argument checks: right values come back (converted), wrong types raise TypeError, bad values ValueError."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from helpers import checks as C


def test_integer_bounds_and_types():
    assert C.integer(np.int64(4), "k", 1, 4) == 4 and type(C.integer(np.int64(4), "k")) is int
    assert C.integer(-3, "k", None) == -3 and C.integer(-3, "k", None, 0) == -3
    for bad, message in ((0, r"k must be an int in \[1, 4\], got 0"), (5, r"in \[1, 4\], got 5")):
        with pytest.raises(ValueError, match=message):
            C.integer(bad, "k", 1, 4)
    with pytest.raises(ValueError, match="k must be an int >= 2, got 1"):
        C.integer(1, "k", 2)
    with pytest.raises(ValueError, match="k must be an int <= 0, got 1"):
        C.integer(1, "k", None, 0)
    for bad in (True, 2.0, "2", None):
        with pytest.raises(TypeError, match="k must be an int"):
            C.integer(bad, "k", 1, 4)


def test_instance_names_the_type_as_a_learner_writes_it():
    g = torch.Generator()
    assert C.instance(g, torch.Generator, "generator") is g
    assert C.instance(None, torch.Generator, "generator", optional=True) is None
    cases = [((3, torch.Generator, True), "generator must be a torch.Generator or None, got int"),
             ((None, torch.Generator, False), "generator must be a torch.Generator, got NoneType"),
             (([1], nn.Module, False), "generator must be a nn.Module, got list"),
             (("sgd", torch.optim.Optimizer, False), "generator must be a torch.optim.Optimizer, got str"),
             ((1.0, (int, str), False), "generator must be a int or str, got float")]
    for (value, kind, optional), message in cases:
        with pytest.raises(TypeError) as err:
            C.instance(value, kind, "generator", optional=optional)
        assert str(err.value) == message


def test_one_of_lists_the_options():
    assert C.one_of("relu", {"relu": 1, "tanh": 2}, "activation") == "relu"
    with pytest.raises(ValueError, match=r"activation must be one of \['relu', 'tanh'\], got 'gelu'"):
        C.one_of("gelu", {"relu": 1, "tanh": 2}, "activation")
