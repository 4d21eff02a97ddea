"""Mesa agents of Agora's markets and the strategies they play."""

from agents.buyer import Buyer
from agents.group import Committee, GroupMember, GroupSeller
from agents.intermediary import Intermediary
from agents.seller import Seller
from agents.strategies import (
    BestCommitment,
    BestResponseDynamics,
    FixedMechanism,
    FixedPrice,
    StackelbergPrice,
)

__all__ = ["BestCommitment", "BestResponseDynamics", "Buyer", "Committee", "FixedMechanism", "FixedPrice",
           "GroupMember", "GroupSeller", "Intermediary", "Seller", "StackelbergPrice"]
