"""Packets cannot be diffed (issue #15): names alone do not give the leak away.

churn-v1 gave the 39 honest columns fixed names, so the leak was the one name that differed
between two packets. churn-v2 draws names, optional features and the leak's borrowed name
per seed. These tests draw the choices of hundreds of seeds (no simulation: cheap) and show,
on what a candidate would see (column names, their order, the data dictionary):

- side by side, two packets differ in many honest columns, operational counts among them,
  and the leak's name is sometimes in both;
- a classifier that learns from 200 packets which names were the leak, and guesses the
  leak of 200 others by name alone, does no better than chance among the columns whose
  names the leak can have (criterion explained at `test_names_alone_do_not_point_at_the_leak`);
- the drift, concept-drift, MNAR and MCAR roles spread over their pools.
"""

from __future__ import annotations

import math
from collections import Counter

import pytest

from grader.world.choices import SeededChoices, draw_choices, rng_for
from grader.world.packet import data_dictionary
from grader.world.seed import candidate_seed
from grader.world.spec import WorldSpec, load_spec

SEEDS = 200
PAIRS = 50


@pytest.fixture(scope="module")
def spec() -> WorldSpec:
    return load_spec("churn-v2")


def choices_of(spec: WorldSpec, candidate: str, secret: bytes = b"names-secret") -> SeededChoices:
    return draw_choices(spec, rng_for(candidate_seed(secret, candidate)))


def packet_columns(choices: SeededChoices) -> list[str]:
    """The feature columns as the packet lists them, in file order."""
    columns = list(choices.columns.values())
    columns.insert(choices.leak_position, choices.leak_column)
    return columns


@pytest.fixture(scope="module")
def worlds(spec: WorldSpec) -> list[SeededChoices]:
    return [choices_of(spec, f"cand-{i}") for i in range(2 * SEEDS)]


def test_every_world_has_40_distinct_columns_and_the_leak_stands_in_for_its_namesake(
    spec: WorldSpec, worlds: list[SeededChoices]
) -> None:
    order = [f.name for f in spec.features]
    for choices in worlds:
        columns = packet_columns(choices)
        assert len(columns) == len(set(columns)) == 40
        namesake = choices.leak_namesake
        assert namesake in spec.leak.takes_names_of and namesake not in choices.columns
        assert choices.leak_column in spec.feature(namesake).names
        # Its slot: after the delivered features the spec lists before its namesake.
        before = [f for f in choices.columns if order.index(f) < order.index(namesake)]
        assert choices.leak_position == len(before) >= 3
        for feature, name in choices.columns.items():
            assert name in spec.feature(feature).names
    assert len({tuple(packet_columns(c)) for c in worlds}) == len(worlds)


def test_two_packets_side_by_side_do_not_isolate_the_leak(spec: WorldSpec, worlds: list[SeededChoices]) -> None:
    pool = set(spec.leak_names)
    shared = 0
    fewest_honest = fewest_counts = math.inf
    for a, b in zip(worlds[0 : 2 * PAIRS : 2], worlds[1 : 2 * PAIRS : 2]):
        columns_a, columns_b = set(packet_columns(a)), set(packet_columns(b))
        for mine, theirs, leak in ((columns_a, columns_b, a.leak_column), (columns_b, columns_a, b.leak_column)):
            only_mine = mine - theirs - {leak}
            fewest_honest = min(fewest_honest, len(only_mine))
            # Even among the operational counts (the names the leak can have) it is not alone.
            fewest_counts = min(fewest_counts, len(only_mine & pool))
        shared += a.leak_column in columns_b
        shared += b.leak_column in columns_a
    print(
        f"[figures] {PAIRS} pairs: >= {fewest_honest} honest columns only on one side, >= {fewest_counts} of them "
        f"operational counts; the leak's name in the other packet too {shared} times of {2 * PAIRS}"
    )
    assert fewest_honest >= 10
    assert fewest_counts >= 2
    assert shared >= 5, "the leak's name also turns up in other packets"


