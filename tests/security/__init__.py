"""The standing security suite: each outside finding, reproduced, so it cannot come back."""
