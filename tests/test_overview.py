"""Chapter 0: the environment self-check, the learning-curve experiment, its figures and panel."""
from __future__ import annotations

import io
import platform
import sys
import types

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import helpers
from helpers import doctor as doctor_module_attr  # noqa: F401  (the function, as exposed by the package)
from helpers import data
from helpers import overview as O
from helpers.panels import overview as OP

doctor_mod = sys.modules["helpers.doctor"]
SMALL = dict(sizes=(20, 60), models=("logistic regression", "k-NN"))


# ----------------------------------------------------------------------------- helpers.doctor()
def _lines(text: str) -> dict[str, str]:
    """``label : value`` lines of the printed report, as a dict."""
    rows = {}
    for line in text.splitlines():
        label, sep, value = line.partition(" : ")
        if sep:
            rows[label.strip()] = value.strip()
    return rows


def test_doctor_is_exposed_as_helpers_doctor():
    assert callable(helpers.doctor) and helpers.doctor is doctor_mod.doctor
    assert "doctor" in helpers.__all__


def test_doctor_prints_the_versions_the_device_and_colab(capsys, monkeypatch):
    import ipywidgets
    import matplotlib
    import sklearn

    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    helpers.doctor(widget=False)
    rows = _lines(capsys.readouterr().out)
    assert rows["Python"] == platform.python_version()
    assert rows["torch"] == torch.__version__
    assert rows["ipywidgets"] == ipywidgets.__version__
    assert rows["matplotlib"] == matplotlib.__version__
    assert rows["scikit-learn"] == sklearn.__version__
    assert rows["device"] == str(helpers.get_device())
    assert rows["Colab"] == "False"


def test_doctor_reports_colab_when_google_colab_is_loaded(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    helpers.doctor(widget=False)
    assert _lines(capsys.readouterr().out)["Colab"] == "True"
    assert doctor_mod.in_colab()


def test_doctor_outside_a_kernel_says_widgets_were_not_checked(capsys):
    helpers.doctor()
    out = capsys.readouterr().out
    assert "widgets : not checked" in out and "Jupyter" in out


def test_doctor_in_a_kernel_shows_a_slider_whose_message_says_widgets_work(capsys, monkeypatch):
    import IPython.display
    import ipywidgets as widgets

    shown, made = [], []
    make = doctor_mod._widget_check
    monkeypatch.setattr(doctor_mod, "_in_kernel", lambda: True)
    monkeypatch.setattr(doctor_mod, "_widget_check", lambda: made.append(make()) or made[-1])
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: shown.append(obj))
    helpers.doctor()
    out = capsys.readouterr().out
    assert "widgets work" in out and "VS Code" in out and "Colab" in out and "Trust" in out
    (bundle,), (box,) = shown, made
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == box.model_id
    assert "slider" in bundle["text/plain"]
    slider, message = box.children
    assert isinstance(slider, widgets.IntSlider) and "widgets work" not in message.value
    slider.value = 3
    assert message.value.startswith("✅ widgets work") and "3" in message.value


def test_package_version_reports_missing_and_broken_packages(monkeypatch):
    monkeypatch.setitem(doctor_mod.PACKAGES, "nothing", ("no_such_module_xyz", "no-such-distribution-xyz"))
    assert doctor_mod.package_version("nothing") == "not installed"
    with pytest.raises(ValueError, match="label"):
        doctor_mod.package_version("numpy")


def test_doctor_and_report_reject_bad_arguments():
    with pytest.raises(TypeError, match="widget"):
        helpers.doctor(widget="yes")
    with pytest.raises(ValueError, match="report"):
        doctor_mod.report_text({})
    assert doctor_mod.report_text({"a": "1", "long label": "2"}) == "a          : 1\nlong label : 2"


# ----------------------------------------------------------------------------- models and counting
def test_networks_have_the_parameter_counts_of_their_layers():
    x = torch.rand(5, 1, 8, 8)
    assert O.mlp()(x).shape == (5, 10) and O.small_cnn()(x).shape == (5, 10)
    assert O.count_parameters(O.mlp(hidden=32)) == (64 * 32 + 32) + (32 * 10 + 10)
    assert O.count_parameters(O.small_cnn(channels=8)) == (8 * 1 * 3 * 3 + 8) + (8 * 4 * 4 * 10 + 10)
    for model in (nn.Linear(3, 2), nn.Conv2d(3, 8, 3), nn.RNN(3, 5), O.mlp()):
        assert O.count_parameters(model) == sum(p.numel() for p in model.parameters())
    assert [O.count_parameters(m) for m in (nn.Linear(3, 2), nn.Conv2d(3, 8, 3), nn.RNN(3, 5))] == [8, 224, 50]


