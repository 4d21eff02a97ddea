"""Mesa agents of Agora's markets."""

from agents.buyer import Buyer
from agents.intermediary import Intermediary
from agents.seller import FixedMechanism, Seller, StackelbergPrice

__all__ = ["Buyer", "FixedMechanism", "Intermediary", "Seller", "StackelbergPrice"]
