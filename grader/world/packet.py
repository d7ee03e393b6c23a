"""Write what the candidate receives (the packet) and what only the grader sees (the key)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from string import Template

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pydantic import BaseModel

from grader.fsutil import atomic_output_dir
from grader.sandbox.stack import runner_stack
from grader.world.build import World, build_world
from grader.world.key import AnswerKey, build_key
from grader.world.seed import candidate_seed, seed_fingerprint
from grader.world.spec import DATASETS_DIR, FeatureKind, WorldSpec

_KIND_TYPES = {
    "int": "integer",
    "float": "float",
    "money": "float (USD, cents)",
    "category": "category",
    "bool": "boolean",
}


class PacketInfo(BaseModel):
    """packet.json: public facts that tie a packet to its key, nothing secret."""

    candidate_id: str
    spec_version: str
    seed_fingerprint: str
    rows: int
    months: list[str]


@dataclass(frozen=True)
class SeededWorld:
    """A generated world with its key, ready to write."""

    world: World
    key: AnswerKey


def generate(spec: WorldSpec, secret: bytes, candidate_id: str, rows: int | None, demo_secret: bool) -> SeededWorld:
    """Build the world and its key for one candidate."""
    seed = candidate_seed(secret, candidate_id)
    world = build_world(spec, seed, rows)
    key = build_key(world, candidate_id, seed_fingerprint(seed), demo_secret)
    return SeededWorld(world=world, key=key)


def _table(frame) -> pa.Table:
    return pa.Table.from_pandas(frame, preserve_index=False)


def data_dictionary(world: World) -> list[dict]:
    """One entry per column, in file order; the leak reads like any other column."""
    spec, choices = world.spec, world.choices
    described: dict[str, tuple[FeatureKind, str | None]] = {
        name: (spec.feature(f).kind, spec.feature(f).description) for f, name in choices.columns.items()
    }
    # A borrowed name brings its feature's description: the leak's entry is its namesake's.
    namesake = choices.leak_namesake
    described[choices.leak_column] = ("int", spec.feature(namesake).description if namesake else spec.leak.description)
    entries: list[dict[str, object]] = [
        {"name": spec.id_column, "type": "string", "description": "Anonymised customer identifier."},
        {"name": spec.time_column, "type": "string (YYYY-MM)", "description": "Month of the snapshot."},
    ]
    for column in world.feature_columns:
        kind, description = described[column]
        entry: dict[str, object] = {"name": column, "type": _KIND_TYPES[kind], "description": description}
        if kind == "category":
            entry["values"] = sorted(world.train[column].dropna().unique().tolist())
        entries.append(entry)
    entries.append(
        {
            "name": spec.label_column,
            "type": "integer (0/1)",
            "description": f"1 if the customer cancelled within {spec.label_window_days} days after the snapshot.",
        }
    )
    return entries


def _dictionary_markdown(entries: list[dict]) -> str:
    lines = ["# Data dictionary", "", "| column | type | description |", "|---|---|---|"]
    for entry in entries:
        values = f" Values: {', '.join(entry['values'])}." if "values" in entry else ""
        lines.append(f"| `{entry['name']}` | {entry['type']} | {entry['description']}{values} |")
    return "\n".join(lines) + "\n"


def _task_markdown(seeded: SeededWorld) -> str:
    world, key = seeded.world, seeded.key
    template = Template((DATASETS_DIR / "templates" / "TASK.md").read_text())
    stack = runner_stack()
    return template.substitute(
        runner_python=stack.python or "3",
        runner_packages=", ".join(f"`{package}`" for package in stack.packages),
        candidate_id=key.candidate_id,
        rows=f"{key.rows:,}",
        first_month=world.months[0],
        last_month=world.months[-1],
        id_column=world.spec.id_column,
        label_column=world.spec.label_column,
        label_window_days=world.spec.label_window_days,
        feature_count=len(world.feature_columns),
    )


def write_packet(seeded: SeededWorld, out: Path, force: bool = False) -> Path:
    """The candidate's packet: data, data dictionary, TASK.md, packet.json."""
    world, key = seeded.world, seeded.key
    with atomic_output_dir(out, force) as staging:
        data = staging / "data"
        data.mkdir()
        table = _table(world.train)
        # pyarrow releases the GIL while writing, so the two formats are written side by side.
        with ThreadPoolExecutor(max_workers=2) as pool:
            written = [
                pool.submit(pq.write_table, table, data / "churn.parquet"),
                pool.submit(pacsv.write_csv, table, data / "churn.csv"),
            ]
            for future in written:
                future.result()
        entries = data_dictionary(world)
        (data / "data_dictionary.json").write_text(json.dumps(entries, indent=2) + "\n")
        (data / "DATA_DICTIONARY.md").write_text(_dictionary_markdown(entries))
        (staging / "TASK.md").write_text(_task_markdown(seeded))
        info = PacketInfo(
            candidate_id=key.candidate_id,
            spec_version=key.spec_version,
            seed_fingerprint=key.seed_fingerprint,
            rows=key.rows,
            months=key.months,
        )
        (staging / "packet.json").write_text(info.model_dump_json(indent=2) + "\n")
    return out


def write_key(seeded: SeededWorld, out: Path, force: bool = False) -> Path:
    """The grader's side: answer_key.json and the hidden holdout (features, labels apart)."""
    world, key = seeded.world, seeded.key
    with atomic_output_dir(out, force) as staging:
        (staging / "answer_key.json").write_text(key.model_dump_json(indent=2) + "\n")
        holdout = staging / "holdout"
        holdout.mkdir()
        pq.write_table(_table(world.holdout_features), holdout / "features.parquet")
        pq.write_table(_table(world.holdout_labels), holdout / "labels.parquet")
    return out
