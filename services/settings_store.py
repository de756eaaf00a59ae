"""Read and write the key-value ``settings`` table."""
from __future__ import annotations

from typing import Any

from extensions import db
from services.models import Setting


def get_setting(key: str, default: Any = None) -> Any:
    row = db.session.get(Setting, key)
    return default if row is None else row.value


def set_setting(key: str, value: Any) -> None:
    row = db.session.get(Setting, key)
    if row is None:
        db.session.add(Setting(key=key, value=value))
    else:
        row.value = value
    db.session.commit()


def delete_setting(key: str) -> bool:
    row = db.session.get(Setting, key)
    if row is None:
        return False
    db.session.delete(row)
    db.session.commit()
    return True