def test_model_builders_and_counting_reject_bad_arguments():
    with pytest.raises(ValueError, match="hidden"):
        O.mlp(hidden=0)
    with pytest.raises(TypeError, match="channels"):
        O.small_cnn(channels=True)
    with pytest.raises(ValueError, match="channels"):
        O.small_cnn(channels=0)
    with pytest.raises(TypeError, match="model"):
        O.count_parameters([torch.zeros(3)])


def test_balanced_order_takes_the_classes_in_turn():
    labels = torch.tensor([2, 0, 0, 1, 2, 0, 1, 1, 0, 2, 2, 0])
    order = O.balanced_order(labels)
    assert sorted(order.tolist()) == list(range(len(labels)))
    picked = labels[order]
    assert picked[:3].tolist() == [0, 1, 2] and picked[3:6].tolist() == [0, 1, 2]
    first_zero = [i for i in order.tolist() if labels[i] == 0]
    assert first_zero == [1, 2, 5, 8, 11]  # inside a class the original order is kept
    (_, y), _ = O._digits()
    counts = torch.bincount(y[O.balanced_order(y)[:50]], minlength=10)
    assert counts.tolist() == [5] * 10
    with pytest.raises(TypeError, match="labels"):
        O.balanced_order(torch.tensor([0.0, 1.0]))


def test_confusion_matrix_matches_scikit_learn():
    from sklearn.metrics import confusion_matrix as sk_confusion

    g = torch.Generator().manual_seed(0)
    y_true, y_pred = torch.randint(0, 6, (200,), generator=g), torch.randint(0, 6, (200,), generator=g)
    ours = O.confusion_matrix(y_true, y_pred, 7)
    assert ours.shape == (7, 7) and ours[6].sum() == 0 and ours[:, 6].sum() == 0
    assert np.array_equal(ours.numpy(), sk_confusion(y_true.numpy(), y_pred.numpy(), labels=list(range(7))))
    assert torch.equal(ours.sum(dim=1), torch.bincount(y_true, minlength=7))


def test_confusion_matrix_rejects_bad_input():
    with pytest.raises(ValueError, match="same length"):
        O.confusion_matrix(torch.tensor([0, 1]), torch.tensor([0]), 2)
    with pytest.raises(ValueError, match="y_pred"):
        O.confusion_matrix(torch.tensor([0, 1]), torch.tensor([0, 3]), 3)
    with pytest.raises(ValueError, match="num_classes"):
        O.confusion_matrix(torch.tensor([0]), torch.tensor([0]), 0)


# ----------------------------------------------------------------------------- the experiment
def test_run_model_scores_a_classical_model_like_scikit_learn_does():
    from sklearn.linear_model import LogisticRegression

    (x_train, y_train), (x_val, y_val) = O._digits()
    run = O.run_model("logistic regression", 60)
    subset = O.balanced_order(y_train)[:60]
    ref = LogisticRegression(max_iter=1000).fit(x_train[subset].reshape(60, -1).numpy(), y_train[subset].numpy())
    predicted = torch.as_tensor(ref.predict(x_val.reshape(len(x_val), -1).numpy()))
    assert run.val_acc == pytest.approx(float((predicted == y_val).float().mean()))
    assert torch.equal(run.confusion, O.confusion_matrix(y_val, predicted))
    assert run.confusion.sum() == len(y_val) and run.n_train == 60 and run.seconds >= 0


def test_run_model_trains_a_network_with_the_steps_asked_for():
    run = O.run_model("MLP", 40)
    (_, _), (_, y_val) = O._digits()
    assert run.val_acc == pytest.approx(run.confusion.trace().item() / len(y_val))
    assert isinstance(run.model, nn.Module) and run.train_acc > 0.5 and run.val_acc > 0.3
    again = O.run_model("MLP", 40)  # seeded: the same run twice
    assert again.val_acc == run.val_acc and torch.equal(again.confusion, run.confusion)


def test_fit_model_and_run_model_reject_bad_arguments():
    x, y = torch.rand(20, 1, 8, 8), torch.randint(0, 10, (20,))
    with pytest.raises(ValueError, match="model_name"):
        O.fit_model("SVM", x, y)
    with pytest.raises(ValueError, match="x must"):
        O.fit_model("MLP", torch.rand(20, 64), y)
    with pytest.raises(ValueError, match="y must"):
        O.fit_model("MLP", x, y[:5])
    with pytest.raises(ValueError, match="steps"):
        O.fit_model("CNN", x, y, steps=0)
    with pytest.raises(ValueError, match="n_train"):
        O.run_model("k-NN", 5)


