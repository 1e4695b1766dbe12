"""The plotting style and helpers, and the interactive-figure pattern."""

import base64
import math
import re

import matplotlib as mpl
import matplotlib.pyplot as plt
import pytest
import torch

from utils import plot
from utils.train import History
from utils.widgets import MAX_FRAMES, Explorer


def test_book_style_is_applied():
    mpl.rcdefaults()
    plot.use_book_style()
    assert mpl.rcParams["axes.grid"] is True
    assert mpl.rcParams["axes.prop_cycle"].by_key()["color"][0] == plot.COLORS[0]


def test_new_figure_grid():
    fig, axes = plot.new_figure(ncols=3, nrows=2)
    assert axes.shape == (2, 3)
    fig2, axes = plot.new_figure()
    assert axes.shape == (1, 1) and fig2.get_figwidth() < fig.get_figwidth()
    plt.close("all")


def test_plot_history_with_and_without_accuracy():
    h = History(epoch=[1, 2], train_loss=[1.0, 0.5], train_acc=[0.5, 0.7], eval_loss=[1.1, 0.6], eval_acc=[0.4, 0.6])
    axes = plot.plot_history(h)
    assert len(axes) == 2 and axes[1].get_title() == "Accuracy"
    h.train_acc = h.eval_acc = [math.nan, math.nan]
    axes = plot.plot_history(h)
    assert len(axes) == 1
    plt.close("all")


@pytest.mark.parametrize("shape", [(6, 1, 8, 8), (6, 3, 8, 8), (6, 8, 8)])
def test_show_images_accepts_grey_and_colour(shape):
    fig = plot.show_images(torch.rand(shape), labels=list("abcdef"), ncols=4)
    assert len(fig.axes) == 8 and fig.axes[0].get_title() == "a"
    plt.close(fig)


def test_plot_confusion_rows_are_normalised():
    ax = plot.plot_confusion(torch.tensor([[8, 2], [0, 10]]), ["x", "y"])
    assert ax.images[0].get_array()[0, 0] == pytest.approx(0.8)
    plt.close("all")


def draw_line(fig, slope, style):
    ax = fig.subplots()
    ax.plot([0, 1], [0, slope], style)
    draw_line.calls.append((slope, style))


def test_explorer_draws_every_combination_once():
    draw_line.calls = []
    explorer = Explorer(draw_line, slope=[0.5, 1.0, 2.0], style=["-", "--"], width=3, height=2)
    frames = explorer.frames()
    assert sorted(frames) == [f"{i}-{j}" for i in range(3) for j in range(2)]
    assert sorted(draw_line.calls) == sorted((s, st) for s in [0.5, 1.0, 2.0] for st in ["-", "--"])
    png = base64.b64decode(frames["0-0"])
    assert png.startswith(b"\x89PNG")


def test_static_form_is_self_contained_html():
    draw_line.calls = []
    explorer = Explorer(draw_line, slope=[0.5, 1.0, 2.0], style=["-", "--"], start={"slope": 2.0})
    html = explorer.static_html()
    assert '<input type="range"' in html and "<select" in html          # numbers and text
    assert 'value="2"' in html                                           # the start value
    assert "http" not in html                                            # no external resources
    assert len(re.findall(r'"\d-\d": \d', html)) == 6                  # every combination
    assert html.count("iVBORw0KGgo") == 6                                # six different PNGs


def draw_ignoring_style(fig, slope, style):
    fig.subplots().plot([0, 1], [0, slope])


def test_static_form_stores_identical_pictures_once_and_can_play():
    explorer = Explorer(draw_ignoring_style, slope=[0.5, 1.0, 2.0], style=["-", "--"],
                        play="slope", width=3, height=2)
    html = explorer.static_html()
    assert html.count("iVBORw0KGgo") == 3 and len(re.findall(r'"\d-\d": \d', html)) == 6
    assert 'data-play="0"' in html
    row = explorer.widget().children[0].children
    assert [type(c).__name__ for c in row] == ["Play", "SelectionSlider", "Dropdown"]
    draw_line.calls = []
    keyed = Explorer(draw_line, slope=[0.5, 1.0, 2.0], style=["-", "--"], width=3, height=2,
                     key=lambda slope, style: slope)                    # style ignored
    assert len(keyed.frames()) == 6 and len(draw_line.calls) == 3
    with pytest.raises(ValueError, match="must name one of the parameters"):
        Explorer(draw_line, slope=[1.0], play="tilt")


