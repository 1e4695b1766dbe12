"""One pattern for every interactive figure in the book.

A chapter writes a *pure drawing function* ``draw(fig, **params)`` that fills a matplotlib
figure for one choice of parameters, and lists the values each parameter may take:

    Explorer(draw_paths, lr=[0.01, 0.1, 0.5], steps=[10, 30])

Displaying the explorer (as the last expression of a cell) gives two forms in one output:

- in Jupyter and Colab, a live ipywidgets UI: sliders (numbers) or drop-downs (text) that
  redraw the figure through the kernel;
- in the rendered book, where there is no kernel, a self-contained HTML form: every
  combination of values is drawn once when the notebook executes, and plain sliders in the page
  switch between the pictures. It still moves, without Python.

``play="name"`` adds a play button to that (numeric) parameter's slider in both forms, which
turns a parameter such as the training step into an animation. ``key=`` maps a choice of values
to what the picture really depends on, so that choices with the same key are drawn only once
(a parameter that some settings ignore, say). ``colors`` is the palette size of the static
pictures: fewer colours, lighter pages.

The front end picks the form: Jupyter prefers the live widget, the book's ``_config.yml`` tells
myst-nb to prefer the HTML. Both forms call the same ``draw``, so they always agree.
"""

from __future__ import annotations

import base64
import html
import itertools
import json
import uuid
from io import BytesIO

import matplotlib as mpl
from matplotlib.figure import Figure
from PIL import Image

from .plot import BOOK_STYLE

MAX_FRAMES = 400  # the static form embeds every picture; keep pages light


def column_layout():
    """The layout of a widget column (VBox) that keeps each picture at its own aspect ratio.

    By default a VBox stretches its children to its full width, so JupyterLab draws a picture
    wider than it is while keeping its height: a distorted figure.
    """
    import ipywidgets as w

    return w.Layout(align_items="flex-start")


