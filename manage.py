#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms_site.settings")
    if not os.environ.get("SECRET_KEY"):
        # A developer's shell: no secret configured means the development defaults. Production
        # sets SECRET_KEY (and serves through oms_site.wsgi), so DEBUG stays off there.
        os.environ.setdefault("DEBUG", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
