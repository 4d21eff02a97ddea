"""Names the command line and the specs offer as choices, importable without numpy or scipy.

Each list is the key set of the registry that holds the real objects (tests hold them
equal), so ``agora --help`` can print the choices without importing the solvers.
"""

#: The distribution spec forms of :func:`agora.market.distributions.parse_spec`.
ACCEPTED_SPECS = (
    "uniform:LO,HI | exponential:MEAN | pareto:ALPHA,SCALE[,CAP] | point:V | "
    "beta:A,B,LO,HI | truncnorm:MEAN,SD,LO,HI"
)

#: The intermediary's commitment classes of monopolist-intermediary Section 4
#: (:data:`agora.market.single_item.right_auctions.RIGHT_AUCTIONS`).
RIGHT_AUCTION_NAMES = ("posted_price", "second_price_auction", "shifted_myerson")

#: The intermediaries' utility models of intermediary-proof Section 2
#: (:func:`agora.market.k_items.utility.utility_model`).
UTILITY_MODELS = ("surplus", "monopolist")
