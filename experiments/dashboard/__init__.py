"""The market dynamics dashboard: market views per protocol, their figures, and the SolaraViz page."""
