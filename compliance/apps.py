from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Compliance"

    def ready(self) -> None:
        from compliance.services.fraud import sales_screen, sales_screen_many
        from compliance.services.screening import trade_screen, trade_screen_many
        from orders.screening import screen_register

        screen_register(
            "compliance.pretrade", trade_screen, kinds=["trade"], many=trade_screen_many
        )
        screen_register("compliance.fraud", sales_screen, kinds=["sales"], many=sales_screen_many)

        from compliance.surveillance import hooks as surveillance_hooks

        surveillance_hooks.register()
