"""Training, evaluation, scheduled retraining and the model registry."""
