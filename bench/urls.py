"""The project's URLs with one more in front: `/bench/bare/`, the baseline of `bench.lists`."""

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import urlpatterns as project_urlpatterns

ROWS = [
    {
        "id": n,
        "name": f"Partner {n:02d}",
        "type": "reseller",
        "region": "EMEA",
        "country": "DE",
        "status": "active",
    }
    for n in range(1, 51)
]


class BareView(APIView):
    """DRF's request, content negotiation and JSON rendering around 50 static rows: no
    authentication, no permission check, no database. What every list pays before its own
    work."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def get(self, request):
        return Response(ROWS)


urlpatterns = [path("bench/bare/", BareView.as_view(), name="bench-bare"), *project_urlpatterns]
