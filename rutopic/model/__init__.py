"""Text normalisation, features, the estimator, its compact inference form and persistence."""
