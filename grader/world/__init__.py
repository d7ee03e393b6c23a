"""The seeded churn world: spec, simulation, answer key, candidate packet."""
