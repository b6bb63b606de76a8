"""Speed benchmarks: minigrad against NumPy and PyTorch, measured in the same run."""
