"""Paper reproductions: ``agora reproduce NAME`` writes a report of paper vs measured."""

from experiments.reproduce.seller_first import reproduce_seller_first

REPRODUCTIONS = {"seller-first": reproduce_seller_first}
