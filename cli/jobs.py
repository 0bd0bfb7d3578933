"""`meeteasy jobs`: operators look at jobs, retry or cancel them, and put their hot
state back into Redis after a Redis loss."""

from __future__ import annotations

import json

import click

from cli.context import with_database
from models import jobs as job_records
from services.jobs import restore_hot_state, retry_job, update_job
from services.tenants import get_tenant_by_slug


@click.group()
def jobs() -> None:
    """Inspect, retry and cancel jobs."""


def _tenant_id(slug: str) -> str:
    return str(get_tenant_by_slug(slug).id)


@jobs.command("list")
@click.option("--tenant", "tenant_slug", required=True)
@click.option("--state", type=click.Choice(job_records.STATES))
@click.option("--kind")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, job_records.MAX_PAGE))
@with_database
def list_(tenant_slug: str, state: str | None, kind: str | None, limit: int) -> None:
    """List a tenant's jobs, most recently changed last."""
    found, _ = job_records.list_jobs(_tenant_id(tenant_slug), state=state, kind=kind, limit=limit)
    for job in found:
        error = job.error["code"] if job.error else ""
        click.echo(f"{job.id}\t{job.kind}\t{job.state}\t{job.progress}%\tattempts={job.attempts}\t{error}")


@jobs.command("show")
@click.argument("job_id")
@click.option("--tenant", "tenant_slug", required=True)
@with_database
def show(job_id: str, tenant_slug: str) -> None:
    """Show one job as JSON."""
    job = job_records.get_job(_tenant_id(tenant_slug), job_id)
    click.echo(json.dumps({**job_records.public_view(job), "args": job.args}, indent=2))


@jobs.command("retry")
@click.argument("job_id")
@click.option("--tenant", "tenant_slug", required=True)
@click.option("--dry-run", is_flag=True, help="Say what would happen; change nothing.")
@with_database
def retry(job_id: str, tenant_slug: str, dry_run: bool) -> None:
    """Send a failed job to the workers again, as a new attempt."""

    tenant_id = _tenant_id(tenant_slug)
    if dry_run:
        # Answers as the real retry would, exit status included, and writes nothing.
        job = job_records.get_job(tenant_id, job_id)
        if job.state != "failed":
            raise click.ClickException(
                f"Only failed jobs can be retried; this one is {job.state}. (dry run)")
        click.echo(f"job {job.id} would be queued again (attempt {job.attempts + 1}) (dry run)")
        return
    job = retry_job(tenant_id, job_id)
    click.echo(f"job {job.id} queued again (attempt {job.attempts + 1})")


@jobs.command("cancel")
@click.argument("job_id")
@click.option("--tenant", "tenant_slug", required=True)
@click.option("--force", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, help="Say what would happen; change nothing.")
@with_database
def cancel(job_id: str, tenant_slug: str, force: bool, dry_run: bool) -> None:
    """Cancel a queued or running job."""
    tenant_id = _tenant_id(tenant_slug)
    # Look first, so that nobody is asked to confirm cancelling a missing or finished job.
    current = job_records.get_job(tenant_id, job_id)
    if current.state in job_records.FINISHED:
        raise click.ClickException(f"The job has already finished ({current.state}).")
    if dry_run:
        click.echo(f"job {current.id} ({current.kind}, {current.state}) would be cancelled (dry run)")
        return
    if not force:
        click.confirm(f"Cancel job {current.id} ({current.kind}, {current.state})?", abort=True)
    job = update_job(job_records.request_cancel, tenant_id, job_id)
    click.echo(f"job {job.id} is {job.state}" + (" (stopping)" if job.state == "running" else ""))


@jobs.command("restore-hot-state")
@with_database
def restore() -> None:
    """After losing Redis: put every unfinished job back into Redis from MongoDB (jobs
    that Redis still has are kept), and number new changes above the stored ones.
    Run it before web, workers and beat start again; running it twice is harmless."""
    outcome = restore_hot_state()
    click.echo(f"{outcome['restored']} unfinished jobs restored into Redis; "
               f"new changes are numbered above {outcome['sequence']}")