def _label(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


class Explorer:
    """An interactive figure: live widget in Jupyter, self-contained HTML slider in the book."""

    def __init__(self, draw, *, width: float = 8.0, height: float = 3.6, dpi: int = 80,
                 start: dict | None = None, play: str | None = None, key=None,
                 colors: int = 128, **params):
        if not params:
            raise ValueError("give at least one parameter with the values it may take, "
                             "e.g. Explorer(draw, lr=[0.01, 0.1])")
        for name, values in params.items():
            if isinstance(values, (str, bytes)) or len(list(values)) == 0:
                raise ValueError(f"parameter {name!r} needs a non-empty list of values, got {values!r}")
        self.draw = draw
        self.params = {name: list(values) for name, values in params.items()}
        n_frames = 1
        for values in self.params.values():
            n_frames *= len(values)
        if n_frames > MAX_FRAMES:
            raise ValueError(f"{n_frames} combinations is too many for the static form "
                             f"(at most {MAX_FRAMES}); offer fewer values")
        if play is not None and play not in self.params:
            raise ValueError(f"play={play!r} must name one of the parameters {sorted(self.params)}")
        self.play = play
        self.key = key
        self.size, self.dpi, self.colors = (width, height), dpi, colors
        start = start or {}
        unknown = set(start) - set(self.params)
        if unknown:
            raise ValueError(f"start names unknown parameters: {sorted(unknown)}")
        self.start = {name: start.get(name, values[len(values) // 2])
                      for name, values in self.params.items()}
        self._ui = None

    # -- the drawing, shared by both forms ------------------------------------------------
    def render(self, **values) -> bytes:
        """PNG bytes of the figure for one choice of parameter values."""
        with mpl.rc_context(BOOK_STYLE):
            fig = Figure(figsize=self.size, dpi=self.dpi, layout="constrained")
            self.draw(fig, **values)
            buffer = BytesIO()
            fig.savefig(buffer, format="png", dpi=self.dpi)
        # A palette (128 colours by default) makes plots about 5 times smaller with no visible
        # loss, which matters because the static form embeds every frame in the page.
        image = Image.open(buffer).convert("RGB").quantize(colors=self.colors,
                                                           method=Image.Quantize.FASTOCTREE)
        buffer = BytesIO()
        image.save(buffer, format="png", optimize=True)
        return buffer.getvalue()

    # -- the live form -----------------------------------------------------------------------
    def widget(self):
        """The ipywidgets UI: one control per parameter and the picture they select."""
        import ipywidgets as w

        controls = {}
        for name, values in self.params.items():
            options = [(_label(v), v) for v in values]
            common = dict(options=options, value=self.start[name], description=name,
                          style={"description_width": "initial"})
            if all(isinstance(v, str) for v in values):
                controls[name] = w.Dropdown(**common)
            else:
                controls[name] = w.SelectionSlider(continuous_update=False, **common)
        image = w.Image(format="png", value=self.render(**self.start))
        row = list(controls.values())
        if self.play is not None:            # a play button that steps through that slider
            slider = controls[self.play]
            player = w.Play(min=0, max=len(self.params[self.play]) - 1, interval=400,
                            value=slider.index)
            w.jslink((player, "value"), (slider, "index"))
            row.insert(list(controls).index(self.play), player)

        def redraw(_change=None):
            image.value = self.render(**{name: c.value for name, c in controls.items()})

        for control in controls.values():
            control.observe(redraw, names="value")
        return w.VBox([w.HBox(row), image], layout=column_layout())

    # -- the static form ---------------------------------------------------------------------
    def frames(self) -> dict[str, str]:
        """Every combination drawn once: key 'i-j-...' (value indices) -> base64 PNG.

        Combinations that ``key(**values)`` maps to the same result share one drawing.
        """
        names = list(self.params)
        frames, drawn = {}, {}
        for index in itertools.product(*(range(len(self.params[n])) for n in names)):
            values = {n: self.params[n][i] for n, i in zip(names, index)}
            same = self.key(**values) if self.key else index
            if same not in drawn:
                drawn[same] = base64.b64encode(self.render(**values)).decode()
            frames["-".join(map(str, index))] = drawn[same]
        return frames

    def static_html(self) -> str:
        """A self-contained HTML fragment: sliders and the pre-drawn pictures, no kernel needed.

        Identical pictures (a parameter that does not matter for some setting) are stored once.
        """
        uid = "explorer-" + uuid.uuid4().hex[:8]
        rows = []
        for k, (name, values) in enumerate(self.params.items()):
            labels = [_label(v) for v in values]
            current = values.index(self.start[name])
            if all(isinstance(v, str) for v in values):
                options = "".join(f'<option value="{i}"{" selected" if i == current else ""}>'
                                  f"{html.escape(lab)}</option>" for i, lab in enumerate(labels))
                control = f'<select data-k="{k}">{options}</select><span></span>'
            else:
                control = (f'<input type="range" data-k="{k}" min="0" max="{len(values) - 1}" '
                           f'step="1" value="{current}" style="width:14em;vertical-align:middle">'
                           f'<span style="margin-left:.5em;font-family:monospace"></span>')
                if name == self.play:
                    control = (f'<button type="button" data-play="{k}" style="margin-right:.4em">'
                               f"&#9654;</button>" + control)
            rows.append(f'<label style="margin-right:1.5em;white-space:nowrap">'
                        f"<b>{html.escape(name)}</b> {control}</label>")
        labels = {k: [_label(v) for v in values] for k, values in enumerate(self.params.values())}
        images, which = [], {}
        for key, picture in self.frames().items():
            if picture not in images:
                images.append(picture)
            which[key] = images.index(picture)
        script = f"""
(function() {{
  const root = document.getElementById("{uid}");
  const images = {json.dumps(images)};
  const which = {json.dumps(which)};
  const labels = {json.dumps(labels)};
  const controls = Array.from(root.querySelectorAll("[data-k]"));
  function show() {{
    const key = controls.map(c => c.value).join("-");
    root.querySelector("img").src = "data:image/png;base64," + images[which[key]];
    controls.forEach(c => {{
      if (c.tagName === "INPUT") c.nextElementSibling.textContent = labels[c.dataset.k][c.value];
    }});
  }}
  controls.forEach(c => c.addEventListener("input", show));
  root.querySelectorAll("[data-play]").forEach(button => {{
    const slider = button.nextElementSibling;
    let timer = null;
    button.addEventListener("click", () => {{
      if (timer) {{ clearInterval(timer); timer = null; button.innerHTML = "&#9654;"; return; }}
      if (+slider.value === +slider.max) slider.value = 0;
      button.innerHTML = "&#10074;&#10074;";
      timer = setInterval(() => {{
        slider.value = +slider.value + 1;
        show();
        if (+slider.value === +slider.max) {{ clearInterval(timer); timer = null; button.innerHTML = "&#9654;"; }}
      }}, 400);
    }});
  }});
  show();
}})();"""
        return (f'<div id="{uid}" class="dlbook-explorer">'
                f'<div style="margin-bottom:.4em">{"".join(rows)}</div>'
                f'<img alt="interactive figure" style="max-width:100%;height:auto">'
                f"<script>{script}</script></div>")

    # -- both at once, for Jupyter's display machinery ------------------------------------------
    def _repr_mimebundle_(self, include=None, exclude=None):
        if self._ui is None:
            self._ui = self.widget()
        return {
            "text/plain": f"Explorer of {', '.join(self.params)} (run the notebook to move it)",
            "application/vnd.jupyter.widget-view+json": {
                "version_major": 2, "version_minor": 0, "model_id": self._ui.model_id},
            "text/html": self.static_html(),
        }
