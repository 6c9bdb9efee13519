"""From simulated devices to numbers people read: tidy tables, metrics with intervals,
expectations (the stylized facts), consistency checks, and `Results`, which holds a run.

Layer 3 of 6. It may import `simlock.model` and `simlock.scenario`.
"""
