from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "trading"
    verbose_name = "Trading"

    def ready(self) -> None:
        from orders.kinds import KindPolicy, kind_register
        from trading import policy
        from trading.venues import simulated  # noqa: F401  (registers the simulated adapter)

        kind_register(
            "trade",
            KindPolicy(
                generic_entry=False,
                accept_on_pass=False,  # New comes from the venue
                expires_generically=False,  # GTD expires at the venue
                request_handlers={"cancel": policy.cancel_request},
                after={"submit": policy.route_after_commit, "approve": policy.route_after_commit},
                after_many={"submit": policy.route_many_after_commit},
            ),
        )
