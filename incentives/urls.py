"""Dashboard and portal pages of incentive programs."""

tenant_urlpatterns: list = []
