"""Training pipeline: extract -> split -> fit -> evaluate -> (gate) -> register."""
