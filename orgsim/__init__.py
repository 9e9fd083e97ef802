"""orgsim: a simulated AWS organization served over real HTTP in the real AWS wire protocols.

Point any AWS SDK at it with ``AWS_ENDPOINT_URL=http://127.0.0.1:PORT`` (every service shares
one endpoint) and any credentials: unknown keys act as the management account, and
``sts:AssumeRole`` hands out keys that act in member accounts.

    with orgsim.run_in_thread("demo") as sim:
        os.environ.update(sim.env())
        ...
        sim.mutate(0.01, seed=7)
        truth = list(sim.truth())

    async with orgsim.serve("small", port=0) as sim:
        ...
"""

from collections.abc import Iterator
from typing import Any

from orgsim.inventory import Generation, MutationError
from orgsim.runner import Simulator, run_in_thread, serve
from orgsim.scenario import Scenario, ScenarioError, builtin_names, load_scenario
from orgsim.world import World


def iter_inventory(
    scenario: Scenario | str | World,
    generation: int | None = None,
    mutations: list[tuple[float, int]] | None = None,
) -> Iterator[dict[str, Any]]:
    """Ground truth rows of a scenario (see World.truth), optionally after extra mutations."""
    world = scenario if isinstance(scenario, World) else World(scenario)
    for share, seed in mutations or []:
        world.mutate(share, seed)
    if generation is not None:
        while world.generation < generation:
            world.mutate()
    return world.truth(generation)


__all__ = [
    "Generation",
    "MutationError",
    "Scenario",
    "ScenarioError",
    "Simulator",
    "World",
    "builtin_names",
    "iter_inventory",
    "load_scenario",
    "run_in_thread",
    "serve",
]
