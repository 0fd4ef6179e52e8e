"""The wall maps' label layouts in the database (`dashboard.domain.stores.LabelStore`)."""
from __future__ import annotations

import json

import sqlalchemy as sa

from data_sources.lazy_engine import LazyEngine
from data_sources.schema import region_label


class SqlLabelStore(LazyEngine):
    def get(self, region: str, sample: str, fingerprint: str) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(region_label.c.fingerprint, region_label.c.layout)
                               .where(region_label.c.region_code == region,
                                      region_label.c.sample == sample)).first()
        return json.loads(row.layout) if row is not None and \
            row.fingerprint == fingerprint else None

    def put(self, region: str, sample: str, fingerprint: str, layout: dict) -> None:
        """Replaces the region's layout for that width (another worker may have stored the
        same one meanwhile: the last write wins, they are equal)."""
        key = (region_label.c.region_code == region) & (region_label.c.sample == sample)
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.delete(region_label).where(key))
                conn.execute(sa.insert(region_label).values(
                    region_code=region, sample=sample, fingerprint=fingerprint,
                    layout=json.dumps(layout, separators=(",", ":"))))
        except sa.exc.IntegrityError:
            pass    # stored by another worker between our delete and insert
