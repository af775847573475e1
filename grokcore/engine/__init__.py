"""The engine: trains many small models at once and measures them (configs, tasks, batched
models and optimizers, the training loop, sweeps, staged curricula, trajectories, the LLC,
order parameters, executors, the results store).

May import: ``grokcore.base``, torch, numpy. Knows nothing of claims: never imports
``grokcore.decide`` or ``grokcore.suite``, never imports pytest."""
