"""The support desk: appeals served first come first served by `agents` working in parallel.

The desk is a simpy process: each case arrives when its appeal is filed, waits for one of the
`agents` of a `simpy.Resource` and holds it for its own service time, drawn from the appeals'
`service` distribution. Cases filed at the same instant are served in device order; a case filed
at the instant an agent frees up queues behind the cases already waiting (first come, first
served). The desk stops at `stop` (the lift's unlock command, or the end of the run): a case not
started by then is withdrawn, and a case that would start exactly then is not started.

A fixed service time has a closed form (`policy.fcfs_desk_start`): with equal service times the
n-th case starts when the (n - agents)-th ends. The engine uses it for fixed service times: it is
vectorised (a congested desk at the benchmark's scale has tens of thousands of cases, which the
process serves at tens of microseconds each) and it is the formula every earlier release used,
so fixed-time results stay the same to the last bit. The two agree to rounding (the tests check
it on a congested desk); they may differ in the last bits of a start, because the closed form
sums service times in another order.
"""

from __future__ import annotations

from collections.abc import Generator

import numpy as np
import simpy

from .policy import fcfs_desk_start


def desk_starts(
    arrivals: np.ndarray, service: np.ndarray, agents: int, stop: float, fixed: float | None
) -> np.ndarray:
    """Service start of each case (arrivals sorted in serving order), `inf` for a case withdrawn
    at `stop`; `service` holds each case's service time (days), all `fixed` when it is given."""
    if fixed is not None:
        starts = fcfs_desk_start(arrivals, agents, fixed)
        return np.where(starts < stop, starts, np.inf)
    return serve(arrivals, service, agents, stop)


def serve(arrivals: np.ndarray, service: np.ndarray, agents: int, stop: float) -> np.ndarray:
    """Run the desk as a simpy process until `stop`: the start of each case (sorted arrivals,
    their service times), `inf` for those not started before `stop`."""
    starts = np.full(arrivals.size, np.inf)
    if not arrivals.size or stop <= 0:
        return starts  # nothing to serve, or a desk closed from the start
    env = simpy.Environment()
    desk = simpy.Resource(env, capacity=agents)

    def case(index: int, arrival: float, days: float) -> Generator[simpy.Event, None, None]:
        yield env.timeout(arrival)  # from time 0: the arrival exactly, not now + a difference
        with desk.request() as request:
            yield request
            starts[index] = env.now
            yield env.timeout(days)

    for index, (arrival, days) in enumerate(zip(arrivals.tolist(), service.tolist(), strict=True)):
        if arrival >= stop:
            break  # sorted: no later case arrives before the desk stops
        env.process(case(index, arrival, days))
    if np.isfinite(stop):
        env.run(until=stop)  # simpy's `until` comes before any event at `stop`
    else:
        env.run()
    return starts
