"""The market dynamics dashboard: market views per protocol, their figures, and the Solara page."""

#: The protocols the dashboard has a view for, in the order of its menu (the keys of
#: :data:`agora.experiments.dashboard.views.VIEWS`; kept here so ``agora --help`` lists them
#: without importing the dashboard).
PROTOCOLS = ("seller-first", "intermediary-first", "simultaneous", "learning", "adaptive-play", "posted-menu",
             "k-item-auction", "posted-fees", "q-learning", "q-learning-fees", "robust", "veto-bargaining")

#: The environment variable that carries ``agora viz``'s initial controls (JSON) to the page.
CONTROLS_ENV = "AGORA_VIZ_CONTROLS"
