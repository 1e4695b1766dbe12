"""Pages without the ipywidgets embedding: no widget state, no widget manager scripts.

Executed notebooks carry the state of their widgets in their metadata, and myst-nb embeds it
in the page (with require.js and the widget manager from a CDN, set off by ``nb_ipywidgets_js:
{}`` in ``_config.yml``). The book shows no live widget: every interactive figure renders its
self-contained HTML form (``utils/widgets.py``), so the state would be dead weight.
"""

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def drop_widget_state(app, pagename, templatename, context, doctree):
    """html-page-context, after myst-nb has added the page's scripts: remove the widget state."""
    scripts = context.get("script_files", [])
    scripts[:] = [s for s in scripts if getattr(s, "attributes", {}).get("type") != WIDGET_STATE]


def setup(app):
    app.connect("html-page-context", drop_widget_state, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
