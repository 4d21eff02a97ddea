"""Mesa agents of Agora's markets and the strategies they play."""

from agora.agents.buyer import Buyer
from agora.agents.group import Committee, GroupMember, GroupSeller
from agora.agents.intermediary import Intermediary
from agora.agents.seller import Seller
from agora.agents.strategies import (
    BestCommitment,
    BestResponseDynamics,
    FixedMechanism,
    FixedPrice,
    StackelbergPrice,
)

__all__ = ["BestCommitment", "BestResponseDynamics", "Buyer", "Committee", "FixedMechanism", "FixedPrice",
           "GroupMember", "GroupSeller", "Intermediary", "Seller", "StackelbergPrice"]
