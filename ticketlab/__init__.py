"""ticketlab: find, build and analyse sparse subnetworks ("lottery tickets") in PyTorch."""

__version__ = "0.1.0"
