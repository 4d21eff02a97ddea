"""Paper reproductions: ``agora reproduce NAME`` writes a report of paper vs measured.

Each entry names the function that builds it, imported only when it runs (the
reproductions pull in matplotlib and Mesa, which the rest of the CLI does not need).
"""

from importlib import import_module

REPRODUCTIONS = {
    "monopolist-intermediary":
        "agora.experiments.reproduce.monopolist_intermediary:reproduce_monopolist_intermediary",
    "seller-first": "agora.experiments.reproduce.seller_first:reproduce_seller_first",
    "intermediary-proof": "agora.experiments.reproduce.intermediary_proof:reproduce_intermediary_proof",
    "selling-to-a-group": "agora.experiments.reproduce.selling_to_a_group:reproduce_selling_to_a_group",
    "robust-mechanisms": "agora.experiments.reproduce.robust_mechanisms:reproduce_robust_mechanisms",
    "equilibrium-selection": "agora.experiments.reproduce.equilibrium_selection:reproduce_equilibrium_selection",
}

#: Reproductions that run through the experiments runner and take --executor and --workers.
SCALABLE = ("equilibrium-selection",)


def load(name: str):
    """The function that runs reproduction ``name``."""
    module, func = REPRODUCTIONS[name].split(":")
    return getattr(import_module(module), func)
