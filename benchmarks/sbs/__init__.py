"""The side-by-side benchmark's parts (benchmarks/side_by_side.py is the command)."""
