"""Request and response models, built from the model's feature contract (models/model.json).

The contract is the data dictionary the model was trained on: every feature is a required
key; numeric features may be null (the model routes missing values itself, and the audit
found missingness that carries signal); categories must be one of the documented values;
booleans must be booleans. Unknown keys are ignored, so a caller can send a full warehouse
row, including columns the model deliberately does not use (the leakage column).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, create_model

MAX_BATCH = 1000
# NaN and Infinity are not JSON; null is how a caller says "unknown".
_NUMERIC = {"int": int, "float": Annotated[float, Field(allow_inf_nan=False)]}


def record_model(features: list[dict]) -> type[BaseModel]:
    """A pydantic model of one customer-month record for the given feature contract."""
    fields: dict[str, Any] = {
        "customer_id": (Optional[str], Field(None, description="Echoed back; not used by the model.")),
        "snapshot_month": (Optional[str], Field(None, pattern=r"^\d{4}-\d{2}$", description="YYYY-MM; not used by the model.")),
    }
    for feature in features:
        name, kind = feature["name"], feature["kind"]
        if kind == "category":
            fields[name] = (Literal[tuple(feature["categories"])], ...)
        elif kind == "bool":
            fields[name] = (bool, ...)
        else:
            fields[name] = (Optional[_NUMERIC[kind]], Field(..., description="null when unknown"))
    return create_model("CustomerRecord", __config__=ConfigDict(extra="ignore"), **fields)


def request_model(record: type[BaseModel]) -> Any:
    """The /predict body: one record, or {"records": [...]} with 1..MAX_BATCH records."""
    batch = create_model(
        "RecordBatch",
        __config__=ConfigDict(extra="forbid"),
        records=(list[record], Field(..., min_length=1, max_length=MAX_BATCH)),
    )

    def kind(body: Any) -> str:
        return "batch" if isinstance(body, dict) and "records" in body else "record"

    return Annotated[Union[Annotated[batch, Tag("batch")], Annotated[record, Tag("record")]], Discriminator(kind)]


class Prediction(BaseModel):
    customer_id: Optional[str] = None
    churn_probability: float = Field(ge=0.0, le=1.0)


class PredictResponse(BaseModel):
    model_version: str
    predictions: list[Prediction]


class Health(BaseModel):
    status: Literal["ok"]
    model_version: str
    features: int
