"""The market dynamics dashboard: ``agora viz [SPEC.toml]`` or ``solara run experiments/app.py``."""

from agora.experiments.dashboard.page import initial_controls, make_page

Page = make_page(initial_controls())
