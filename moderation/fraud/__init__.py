"""Vote screening as pure numpy/scikit-learn code: features, rules, models, attacks and their evaluation.

The package works on arrays only. ``data.RatingTable`` is its input contract (one row per vote);
``features.rater_features`` turns a table into signals, ``rules.apply_rules`` into readable reasons,
``models.Screener`` into a score and a verdict per vote (*counted*, *review* or *excluded*), and
``attacks`` / ``evaluation`` measure all of it on generated or external data.

It never imports Django or any model of the project: a selector fills a ``RatingTable`` from the
database, the screener scores it, and a service records the verdicts (``moderation.screening``).
That keeps every piece here testable without a database and runnable on a dataset in memory.
"""
