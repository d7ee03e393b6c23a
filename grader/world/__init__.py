"""The seeded churn world: spec, what a seed chooses, simulation, answer key, candidate packet."""
