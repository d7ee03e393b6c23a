"""The serving stage: probes of a candidate's running prediction service."""
