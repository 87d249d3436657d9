"""Configuration of products by administrators."""

from django.db import transaction

from portal.audit.services import audit_record


@transaction.atomic
def product_configuration_record(*, actor, product, created):
    """Audit a product saved by an administrator, with the coverages and rules it now has.

    Quotes keep the price they showed and versions are immutable, so a change here only prices
    what is quoted or endorsed from now on.
    """
    audit_record(
        actor=actor,
        action="product.created" if created else "product.changed",
        target=product,
        metadata={
            "on_sale": product.is_active,
            "coverages": {c.code: str(c.rate_per_mille) for c in product.coverages.all()},
            "rules": [f"{r.factor} {r.low}-{r.high} x{r.multiplier}" for r in product.rating_rules.all()],
        },
    )
