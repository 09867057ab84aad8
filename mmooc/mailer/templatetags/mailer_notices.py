"""`{% paused_domains %}`: the notice every staff page shows while sending to a domain is paused."""

from __future__ import annotations

from django import template

from mmooc.mailer import breaker

register = template.Library()


@register.inclusion_tag("mailer/_paused_domains.html")
def paused_domains() -> dict[str, object]:
    return {"paused": sorted((domain, max(1, round(left / 60))) for domain, left in breaker.paused().items())}