def test_learning_curves_cover_the_grid_and_are_cached():
    curves = O.learning_curves(**SMALL)
    assert curves is O.learning_curves(**SMALL)
    assert curves.sizes == (20, 60) and set(curves.runs) == {(m, n) for m in SMALL["models"] for n in (20, 60)}
    assert curves.accuracy("k-NN") == [curves.run("k-NN", 20).val_acc, curves.run("k-NN", 60).val_acc]
    assert len(curves.seconds("logistic regression")) == 2
    with pytest.raises(ValueError, match="no run"):
        curves.run("CNN", 20)


def test_learning_curves_reject_bad_arguments():
    with pytest.raises(ValueError, match="sizes"):
        O.learning_curves(sizes=(60, 20))
    with pytest.raises(TypeError, match="sizes"):
        O.learning_curves(sizes=("a",))
    with pytest.raises(ValueError, match="model_name"):
        O.learning_curves(sizes=(20,), models=("SVM",))
    with pytest.raises(ValueError, match="models"):
        O.learning_curves(sizes=(20,), models=())


# ----------------------------------------------------------------------------- figures and the panel
def _png_pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def test_figures_draw_the_grid():
    curves = O.learning_curves(**SMALL)
    fig = OP.learning_curve_figure(curves)
    assert len(fig.axes) == 3
    assert [len(ax.lines) for ax in fig.axes] == [2, 2, 2]
    fig = OP.logistic_weights_figure(curves.run("logistic regression", 60).model)
    assert len(fig.axes) == 10
    with pytest.raises(TypeError, match="curves"):
        OP.learning_curve_figure({"k-NN": [0.9]})
    with pytest.raises(TypeError, match="estimator"):
        OP.logistic_weights_figure(curves.run("k-NN", 60).model)


def test_panel_shows_the_chosen_run():
    curves = O.learning_curves(**SMALL)
    panel = OP.learning_curve_panel(curves, model="k-NN", n_train=20)
    first = panel.render()
    run = curves.run("k-NN", 20)
    assert f"{run.val_acc:.3f}" in panel.readout_text and "k-NN" in panel.readout_text
    moved = panel.render(n_train=60)
    assert f"{curves.run('k-NN', 60).val_acc:.3f}" in panel.readout_text
    assert np.mean(np.abs(_png_pixels(first) - _png_pixels(moved)).sum(-1) > 30) > 0.001
    assert panel.last_error is None


def test_panel_rejects_bad_arguments():
    curves = O.learning_curves(**SMALL)
    with pytest.raises(ValueError, match="model"):
        OP.learning_curve_panel(curves, model="CNN")
    with pytest.raises(ValueError, match="n_train"):
        OP.learning_curve_panel(curves, model="k-NN", n_train=50)
    with pytest.raises(TypeError, match="curves"):
        OP.learning_curve_panel([1, 2])


def test_most_confused_names_the_largest_mistake():
    cm = np.array([[5, 0, 1], [3, 4, 0], [0, 0, 6]])
    assert OP._most_confused(cm) == "most frequent mistake: true 1 predicted as 0 (3 of 7)"
    assert OP._most_confused(np.eye(3, dtype=int)) == "no mistakes"


@pytest.mark.parametrize("n", [50, 200, 800, 1347])
def test_network_steps_counts_the_optimizer_steps_fit_model_takes(n):
    """network_steps(n) is what fit_model really does: counted with a global optimizer step hook."""
    from torch.optim.optimizer import register_optimizer_step_post_hook

    (x, y), _ = data.digits()
    taken = []
    handle = register_optimizer_step_post_hook(lambda opt, args, kwargs: taken.append(1))
    try:
        O.fit_model("MLP", x[:n], y[:n])
    finally:
        handle.remove()
    assert len(taken) == O.network_steps(n)
    assert 100 <= O.network_steps(n) <= 110


def test_non_default_settings_compares_with_a_fresh_estimator():
    from sklearn.linear_model import LogisticRegression

    assert O.non_default_settings("logistic regression") == {"max_iter": (1000, LogisticRegression().max_iter)}
    assert O.non_default_settings("k-NN") == {}
    assert set(O.non_default_settings("random forest")) == {"n_estimators", "random_state"}
    with pytest.raises(ValueError, match="classical"):
        O.non_default_settings("CNN")
    with pytest.raises(ValueError, match="model_name"):
        O.non_default_settings("SVM")


def test_learning_curve_outputs_carry_no_timings():
    """Fit times change from run to run: the figure and the panel readout must not show them."""
    curves = O.learning_curves(**SMALL)
    panel = OP.learning_curve_panel(curves, model="k-NN")
    assert " s<br>" not in panel.readout_text and "fit" not in panel.readout_text
    texts = [t.get_text() for ax in OP.learning_curve_figure(curves).axes for t in (ax.title, ax.yaxis.label)]
    assert not any("time" in t for t in texts), texts
    assert curves.train_accuracy("k-NN") == [curves.run("k-NN", n).train_acc for n in curves.sizes]
