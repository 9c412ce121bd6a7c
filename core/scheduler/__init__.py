"""The scheduler: plugins' jobs, each (schedule, period) run exactly once across workers."""
