"""The four pieces of research the reproductions check, as their reports cite them.

Full references, with where to obtain each, are in the README's References section.
"""

MONOPOLIST_INTERMEDIARY = ("Liu, Rubinstein, Tas, Weinberg and Zhang, Single-Item Auctions with a "
                           "Monopolist Intermediary, arXiv:2605.21934 (2026)")
INTERMEDIARY_PROOF = ("Aggarwal, Bhawalkar, Guruganesh and Perlroth, Maximizing Revenue in the Presence "
                      "of Intermediaries, ITCS 2022, LIPIcs 215")
SELLING_TO_A_GROUP = "Haghpanah, Kuvalekar and Lipnowski, Selling to a Group (working paper, EC 2021)"
ROBUST_THESIS = "Kocyigit, Distributional Robustness in Mechanism Design, PhD thesis no. 7442, EPFL (2020)"
