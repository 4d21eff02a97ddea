"""The member laws a group accepts, in words (light: the CLI's help imports it)."""

GROUP_SPECS = ("uniform:LO,HI | exponential:MEAN | pareto:ALPHA,SCALE with 0 < ALPHA < 1 and no CAP | "
               "beta:A,B,LO,HI | truncnorm:MEAN,SD,LO,HI")

GROUP_SPEC_HELP = ("a member's value distribution, one per member (atomless, with a strictly increasing "
                   f"virtual value and a finite lowest type); accepted: {GROUP_SPECS}")

TRANSFERS = ("pooled", "individual")  # one collective transfer (the paper's model) or one per member (6.4)

TABLE_POINTS = 1025  # types per member on which interim rules are tabulated (and exported)
PROFILE_ROWS = 100_000  # the default ex-post table has at most this many type profiles
PROFILE_POINTS = 21  # and at most this many types per member
