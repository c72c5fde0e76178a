"""decnet: deception networks, rolled out with Ansible."""

__version__ = "0.1.0"
