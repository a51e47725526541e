from django.apps import AppConfig


class CommerceConfig(AppConfig):
    name = "commerce"
    verbose_name = "Commerce"

    def ready(self) -> None:
        from commerce import policy
        from orders.kinds import KindPolicy, kind_register

        kind_register(
            "sales",
            KindPolicy(
                generic_entry=False,  # entered with lines through the commerce API
                accept_on_pass=True,
                expires_generically=False,
                request_handlers={"cancel": policy.cancel_request},
                after={"submit": policy.route_after_commit, "approve": policy.route_after_commit},
                after_many={"submit": policy.route_many_after_commit},
            ),
        )
