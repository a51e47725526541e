from django.apps import AppConfig


class OmsSiteConfig(AppConfig):
    name = "oms_site"
    verbose_name = "OMS site"
