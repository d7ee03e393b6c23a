"""A trained LightGBM booster compiled to numpy arrays, so serving needs no LightGBM.

Why: LightGBM's wheel needs the system OpenMP library (libgomp), which slim images lack
and which cannot be installed without apt at build time. The compiled forest reproduces
`Booster.predict(raw_score=True)` exactly (the modeling notebook asserts it), and
evaluates every tree at once with a fixed number of vectorised steps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


class CompiledForest:
    """All trees in flat node arrays; a leaf is a node that loops to itself."""

    def __init__(self, feature, threshold, nan_left, left, right, value, roots, depth):
        self.feature = feature
        self.threshold = threshold
        self.nan_left = nan_left
        self.left = left
        self.right = right
        self.value = value
        self.roots = roots
        self.depth = int(depth)

    @classmethod
    def from_booster_dump(cls, dump: dict) -> "CompiledForest":
        """Compile `Booster.dump_model()` (numerical splits only)."""
        feature, threshold, nan_left, left, right, value = [], [], [], [], [], []
        roots, depth = [], 0

        def add(node: dict, level: int) -> int:
            nonlocal depth
            index = len(feature)
            for column in (feature, threshold, nan_left, left, right, value):
                column.append(0)
            if "leaf_value" in node:
                depth = max(depth, level)
                threshold[index], nan_left[index] = np.inf, True
                left[index] = right[index] = index
                value[index] = node["leaf_value"]
                return index
            if node["decision_type"] != "<=" or node["missing_type"] == "Zero":
                raise ValueError(f"unsupported split {node['decision_type']} / {node['missing_type']}")
            feature[index] = node["split_feature"]
            threshold[index] = node["threshold"]
            # LightGBM: NaN follows default_left when missing_type is NaN, else it is read as 0.
            nan_left[index] = bool(node["default_left"]) if node["missing_type"] == "NaN" else 0.0 <= node["threshold"]
            left[index] = add(node["left_child"], level + 1)
            right[index] = add(node["right_child"], level + 1)
            return index

        for tree in dump["tree_info"]:
            roots.append(add(tree["tree_structure"], 0))
        return cls(
            np.asarray(feature, dtype=np.intp),
            np.asarray(threshold, dtype=np.float64),
            np.asarray(nan_left, dtype=bool),
            np.asarray(left, dtype=np.intp),
            np.asarray(right, dtype=np.intp),
            np.asarray(value, dtype=np.float64),
            np.asarray(roots, dtype=np.intp),
            depth,
        )

    def raw_score(self, matrix: np.ndarray, chunk: int = 4096) -> np.ndarray:
        """Sum of leaf values over trees (log-odds), row by row of `matrix`."""
        out = np.empty(len(matrix))
        for start in range(0, len(matrix), chunk):
            block = matrix[start : start + chunk]
            rows = np.arange(len(block))[:, None]
            node = np.broadcast_to(self.roots, (len(block), len(self.roots)))
            for _ in range(self.depth):
                x = block[rows, self.feature[node]]
                go_left = np.where(np.isnan(x), self.nan_left[node], x <= self.threshold[node])
                node = np.where(go_left, self.left[node], self.right[node])
            out[start : start + len(block)] = self.value[node].sum(axis=1)
        return out

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            feature=self.feature,
            threshold=self.threshold,
            nan_left=self.nan_left,
            left=self.left,
            right=self.right,
            value=self.value,
            roots=self.roots,
            depth=np.asarray(self.depth),
        )

    @classmethod
    def load(cls, path: Path) -> "CompiledForest":
        with np.load(path) as arrays:
            return cls(**{name: arrays[name] for name in arrays.files})
