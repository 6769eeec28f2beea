"""Configs of UMI's Table 2 (MovieLens half), Table 3 and Table 5 (run on MovieLens)."""