def test_mime_bundle_offers_live_widget_and_static_html():
    draw_line.calls = []
    bundle = Explorer(draw_line, slope=[1.0, 2.0], style=["-"])._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html", "application/vnd.jupyter.widget-view+json"}
    assert bundle["application/vnd.jupyter.widget-view+json"]["version_major"] == 2


def test_live_widget_redraws_when_a_control_moves():
    draw_line.calls = []
    ui = Explorer(draw_line, slope=[1.0, 2.0], style=["-", "--"]).widget()
    controls, image = ui.children
    slope, style = controls.children
    assert type(slope).__name__ == "SelectionSlider" and type(style).__name__ == "Dropdown"
    before = image.value
    slope.value = 1.0 if slope.value == 2.0 else 2.0
    assert image.value != before and len(draw_line.calls) == 2
    assert ui.layout.align_items == "flex-start", "a stretched column distorts the picture"


def test_palette_size_is_a_choice():
    from io import BytesIO

    from PIL import Image

    png = Explorer(draw_line, slope=[1.0], style=["-"], colors=8).render(slope=1.0, style="-")
    assert len(Image.open(BytesIO(png)).getcolors()) <= 8


@pytest.mark.parametrize("kwargs, message", [
    ({}, "at least one parameter"),
    ({"slope": []}, "non-empty list"),
    ({"slope": "abc"}, "non-empty list"),
    ({"slope": list(range(MAX_FRAMES + 1))}, "too many"),
    ({"slope": [1.0], "start": {"tilt": 1}}, "unknown parameters"),
])
def test_explorer_rejects_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Explorer(draw_line, **kwargs)


# ---------------------------------------------------------------- the decision-boundary playground
def test_playground_data_sets_and_networks():
    from utils.playground import DATASETS, make_dataset, make_mlp

    for name in DATASETS:
        X, y = make_dataset(name, n=100)
        assert X.shape == (100, 2) and set(y.tolist()) == {0, 1} and X.abs().max() < 1.6
        assert torch.equal(X, make_dataset(name, n=100)[0])                # seeded
    with pytest.raises(ValueError, match="choose one of"):
        make_dataset("moons")
    net = make_mlp(width=8, depth=3, activation="tanh")
    assert sum(isinstance(m, torch.nn.Linear) for m in net) == 4 and net(torch.zeros(5, 2)).shape == (5, 1)
    with pytest.raises(ValueError, match="unknown activation"):
        make_mlp(activation="swish")


def test_playground_learns_xor_only_with_a_nonlinearity():
    from utils.playground import fit, make_dataset, make_mlp

    X, y = make_dataset("xor", n=200)
    results = {}
    for activation in ("none (linear)", "relu"):
        torch.manual_seed(0)
        snapshots = fit(make_mlp(16, 2, activation), X, y, steps=200, every=50)
        assert [s["step"] for s in snapshots] == [0, 50, 100, 150, 200]
        assert snapshots[-1]["probs"].shape == (64, 64)
        results[activation] = snapshots[-1]["accuracy"]
    assert results["relu"] > 0.95 and results["none (linear)"] < 0.75


def test_playground_shows_live_widget_and_animated_static_form():
    from utils.playground import Playground

    playground = Playground(steps=20, every=10, static=("relu",), n=60)
    bundle = playground._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html", "application/vnd.jupyter.widget-view+json"}
    html = bundle["text/html"]
    assert "dlbook-explorer" in html and "data-play" in html and "http" not in html
    assert len(re.findall(r'"\d-0-\d": \d', html)) == 4 * 3           # 4 data sets x 3 frames
    from io import BytesIO

    from PIL import Image

    picture = Image.open(BytesIO(base64.b64decode(re.search(r"iVBORw0KGgo[^\"]+", html)[0])))
    assert picture.size[0] >= 360, "the book's picture must be as legible as the live one"
    assert playground._ui.layout.align_items == "flex-start", "keep the live picture's aspect"
    controls, image = playground._ui.children[1].children, playground._ui.children[2]
    untrained = image.value
    controls[0].value = 3                                  # a new width: a new untrained network
    assert image.value != untrained
    untrained = image.value
    controls[2].click()                                    # train: the picture changes again
    assert image.value != untrained
