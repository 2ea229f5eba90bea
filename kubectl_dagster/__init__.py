"""kubectl-dagster: merge Dagster code locations into a rendered Dagster Helm release."""

__version__ = "0.1.0"
