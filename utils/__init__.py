"""Shared code for the PyTorch neural-network course: plots, data, training helpers and exercise checks."""
