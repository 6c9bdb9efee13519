"""The simulation of one replication: random streams, the population of devices (activations,
channels, signals), check-ins, detection, the policy's rules and the engine that applies them.

Layer 2 of 6. It may import `simlock.scenario` and the top-level leaves (`simlock.errors`).
"""
