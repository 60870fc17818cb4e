"""The DRF router for resources that are always the caller's own (their onboarding): no pk in any URL."""

from __future__ import annotations

from rest_framework.routers import DynamicRoute, Route, SimpleRouter
from rest_framework.utils.formatting import camelcase_to_spaces
from rest_framework.viewsets import ViewSetMixin


class OwnResourceRouter(SimpleRouter):
    """Routes a viewset on the caller's own resource, without trailing slashes.

    ``DELETE {prefix}`` is the viewset's ``erase``, named ``{basename}``; every
    ``@action(detail=False)`` is ``{prefix}/{url_path}``, named ``{basename}-{url_name}``.
    There are no list or detail routes: the token says whose resource it is.
    """

    routes = [
        Route(url=r"^{prefix}$", mapping={"delete": "erase"}, name="{basename}", detail=False, initkwargs={}),
        DynamicRoute(url=r"^{prefix}/{url_path}$", name="{basename}-{url_name}", detail=False, initkwargs={}),
    ]

    def __init__(self) -> None:
        super().__init__(trailing_slash=False, use_regex_path=False)

    def get_routes(self, viewset: type[ViewSetMixin]) -> list[Route]:
        """The routes, with the resource's own route named and described by its handler.

        DRF does that for ``@action`` routes (OPTIONS and the browsable API show the name
        and the docstring); without it the ``erase`` route would show the viewset's.
        """
        erase = getattr(viewset, "erase", None)
        if erase is None:
            return super().get_routes(viewset)
        resource = camelcase_to_spaces(viewset.__name__.removesuffix("ViewSet"))
        described = {"name": f"{resource} Erase", "description": erase.__doc__}
        return [
            route._replace(initkwargs=described) if route.name == "{basename}" else route
            for route in super().get_routes(viewset)
        ]
