"""The learned risk model: features, gradient-boosted trees, explanations, evaluation."""
