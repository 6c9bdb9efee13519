"""Running scenarios: replications and variants, executors (processes, Dask), the memory guard,
sweeps with sensitivity indices, interruption handling and the run folder.

Layer 5 of 6. It may import every layer below, `simlock.report` included: a run folder holds its
report. Named `execution`, not `run`, because `simlock.run` is the function that runs a scenario
and would shadow a subpackage of the same name.
"""
