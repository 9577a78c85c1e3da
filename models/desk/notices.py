"""Loads what the entitlement notices need for one ticket (read-only)."""

from __future__ import annotations

import datetime as dt

from sqlmodel import col, select

from models.desk.detail import TicketDetail
from models.policy.entitlement import Notice, notices
from models.store.db import Store
from models.store.tables import HostedSubscription, License, MsTerm, Partnership, Product


def policy_notices(store: Store, detail: TicketDetail, today: dt.date) -> list[Notice]:
    """M&S, hosted, partner, legacy-version and emergency notices for the detail pane."""
    with store.session() as session:
        license_row = product = None
        terms: list[MsTerm] = []
        if detail.license is not None:
            license_row = session.get(License, detail.license.id)
            if license_row is not None:
                product = session.get(Product, license_row.product_id)
                terms = list(
                    session.execute(
                        select(MsTerm).where(col(MsTerm.license_id) == license_row.id)
                    ).scalars()
                )
        hosted: list[HostedSubscription] = []
        partners: list[Partnership] = []
        if detail.customer is not None:
            customer_id = detail.customer.id
            hosted = list(
                session.execute(
                    select(HostedSubscription).where(
                        col(HostedSubscription.customer_id) == customer_id
                    )
                ).scalars()
            )
            partners = list(
                session.execute(
                    select(Partnership).where(col(Partnership.customer_id) == customer_id)
                ).scalars()
            )
        return notices(detail.kind, license_row, product, terms, hosted, partners, today)
