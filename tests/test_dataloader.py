"""helpers.dataloader: index batches against DataLoader/BatchSampler, the loader's extra draw, padding, epoch averages."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler, TensorDataset

from helpers import dataloader as D

SIZES = [1, 2, 5, 7, 32, 33, 100]
BATCH_SIZES = [1, 3, 8, 32, 150]


def _loader_batches(loader) -> list[list[int]]:
    return [batch.tolist() for batch in loader]


# ----------------------------------------------------------------------------- batch_indices
@pytest.mark.parametrize("drop_last", [False, True])
def test_sequential_batches_equal_the_dataloader(drop_last):
    for n, bs in itertools.product([0] + SIZES, BATCH_SIZES):
        ours = D.batch_indices(n, bs, drop_last=drop_last)
        assert ours == _loader_batches(DataLoader(range(n), batch_size=bs, drop_last=drop_last)), (n, bs)
        assert ours == list(BatchSampler(SequentialSampler(range(n)), bs, drop_last)), (n, bs)


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 42])
def test_shuffled_batches_equal_batch_sampler_over_two_epochs(seed, drop_last):
    """One generator reused for two epochs gives the same two orders as RandomSampler with that generator."""
    for n, bs in itertools.product(SIZES, BATCH_SIZES):
        g_ours, g_torch = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
        sampler = BatchSampler(RandomSampler(range(n), generator=g_torch), bs, drop_last)
        for epoch in range(2):
            ours = D.batch_indices(n, bs, shuffle=True, drop_last=drop_last, generator=g_ours)
            assert ours == list(sampler), (n, bs, epoch)


def test_shuffled_batches_without_generator_follow_the_global_seed():
    for n, bs in [(10, 3), (100, 32)]:
        torch.manual_seed(5)
        ours = D.batch_indices(n, bs, shuffle=True)
        torch.manual_seed(5)
        assert ours == list(BatchSampler(RandomSampler(range(n)), bs, False))


def test_empty_dataset():
    """n = 0: no batches; RandomSampler itself refuses an empty dataset."""
    assert D.batch_indices(0, 4, shuffle=True, generator=torch.Generator().manual_seed(0)) == []
    assert D.num_batches(0, 4) == len(DataLoader(range(0), batch_size=4)) == 0
    with pytest.raises(ValueError):
        RandomSampler(range(0))


@pytest.mark.parametrize("n, bs", [(100, 32), (33, 8), (5, 7)])
def test_every_index_once_per_epoch(n, bs):
    """One epoch visits each index exactly once; drop_last leaves out only the short tail."""
    g = torch.Generator().manual_seed(3)
    batches = D.batch_indices(n, bs, shuffle=True, generator=g)
    assert sorted(i for batch in batches for i in batch) == list(range(n))
    assert [len(b) for b in batches[:-1]] == [bs] * (len(batches) - 1)
    kept = [i for batch in D.batch_indices(n, bs, shuffle=True, drop_last=True, generator=g) for i in batch]
    assert len(kept) == len(set(kept)) == n - n % bs
    assert D.batch_indices(n, bs) == [list(range(s, min(s + bs, n))) for s in range(0, n, bs)]   # no shuffle: 0, 1, 2 ...


# ----------------------------------------------------------------------------- the loader's own draw
@pytest.mark.parametrize("drop_last", [False, True])
def test_loader_order_equals_a_shuffling_dataloader(drop_last):
    for n, bs, seed in itertools.product(SIZES, [1, 4, 32], [0, 7, 123]):
        loader = DataLoader(range(n), batch_size=bs, shuffle=True, drop_last=drop_last,
                            generator=torch.Generator().manual_seed(seed))
        assert D.loader_order(n, bs, seed, drop_last=drop_last) == _loader_batches(loader), (n, bs, seed)


def test_the_loader_draws_once_from_its_generator_before_shuffling():
    """Same seed, different order: the loader takes one int64 from g first. Drawing it ourselves reproduces every epoch."""
    n, bs = 50, 8
    loader = DataLoader(range(n), batch_size=bs, shuffle=True, generator=torch.Generator().manual_seed(0))
    epochs = [_loader_batches(loader) for _ in range(3)]
    assert D.batch_indices(n, bs, shuffle=True, generator=torch.Generator().manual_seed(0)) != epochs[0]
    g = torch.Generator().manual_seed(0)
    for expected in epochs:
        torch.empty((), dtype=torch.int64).random_(generator=g)      # what each iter(loader) draws first
        assert D.batch_indices(n, bs, shuffle=True, generator=g) == expected
    assert epochs[0] != epochs[1]                                    # reshuffled every epoch


# ----------------------------------------------------------------------------- len(loader) and the epoch mean
@pytest.mark.parametrize("drop_last", [False, True])
def test_num_batches_is_len_loader(drop_last):
    for n, bs in itertools.product([0] + SIZES + [1000], BATCH_SIZES):
        loader = DataLoader(range(n), batch_size=bs, drop_last=drop_last)
        assert D.num_batches(n, bs, drop_last) == len(loader) == len(_loader_batches(loader)), (n, bs)


def test_checklist_loader_of_1000_samples():
    """len(loader) counts batches per epoch: 32 for 1000 samples of 32 (last one has 8), 31 with drop_last."""
    sizes = [len(b) for b in D.batch_indices(1000, 32, shuffle=True, generator=torch.Generator().manual_seed(0))]
    assert D.num_batches(1000, 32) == len(sizes) == 32 and sizes[-1] == 8 and sum(sizes) == 1000
    assert D.num_batches(1000, 32, drop_last=True) == 31


def test_epoch_mean_loss_is_the_full_batch_mean():
    """Weighting batch means by batch size gives the loss over the whole data set; a plain mean of batch means does not."""
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(1000, 3, generator=g, dtype=torch.float64), torch.randn(1000, 2, generator=g, dtype=torch.float64)
    model = torch.nn.Linear(3, 2).double()
    losses, sizes = [], []
    with torch.no_grad():
        for xb, yb in DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, generator=g):
            losses.append(F.mse_loss(model(xb), yb).item())
            sizes.append(len(xb))
        full = F.mse_loss(model(x), y).item()
    assert abs(D.epoch_mean_loss(losses, sizes) - full) < 1e-12
    assert abs(sum(losses) / len(losses) - full) > 1e-6
    per_sample = [1.0, 1.0, 1.0, 3.0]                                # batches [1, 1, 1] and [3]
    assert D.epoch_mean_loss([1.0, 3.0], [3, 1]) == sum(per_sample) / len(per_sample)


# ----------------------------------------------------------------------------- pad_collate
def _pairs(g, lengths, feature_shape=(), dtype=torch.float32):
    return [(torch.randn(length, *feature_shape, generator=g).to(dtype), i % 3) for i, length in enumerate(lengths)]


@pytest.mark.parametrize("feature_shape", [(), (4,), (2, 3)])
@pytest.mark.parametrize("padding_value", [0, -1.5])
def test_pad_collate_equals_pad_sequence(feature_shape, padding_value):
    batch = _pairs(torch.Generator().manual_seed(0), [3, 7, 1, 7, 0], feature_shape)
    (padded, lengths), targets = D.pad_collate(batch, padding_value=padding_value)
    sequences = [seq for seq, _ in batch]
    assert torch.equal(padded, pad_sequence(sequences, batch_first=True, padding_value=padding_value))
    assert lengths.dtype == torch.int64 and lengths.tolist() == [3, 7, 1, 7, 0]
    assert torch.equal(targets, torch.tensor([0, 1, 2, 0, 1]))


def test_pad_collate_stacks_tensor_targets_and_keeps_integer_dtype():
    g = torch.Generator().manual_seed(1)
    batch = [(torch.randint(0, 9, (length,), generator=g), torch.randn(2, generator=g)) for length in (4, 2, 5)]
    (padded, _), targets = D.pad_collate(batch)
    assert padded.dtype == torch.int64 and torch.equal(padded, pad_sequence([s for s, _ in batch], batch_first=True))
    assert torch.equal(targets, torch.stack([t for _, t in batch]))


def test_pad_collate_as_a_dataloader_collate_fn():
    """Every batch the loader yields is the padded batch of its items; the lengths let pack_padded_sequence undo the padding."""
    data = _pairs(torch.Generator().manual_seed(2), [5, 1, 4, 8, 2, 6, 3], (3,))
    loader = DataLoader(data, batch_size=3, collate_fn=D.pad_collate)
    for (padded, lengths), targets in loader:
        assert padded.shape[:2] == (len(lengths), int(lengths.max()))
        packed = pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False)
        unpacked, unpacked_lengths = pad_packed_sequence(packed, batch_first=True)
        assert torch.equal(unpacked, padded) and torch.equal(unpacked_lengths, lengths)
    assert len(loader) == D.num_batches(len(data), 3)


@pytest.mark.parametrize("batch, exc, message", [
    ([], ValueError, "empty batch"),
    ("abc", TypeError, "batch must be a list"),
    ([(torch.ones(3),)], TypeError, r"batch\[0\] must be a \(sequence, target\) pair"),
    ([([1.0, 2.0], 0)], TypeError, r"batch\[0\]\[0\] \(the sequence\) must be a torch.Tensor"),
    ([(torch.ones(3), 0), (torch.ones(2, 4), 1)], ValueError, r"batch\[1\]\[0\] must have shape"),
    ([(torch.tensor(1.0), 0)], ValueError, r"batch\[0\]\[0\] must have shape"),
    ([(torch.ones(3), 0), (torch.ones(2, dtype=torch.float64), 1)], TypeError, "must have dtype"),
    ([(torch.ones(3), 0), (torch.ones(2), torch.tensor(1))], TypeError, "targets must be all tensors or all numbers"),
])
def test_pad_collate_rejects_bad_batches(batch, exc, message):
    with pytest.raises(exc, match=message):
        D.pad_collate(batch)


# ----------------------------------------------------------------------------- argument checks
@pytest.mark.parametrize("call, exc, message", [
    (lambda: D.batch_indices(-1, 4), ValueError, "n must be an int >= 0"),
    (lambda: D.batch_indices(10, 0), ValueError, "batch_size must be an int >= 1"),
    (lambda: D.batch_indices(10, 2.5), TypeError, "batch_size must be an int"),
    (lambda: D.batch_indices(10, 2, shuffle="yes"), TypeError, "shuffle must be"),
    (lambda: D.batch_indices(10, 2, drop_last=1), TypeError, "drop_last must be"),
    (lambda: D.batch_indices(10, 2, shuffle=True, generator=0), TypeError, "generator must be"),
    (lambda: D.loader_order(10, 2, seed=-1), ValueError, "seed must be an int >= 0"),
    (lambda: D.num_batches(-3, 2), ValueError, "n must be an int >= 0"),
    (lambda: D.num_batches(10, 0), ValueError, "batch_size must be an int >= 1"),
    (lambda: D.pad_collate([(torch.ones(2), 0)], padding_value="x"), TypeError, "padding_value"),
    (lambda: D.epoch_mean_loss([1.0, 2.0], [3]), ValueError, "same length"),
    (lambda: D.epoch_mean_loss([], []), ValueError, "at least one"),
    (lambda: D.epoch_mean_loss([1.0], [0]), ValueError, r"batch_sizes\[0\] must be an int >= 1"),
])
def test_bad_arguments(call, exc, message):
    with pytest.raises(exc, match=message):
        call()


# ----------------------------------------------------------------------------- several epochs of one loader
@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("drop_last", [False, True])
def test_loader_epochs_equal_iterating_one_loader_several_times(shuffle, drop_last):
    for n, bs, seed in [(10, 3, 0), (33, 8, 5), (5, 7, 1)]:
        loader = DataLoader(range(n), batch_size=bs, shuffle=shuffle, drop_last=drop_last,
                            generator=torch.Generator().manual_seed(seed))
        expected = [_loader_batches(loader) for _ in range(3)]
        assert D.loader_epochs(n, bs, seed, 3, shuffle=shuffle, drop_last=drop_last) == expected, (n, bs, seed)


def test_loader_epochs_rejects_bad_arguments():
    with pytest.raises(ValueError, match="epochs must be an int >= 0"):
        D.loader_epochs(10, 2, 0, -1)
    with pytest.raises(TypeError, match="shuffle must be True or False"):
        D.loader_epochs(10, 2, 0, 1, shuffle=1)


# ----------------------------------------------------------------------------- class-balancing weights
def test_balanced_weights_give_every_class_the_same_total_weight():
    labels = torch.tensor([0] * 90 + [1] * 8 + [2] * 2)
    w = D.balanced_sample_weights(labels)
    assert torch.allclose(w[:90], torch.full((90,), 1 / 90, dtype=torch.float64))
    totals = torch.zeros(3, dtype=torch.float64).index_add_(0, labels, w)
    assert torch.allclose(totals, torch.ones(3, dtype=torch.float64))


def test_weighted_random_sampler_with_balanced_weights_draws_classes_equally():
    from torch.utils.data import WeightedRandomSampler

    labels = torch.tensor([0] * 950 + [1] * 50)
    sampler = WeightedRandomSampler(D.balanced_sample_weights(labels), num_samples=20_000, replacement=True,
                                    generator=torch.Generator().manual_seed(0))
    share = labels[list(sampler)].float().mean().item()
    assert abs(share - 0.5) < 0.02                                  # 5% of the data, half of the draws


@pytest.mark.parametrize("labels, exc", [([0, 1], TypeError), (torch.tensor([0.0, 1.0]), ValueError),
                                         (torch.tensor([[0, 1]]), ValueError), (torch.tensor([-1, 0]), ValueError),
                                         (torch.tensor([], dtype=torch.int64), ValueError)])
def test_balanced_weights_reject_bad_labels(labels, exc):
    with pytest.raises(exc, match="labels must"):
        D.balanced_sample_weights(labels)


# ----------------------------------------------------------------------------- mini-batch SGD on a line
@pytest.mark.parametrize("bs, drop_last", [(1, False), (7, False), (7, True), (40, False)])
def test_linear_sgd_path_equals_nn_linear_with_sgd_and_a_dataloader(bs, drop_last):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(40, generator=g, dtype=torch.float64)
    y = 2 * x - 1 + 0.3 * torch.randn(40, generator=g, dtype=torch.float64)
    model = nn.Linear(1, 1, dtype=torch.float64)
    with torch.no_grad():
        model.weight.fill_(-1.5)
        model.bias.fill_(2.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    loader = DataLoader(TensorDataset(x[:, None], y[:, None]), batch_size=bs, shuffle=True, drop_last=drop_last,
                        generator=torch.Generator().manual_seed(11))
    expected = [(-1.5, 2.0)]
    for _ in range(2):
        for xb, yb in loader:
            loss = F.mse_loss(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            expected.append((model.weight.item(), model.bias.item()))
    batches = sum(D.loader_epochs(40, bs, 11, 2, drop_last=drop_last), [])
    ours = D.linear_sgd_path(x, y, batches, 0.05, w0=-1.5, b0=2.0)
    assert ours.shape == (len(expected), 2)
    assert torch.allclose(ours, torch.tensor(expected, dtype=torch.float64), atol=1e-10)


def test_linear_sgd_path_rejects_bad_input():
    x = torch.zeros(4)
    with pytest.raises(ValueError, match="lr must be"):
        D.linear_sgd_path(x, x, [[0, 1]], 0.0)
    with pytest.raises(ValueError, match="batch indices"):
        D.linear_sgd_path(x, x, [[0, 4]], 0.1)
    with pytest.raises(ValueError, match="empty batch"):
        D.linear_sgd_path(x, x, [[]], 0.1)
    with pytest.raises(TypeError, match="x must be"):
        D.linear_sgd_path([0.0], x, [[0]], 0.1)


# ----------------------------------------------------------------------------- the batch map panel's data
def test_batch_map_marks_each_sample_with_its_loader_batch():
    n, bs, seed = 11, 4, 3
    grid = D.batch_map(n, bs, True, True, seed, epochs=2)
    loader = DataLoader(range(n), batch_size=bs, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(seed))
    for epoch in range(2):
        for k, batch in enumerate(loader):
            assert (grid[epoch, batch.numpy()] == k).all()
        assert (grid[epoch] == -1).sum() == n % bs                # the dropped tail


# ----------------------------------------------------------------------------- the batch map panel
def _numbers(panel) -> np.ndarray:
    """The batch numbers' layer (RGBA bytes, top row first), which covers the map's axes pixel for pixel."""
    [layer] = [a for a in panel.fig.get_children() if a.get_gid() == "batch numbers"]
    ax = panel.fig.axes[0]
    from helpers.panels.pieces import axes_pixels
    assert (layer.ox, layer.oy, layer.data.shape[1], layer.data.shape[0]) == axes_pixels(panel.fig, ax)
    return layer.data


def test_batch_map_panel_writes_each_batch_number_and_fits_the_axes_to_n():
    """Colours repeat after 10 batches, so every kept cell carries its number; dropped cells stay blank; x fits N."""
    from helpers.panels import dataloader as DP

    panel = DP.batch_map_panel()
    for n, bs, drop_last in ((22, 6, False), (40, 1, False), (7, 3, True)):
        panel.render(n=n, batch_size=bs, drop_last=drop_last, shuffle=True, seed=2)
        assert panel.last_error is None
        ax = panel.fig.axes[0]
        assert ax.get_xlim() == (-0.5, n - 0.5) and panel.fig.axes[1].get_ylim()[1] >= 1.1 * n  # room for len = N
        layer = _numbers(panel)
        grid = D.batch_map(n, bs, True, drop_last, 2)
        epochs = grid.shape[0]
        h, w = layer.shape[:2]
        for e in range(epochs):
            for i in range(n):
                cell = layer[int(e * h / epochs):int((e + 1) * h / epochs), int(i * w / n):int((i + 1) * w / n), 3]
                assert (cell.max() > 127) == (grid[e, i] >= 0), (n, bs, e, i)
    assert DP._number_glyph(12, 80.0, True).shape[1] > DP._number_glyph(1, 80.0, True).shape[1]


def test_batch_map_panel_writes_single_digits_upright_even_in_narrow_cells():
    """N = 40 with two batches: the numbers 0 and 1 fit across a cell, so they are not turned on their side."""
    from helpers.panels import dataloader as DP

    panel = DP.batch_map_panel()
    panel.render(n=40, batch_size=16, drop_last=True, shuffle=False, seed=0)
    layer = _numbers(panel)
    h, w = layer.shape[:2]
    cell = np.asarray(layer[: h // 4, 17 * w // 40:18 * w // 40, 3])     # epoch 1, sample 17: batch 1
    rows, cols = np.flatnonzero(cell.max(1) > 127), np.flatnonzero(cell.max(0) > 127)
    assert rows[-1] - rows[0] > cols[-1] - cols[0]                         # an upright "1" is taller than wide
