"""Training and inference machinery: training examples and batches, the training loop and its
checkpoints, ensembles, and prediction with a trained model directory."""
