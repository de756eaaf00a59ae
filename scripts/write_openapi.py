"""Write docs/openapi.json, the committed copy of the API contract (tests/contract/test_openapi.py compares).

    .venv/bin/python -m scripts.write_openapi
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.path.insert(0, str(ROOT))
    from app_factory import create_app
    from routes.contract import build_spec
    from tests.helpers import make_test_config

    with tempfile.TemporaryDirectory() as scratch:
        app = create_app(make_test_config(Path(scratch)))
        spec = build_spec(app)
    target = ROOT / "docs" / "openapi.json"
    target.write_text(json.dumps(spec, indent=1, ensure_ascii=False) + "\n")
    operations = sum(len(ops) for ops in spec["paths"].values())
    print(f"wrote {target.relative_to(ROOT)}: {operations} operations on {len(spec['paths'])} paths")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
