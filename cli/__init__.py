"""`meeteasy`: the operator's command line. One module per command group."""

from __future__ import annotations

import click

from cli import dev, jobs, registrations, serve, tenants, users


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """MeetEasy: run the platform and operate it."""


main.add_command(dev.dev)
main.add_command(tenants.tenants)
main.add_command(users.users)
main.add_command(jobs.jobs)
main.add_command(registrations.registrations)
for command in serve.COMMANDS:
    main.add_command(command)