def test_names_alone_do_not_point_at_the_leak(spec: WorldSpec, worlds: list[SeededChoices]) -> None:
    """The criterion. The leak is an integer count, named like the 12 operational counts;
    every packet has 12 columns whose names the leak can have (the 36 names of
    `[leak] takes_names_of`), one of them the leak. Names can at best narrow the leak down
    to those; they do not identify it when no name-only guess does better than picking one
    of them uniformly ("chance": 1 in 12, against 1 in 40 for any column).

    The name-only guess: for each name, the share of the 200 training packets that had it
    in which it was the leak (the best per-column score names alone can give; any pattern
    in a name, a suffix or a word, is a function of the name), then on 200 other packets
    the highest-scoring column (ties split evenly). It must stay within two standard errors
    of chance, and every name the leak can have must be an honest column elsewhere."""
    train, test = worlds[:SEEDS], worlds[SEEDS:]
    pool = set(spec.leak_names)
    was_leak = Counter(c.leak_column for c in train)
    seen = Counter(name for c in train for name in packet_columns(c))
    hits = chance = 0.0
    for choices in test:
        columns = packet_columns(choices)
        score = {name: was_leak[name] / seen[name] if seen[name] else 0.0 for name in columns}
        best = [name for name in columns if score[name] == max(score.values())]
        hits += (choices.leak_column in best) / len(best)
        chance += 1 / sum(name in pool for name in columns)
    accuracy, chance = hits / len(test), chance / len(test)
    error = math.sqrt(chance * (1 - chance) / len(test))
    print(f"[figures] name-only guess right {accuracy:.1%} of {len(test)} packets; chance {chance:.1%} (+-{error:.1%})")
    assert accuracy <= chance + 2 * error
    assert chance <= 1 / 10
    honest = Counter(name for c in worlds for name in c.columns.values())
    leaks = Counter(c.leak_column for c in worlds)
    assert not [name for name in pool if honest[name] == 0], "a name that is only ever the leak gives it away"
    assert not [name for name in pool if leaks[name] == 0]
    # Where a name is delivered, it is the leak about as often as any other name of the pool.
    rates = [leaks[name] / (leaks[name] + honest[name]) for name in pool]
    assert max(rates) < 0.25, sorted(rates)[-3:]


def test_the_leak_reads_like_its_namesake_in_the_data_dictionary(spec: WorldSpec, make_world) -> None:
    """Where the leak borrows a name, its dictionary entry is the one that name has when honest."""
    leak_world = make_world("names-dictionary", rows=1_000, spec="churn-v2")
    leak = leak_world.world.choices.leak_column
    honest_world = next(
        make_world(f"names-dictionary-{i}", rows=1_000, spec="churn-v2")
        for i in range(200)
        if leak in choices_of(spec, f"names-dictionary-{i}", b"tests-only-secret").columns.values()
    )
    as_leak = next(e for e in data_dictionary(leak_world.world) if e["name"] == leak)
    as_honest = next(e for e in data_dictionary(honest_world.world) if e["name"] == leak)
    assert as_leak == as_honest
    assert leak_world.world.train[leak].dtype == honest_world.world.train[leak].dtype


def test_roles_spread_over_their_pools(spec: WorldSpec, worlds: list[SeededChoices]) -> None:
    roles = {
        "covariate_drift": "drift_column",
        "concept_drift": "concept_column",
        "missing_not_at_random": "mnar_column",
        "missing_completely_at_random": "mcar_column",
    }
    for choices in worlds:
        assert len({getattr(choices, field) for field in roles.values()}) == 4
    for pool, field in roles.items():
        drawn = Counter(c.feature_of(getattr(c, field)) for c in worlds)
        candidates = spec.role_pools[pool]
        assert len(candidates) >= 6, pool
        fair = len(worlds) / len(candidates)
        print(f"[figures] {pool}: {dict(drawn)}")
        assert set(drawn) == set(candidates), pool
        assert min(drawn.values()) >= fair / 2, (pool, drawn)


def test_packets_differ_in_which_optional_features_they_deliver(spec: WorldSpec, worlds: list[SeededChoices]) -> None:
    optional = {f.name for f in spec.features if f.presence == "optional"}
    delivered = Counter(feature for c in worlds for feature in c.columns if feature in optional)
    assert set(delivered) == optional
    assert max(delivered.values()) < len(worlds), "an optional feature in every world"
    subsets = {frozenset(set(c.columns) & optional) for c in worlds}
    print(f"[figures] {len(subsets)} different sets of optional features in {len(worlds)} worlds")
    assert len(subsets) >= 0.95 * len(worlds)


def test_churn_v1_keeps_its_fixed_names() -> None:
    """Kept loadable for what pins it: 39 names that never change, a leak from a pool of its own."""
    v1 = load_spec("churn-v1")
    names = [f.name for f in v1.features]
    for i in range(20):
        choices = choices_of(v1, f"cand-{i}")
        assert list(choices.columns) == list(choices.columns.values()) == names
        assert choices.leak_column in v1.leak.names and choices.leak_namesake is None
