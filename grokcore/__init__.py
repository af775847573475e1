"""grokcore: train many small models at once and re-verify claims about grokking.

Shape convention everywhere: R = runs, N = pairs, M = modulus, K = hidden width.
"""
__version__ = "0.1.0"
