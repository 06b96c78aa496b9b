"""The command line: the one composition root that builds and passes everything down."""

from __future__ import annotations

import csv
import functools
import gc
import io
import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, closing, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click
import orjson

from monitor import redact, registries
from monitor.config import LIVE, Config, load_config
from monitor.detection import PoolDetector
from monitor.english import count
from monitor.errors import (
    ConfigError,
    DeliveryError,
    LockHeldError,
    SourceError,
    TrialmonError,
    UsageError,
)
from monitor.lock import RunLock, daemon_lock_path, run_lock_path
from monitor.models import CATEGORIES, FILES_SOURCE, SEVERITIES, Item, RunReport
from monitor.notify.channel import Channel
from monitor.notify.channels import CHANNELS
from monitor.notify.outbox import Outbox
from monitor.pipeline import Cycle, missing_watched, run_cycle
from monitor.progress import progress
from monitor.signals import stop_on_signals
from monitor.sources.fileread import gc_paused
from monitor.sources.files import iter_records
from monitor.store import Store, health
from monitor.summary import notified
from monitor.textsafe import PrintableRecords, json_safe, printable
from monitor.times import iso, now_utc

# What `run --source DIR` does not need is imported by the commands that do (the daemon, the
# HTTP client, the views, the report, rich): a cron run over a directory starts ~0.2 s sooner.
if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.progress import Progress, TaskID

    from monitor.backfill import BackfillReport, StudyResult
    from monitor.registries.base import JsonGetter

log = logging.getLogger("monitor")
F = TypeVar("F", bound=Callable[..., Any])
# Batches an offline cycle reads (and has detected) ahead of the one it writes, within one
# batch's bytes (``pipeline.too_far_ahead``): a daily cycle's ~10 changed records a batch keep
# the workers busy only several batches deep (benchmarks/README.md).
FILES_AHEAD = 8


@dataclass
class Context:
    config_path: str | None
    db_path: str | None
    verbose: int

    @functools.cached_property
    def config(self) -> Config:
        config = load_config(self.config_path)
        if self.db_path:
            config = replace(config, database=Path(self.db_path))
        redact.register(config_secrets(config))
        return config

    def store(self, *, create: bool = False) -> Store:
        """The database, closed when the command ends; only ``create=True`` (commands that
        write: backfill) creates a missing one, query commands never do."""
        store = open_store(self.config, create=create)
        return click.get_current_context().with_resource(closing(store))


def open_store(config: Config, *, create: bool = True) -> Store:
    """The database, upgraded with what the registries know if an older trialmon made it;
    ``create=False``: a missing one is an error (query commands)."""
    opener = Store.open if create else Store.open_existing
    return opener(config.database, registries.upgrades())


def config_secrets(config: Config) -> set[str]:
    """What must never be printed: what each channel's section says is secret (the credential
    parts of Apprise URLs, the SMTP password)."""
    channels = config.notify.channels
    return {s for kind, spec in CHANNELS.items() for s in spec.secrets(channels[kind])}


def fail(code: int, message: str, verbose: int) -> NoReturn:
    if verbose:
        click.echo(redact.redacted_traceback(), err=True, nl=False)
    click.echo(f"trialmon: {printable(redact.redact(message))}", err=True)
    sys.exit(code)


def handle_errors(func: F) -> F:
    """Turn trialmon's errors into a plain message and the contract's exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        verbose = click.get_current_context().find_object(Context)
        level = verbose.verbose if verbose else 0
        try:
            return func(*args, **kwargs)
        except (ConfigError, UsageError) as e:
            fail(2, str(e), level)
        except TrialmonError as e:
            fail(1, str(e), level)
        except KeyboardInterrupt:
            fail(130, "interrupted", level)
        except BrokenPipeError:  # `trialmon changes | head`: the reader has seen enough
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except Exception as e:  # a damaged database file, or a bug: one plain line unless -v
            if health.is_damage(e):  # a command that read a damaged page (SQLite's words)
                fail(1, health.damaged(verbose.config.database if verbose else "?", str(e)), level)
            fail(1, f"internal error: {type(e).__name__}: {e} (run with -v for details)", level)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", metavar="PATH", help="config.toml to use.")
@click.option("--db", "db_path", metavar="PATH", help="SQLite database (overrides `database`).")
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="More detail on stderr (-vv debug, -vvv also the libraries' debug lines).",
)
@click.version_option(package_name="trialmon", prog_name="trialmon")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, db_path: str | None, verbose: int) -> None:
    """Watch clinical-trial registry records and report what changed."""
    configure_logging(verbose)
    ctx.obj = Context(config_path, db_path, verbose)


def configure_logging(verbose: int) -> None:
    """Messages on stderr: trialmon's at the verbosity asked, other libraries' warnings only
    (their debug lines from -vvv). Every handler redacts secrets and escapes control characters.
    """
    levels = [logging.WARNING, logging.INFO, logging.DEBUG, logging.DEBUG]
    logging.basicConfig(
        level=logging.DEBUG if verbose >= 3 else logging.WARNING,
        format="trialmon: %(message)s" if not verbose else "%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("monitor").setLevel(levels[min(verbose, 3)])
    for handler in logging.getLogger().handlers:
        for kind in (redact.RedactedRecords, PrintableRecords):
            if not any(isinstance(f, kind) for f in handler.filters):
                handler.addFilter(kind())


pass_context = click.make_pass_decorator(Context)


# ---------------------------------------------------------------- run


def build_notifiers(config: Config) -> list[Channel]:
    """The enabled channels, in the table's order; one that cannot work (no password, no
    apprise) is a ConfigError."""
    sections = config.notify.channels
    return [
        spec.build(sections[kind], config.watch)
        for kind, spec in CHANNELS.items()
        if sections[kind].enabled
    ]


def build_outbox(config: Config, store: Store, notifiers: list[Channel] | None = None) -> Outbox:
    """The outbox every cycle driver (run, daemon) should use: it carries the [notify] limits."""
    notify = config.notify
    if notifiers is None:
        notifiers = build_notifiers(config)
    return Outbox(store, notifiers, notify.max_attempts, notify.alert_after_failures)


def offline_items(config: Config, directory: Path, store: Store | None = None) -> Iterator[Item]:
    watched = config.watch.studies
    known = store.source_hashes if store is not None else None
    # Moved records are read on the workers that detect them (``Deferred``), but with a watch
    # list: a watched record found unreadable must be known here, before the watched studies
    # no file held are named.
    shapes = registries.offline_shapes()
    items: Iterable[Item] = iter_records(directory, watched, known, shapes, defer=not watched)
    if watched:
        items = missing_watched(items, watched, str(directory))
    return iter(items)


def live_kinds(source: str, config: Config) -> tuple[str, ...] | None:
    """The registries a live cycle over ``source`` asks; None when it names no live source.

    What the config watches in a registry the source leaves out is named in a warning.
    """
    if source != LIVE and source not in registries.REGISTRIES:
        return None
    from monitor.sources import live  # httpx: only for a live cycle

    kinds = live.kinds(config, source) or ()
    skipped = live.uncovered(config, kinds)
    if skipped:
        log.warning(
            'not checked in this cycle: %s; source "%s" asks only %s (source = "%s" asks '
            "every registry with something watched)",
            "; ".join(skipped),
            source,
            registries.get(source).title,  # only a one-registry source leaves any out
            LIVE,
        )
    return kinds


def live_items(
    config: Config, kinds: tuple[str, ...], store: Store, now: datetime, force: bool
) -> Iterator[Item]:
    """Every chosen registry's items; each registry's httpx client lives as long as its part."""
    from monitor.sources import live

    yield from live.items(config, kinds, store, now=now, force=force)


def source_items(
    config: Config,
    source: str,
    *,
    store: Store | None = None,
    now: datetime | None = None,
    force: bool = False,
) -> tuple[str, Iterator[Item]]:
    """The run's source name (``runs.source``) and its items."""
    kinds = live_kinds(source, config)
    if kinds is not None:
        if store is None:
            raise UsageError("the live source needs the database (internal: pass store=)")
        name = "+".join(kinds) or LIVE
        return name, live_items(config, kinds, store, now or now_utc(), force)
    directory = Path(source)
    if not directory.is_dir():
        names = ", ".join(f'"{name}"' for name in (LIVE, *registries.kinds()))
        raise UsageError(f"--source: {source!r} is neither {names} nor a directory")
    return FILES_SOURCE, offline_items(config, directory, store)


def newsworthy(report: RunReport) -> bool:
    """What ``run --quiet`` speaks up for: a recorded change, a failure, an undelivered digest."""
    return bool(report.changes or report.errors or report.deliveries_failed)


def summary_line(report: RunReport, floors: Mapping[str, str] | None = None) -> str:
    """``Checked 3 studies: ...; 4 changes recorded: 3 notified, 1 not (administrative)``.

    ``floors``: each enabled channel's ``min_severity`` (None: say nothing of notifying).
    """
    others = report.failed_requests  # a saved search, a file without a study: said on stderr
    failed = f"; {count(others, 'other error')}" if others else ""
    fate = notified([change for _, change in report.changes], floors)
    return (
        f"Checked {count(report.checked, 'study')}: {report.new} new, {report.changed} changed, "
        f"{report.unchanged} unchanged, {report.failed} failed{failed}; "
        f"{fate} (run {report.run_id}, {report.status})."
    )


def channel_floors(notifiers: Iterable[Channel]) -> dict[str, str]:
    return {n.channel: n.min_severity for n in notifiers}


def config_name(config: Config) -> str:
    """The config as the database knows its keeper: its file's absolute path."""
    return str(config.path.resolve()) if config.path else "(no config file: the defaults)"


def claim_database(config: Config, store: Store, now: datetime, take_over: bool) -> None:
    """Refuse a database another config keeps (ConfigError), unless taking it over.

    One database serves one config (see :mod:`monitor.store.owner`): the first cycle on a
    database makes its config the keeper.
    """
    other = store.claim(config_name(config), iso(now), take_over=take_over)
    if other is None:
        return
    if take_over:
        log.warning("took the database %s over from the config %s", config.database, other.config)
        return
    raise ConfigError(kept_by_another(config, other.config, other.since))


def kept_by_another(config: Config, other: str, since: str) -> str:
    mine = config_name(config)
    return (
        f"database {str(config.database)!r} is kept by the config {other} (since {since}), "
        f"not by this one ({mine}). One database serves one config: the registries' "
        "bookkeeping in it (the data release seen, saved searches), its pending digests and "
        "the runs a crash left belong to that config; a second one would miss changes and "
        "send the other's digests. Give this config a database of its own (`database`, or "
        "--db; `trialmon backfill --all` then imports its studies' earlier versions), or, if "
        "that config moved here, take the database over once: `trialmon run --take-over` "
        "(or `daemon --take-over`)"
    )


def one_cycle(
    config: Config,
    source: str,
    should_stop: Callable[[], bool],
    on_progress: Callable[[int], None] = lambda steps: None,
    notifiers: list[Channel] | None = None,
    *,
    force: bool = False,
    take_over: bool = False,
) -> RunReport:
    """One cycle over ``source``, shared by ``run`` and ``daemon`` (the caller holds the lock)."""
    if notifiers is None:
        notifiers = build_notifiers(config)  # a channel that cannot work: before any work
    path = Path(config.database)
    unchecked = health.check_due(path)  # before the store opens: opening may write
    store = open_store(config)
    detector = PoolDetector()
    try:
        if unchecked is None:  # a damaged file is refused before anything is written to it
            store.check()
        now = now_utc()
        claim_database(config, store, now, take_over)
        name, items = source_items(config, source, store=store, now=now, force=force)
        outbox = build_outbox(config, store, notifiers)
        cycle = Cycle(
            store=store,
            rules=config.changes,
            now=now,
            source_name=name,
            outbox=outbox,
            should_stop=should_stop,
            on_progress=on_progress,
            detector=detector,
            ahead=FILES_AHEAD
            if name == FILES_SOURCE
            else 0,  # the offline source reads no store as it yields
        )
        frozen()
        # An offline cycle makes no reference cycles (a first one over 20,000 files left none;
        # with the collector on, its ~4,200 collections freed 636 objects): no collector,
        # which would rescan each parsed record as it lives on into detection and the store.
        with gc_paused() if name == FILES_SOURCE else nullcontext():
            report = run_cycle(cycle, items)
    finally:
        detector.close()
        store.close()
    health.seal(path, unchecked or 0)  # a cycle that ended cleanly: the file as it left it
    return report


def frozen() -> None:
    """What start-up allocated (modules, the config) is never garbage: the cyclic GC stops
    scanning it, and forked workers share its pages (``gc.freeze``, once per process)."""
    if not gc.get_freeze_count():
        gc.freeze()


@cli.command()
@click.option(
    "--source",
    "source_opt",
    metavar="|".join((LIVE, *registries.kinds(), "DIR")),
    help="Where records come from: every registry's API, one registry's, or a directory.",
)
@click.option("--force", is_flag=True, help="Check the registry even when it released no new data.")
@click.option(
    "-q", "--quiet", is_flag=True, help="Print nothing unless something changed or failed (cron)."
)
@click.option(
    "--take-over",
    is_flag=True,
    help="Make this config the keeper of a database another config kept (a config that moved).",
)
@pass_context
@handle_errors
def run(ctx: Context, source_opt: str | None, force: bool, quiet: bool, take_over: bool) -> None:
    """Run one monitoring cycle and print a summary.

    When another cycle holds the run lock (the daemon, or an earlier cron run still going),
    it says so on stderr (not with --quiet) and exits 0 without touching the database.
    """
    config = ctx.config
    notifiers = build_notifiers(config)  # a channel that cannot work is refused before any work
    stop = take_run_lock(config, quiet=quiet)
    if stop is None:
        return
    with progress("Checking studies", total=len(config.watch.studies) or None) as advance:
        report = one_cycle(
            config,
            source_opt or config.source,
            stop.is_set,
            advance,
            notifiers,
            force=force,
            take_over=take_over,
        )
    # each failure was already logged on stderr as it happened
    if not quiet or newsworthy(report):
        click.echo(summary_line(report, channel_floors(notifiers)))
    if report.errors and report.checked == report.failed:
        first = report.errors[0].message
        raise SourceError(f"nothing could be checked: every request or record failed ({first})")
    if report.deliveries_failed and not report.deliveries_sent:
        raise DeliveryError("no notification of this cycle could be delivered (kept pending)")


# ---------------------------------------------------------------- history, diff, changes


def trial_argument(value: str) -> str:
    """A trial id given on the command line, in its stored form (any registry's)."""
    try:
        return registries.trial_id(value, "TRIAL_ID")
    except ConfigError as e:
        raise UsageError(str(e)) from e


FORMATS = ("text", "json", "ndjson")


def echo_json(value: Any, fmt: str = "json") -> None:
    """``json``: one indented document. ``ndjson``: an array as one compact object per line
    (for jq and ``sqlite-utils insert --nl``), an object as one line."""
    if fmt != "ndjson":
        click.echo(json_safe(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()))
        return
    for item in value if isinstance(value, list) else [value]:
        click.echo(json_safe(orjson.dumps(item).decode()))


def show(rich_view: Callable[[], RenderableType], lines: Iterable[str]) -> None:
    """A rich table on a terminal, plain lines when stdout is piped or redirected."""
    from monitor import render

    console = render.terminal()
    if console is not None:
        console.print(rich_view())
        return
    for line in lines:
        click.echo(printable(line))


@cli.command()
@click.argument("trial_id")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text")
@pass_context
@handle_errors
def history(ctx: Context, trial_id: str, fmt: str) -> None:
    """The stored versions of one study and the changes between them, oldest first."""
    from monitor import render, views

    wanted = trial_argument(trial_id)
    data = views.history(ctx.store(), wanted)
    if fmt != "text":
        echo_json(data, fmt)
        return
    show(lambda: render.history_table(data), render.history_lines(data))


@cli.command()
@click.argument("trial_id")
@click.option("--from", "from_id", type=int, metavar="ID", help="Older snapshot id.")
@click.option("--to", "to_id", type=int, metavar="ID", help="Newer snapshot id.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text")
@pass_context
@handle_errors
def diff(ctx: Context, trial_id: str, from_id: int | None, to_id: int | None, fmt: str) -> None:
    """The classified change report between two stored snapshots (default: the last two)."""
    from monitor import render, views

    nct = trial_argument(trial_id)
    old, new, found = views.diff(ctx.store(), nct, from_id, to_id, ctx.config.changes)
    if fmt != "text":
        echo_json(
            [
                {**c.__dict__, "from_snapshot_id": old["id"], "to_snapshot_id": new["id"]}
                for c in found
            ],
            fmt,
        )
        return
    header = render.diff_header(nct, old, new)
    show(lambda: render.diff_table(header, found), render.diff_lines(header, found))


CSV_COLUMNS = [
    "id",
    "trial_id",
    "registry",
    "detected_at",
    "category",
    "field",
    "severity",
    "summary",
    "old_value",
    "new_value",
    "from_snapshot_id",
    "to_snapshot_id",
    "run_id",
]


# A spreadsheet runs a cell starting with one of these as a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
NUMBER_RE = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def spreadsheet_safe(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula, with a leading ``'`` (OWASP).

    Plain numbers (``-47``, a JSON value) stay as they are: they cannot hold a formula.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return value if NUMBER_RE.fullmatch(value) else "'" + value
    return value


def to_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n"
    )
    writer.writeheader()
    for row in rows:
        cells = {k: printable(v) if isinstance(v, str) else v for k, v in row.items()}
        for key in ("old_value", "new_value"):
            cells[key] = json_safe(orjson.dumps(row[key]).decode())
        writer.writerow({key: spreadsheet_safe(value) for key, value in cells.items()})
    return buffer.getvalue()


@cli.command()
@click.option("--since", metavar="WHEN", help="7d, 12h or an ISO date.")
@click.option("--study", metavar="TRIAL_ID", help="Only this study.")
@click.option("--category", type=click.Choice(CATEGORIES), help="Only this category.")
@click.option("--min-severity", type=click.Choice(SEVERITIES), help="Only this severity or higher.")
@click.option("--format", "fmt", type=click.Choice((*FORMATS, "csv")), default="text")
@pass_context
@handle_errors
def changes(
    ctx: Context,
    since: str | None,
    study: str | None,
    category: str | None,
    min_severity: str | None,
    fmt: str,
) -> None:
    """Recorded changes across all studies, newest first."""
    from monitor import render, views

    bound = views.parse_since(since, now_utc()) if since else None
    wanted = trial_argument(study) if study else None
    rows = views.changes(
        ctx.store(),
        since=bound,
        study=wanted,
        category=category,
        min_severity=min_severity,
    )
    if fmt in ("json", "ndjson"):
        echo_json(rows, fmt)
    elif fmt == "csv":
        click.echo(to_csv(rows), nl=False)
    else:
        show(lambda: render.changes_table(rows), render.changes_lines(rows))


# ---------------------------------------------------------------- studies, report


@cli.command()
@click.option("--failing", is_flag=True, help="Only studies whose last checks failed.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text")
@pass_context
@handle_errors
def studies(ctx: Context, failing: bool, fmt: str) -> None:
    """Each watched or known study: status, last checked, last changed, any failure."""
    from monitor import render, views

    rows = views.studies(ctx.store(), ctx.config.watch.studies, failing=failing)
    if fmt != "text":
        echo_json(rows, fmt)
        return
    show(lambda: render.studies_table(rows), render.studies_lines(rows))


@cli.command("report")
@click.argument("trial_ids", nargs=-1, required=True, metavar="TRIAL_ID...")
@click.option(
    "--html",
    "html_path",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Where to write the self-contained HTML page.",
)
@click.option(
    "--min-severity",
    type=click.Choice(SEVERITIES),
    default="minor",
    show_default=True,
    help="List changes of this severity or higher (info: the administrative ones too).",
)
@pass_context
@handle_errors
def report_command(
    ctx: Context, trial_ids: tuple[str, ...], html_path: Path, min_severity: str
) -> None:
    """An HTML page with status timeline, date-slippage chart and change list."""
    from monitor.report import build_report, write_report

    wanted = list(dict.fromkeys(trial_argument(n) for n in trial_ids))
    store = ctx.store()
    known = [n for n in wanted if store.study(n) is not None]
    missing = [n for n in wanted if n not in known]
    if not known:
        raise UsageError(f"{', '.join(missing)}: not in the database (run `trialmon run` first)")
    for trial_id in missing:  # one unknown id does not cost the others their page
        click.echo(f"trialmon: {trial_id} is not in the database: left out of the page", err=True)
    page = build_report(store, known, generated_at=now_utc(), min_severity=min_severity)
    write_report(html_path, page)
    left_out = f"; {len(missing)} not in the database" if missing else ""
    click.echo(f"Wrote {html_path} ({count(len(known), 'study')}{left_out}).")


# ---------------------------------------------------------------- daemon and status


def take_run_lock(config: Config, *, quiet: bool = False) -> threading.Event | None:
    """Hold the run lock (and catch SIGTERM/SIGINT) until the command ends.

    Returns the stop event a signal sets, or None after saying (unless ``quiet``) that
    another cycle runs: the caller then exits 0 without touching the database, so cron mails
    no error.
    """
    ctx = click.get_current_context()
    try:
        ctx.with_resource(RunLock(run_lock_path(config.database), command="run"))
    except LockHeldError as e:
        if not quiet:
            click.echo(f"trialmon: skipped, nothing done: {e}", err=True)
        return None
    return ctx.with_resource(stop_on_signals(threading.Event()))


def daemon_logging(verbose: int) -> None:
    """Cycle summaries are INFO; timestamps unless journald adds its own."""
    if not verbose:
        logging.getLogger("monitor").setLevel(logging.INFO)
    if "JOURNAL_STREAM" not in os.environ:
        stamp = "%(asctime)s " + ("trialmon: " if not verbose else "%(levelname)s %(name)s: ")
        for handler in logging.getLogger().handlers:
            handler.setFormatter(logging.Formatter(stamp + "%(message)s", "%Y-%m-%dT%H:%M:%S%z"))


def daemon_cycle(config: Config, stop: threading.Event, notifiers: list[Channel]) -> None:
    """One scheduled cycle under the run lock; a cycle held by someone else is skipped."""
    try:
        with RunLock(run_lock_path(config.database), command="daemon"):
            report = one_cycle(config, config.source, stop.is_set, notifiers=notifiers)
    except LockHeldError as e:
        log.warning("cycle skipped: %s", e)
        return
    log.info("%s", summary_line(report, channel_floors(notifiers)))
    for error in report.errors:
        log.warning("  failed: %s", error.message)


def record_next(config: Config, when: datetime | None) -> None:
    from monitor import status as status_report

    store = open_store(config)
    try:
        store.set_meta(status_report.NEXT_CYCLE_KEY, iso(when) if when else "")
    finally:
        store.close()


def record_schedule(config: Config, take_over: bool = False) -> None:
    """Create/migrate the database once, before cycles and listeners open it from threads; a
    database another config keeps is refused here, at start (unless taken over)."""
    from monitor import schedule
    from monitor import status as status_report

    store = open_store(config)
    try:
        claim_database(config, store, now_utc(), take_over)
        store.set_meta(status_report.SCHEDULE_KEY, schedule.describe(config.schedule))
        store.set_meta(status_report.NEXT_CYCLE_KEY, "")
    finally:
        store.close()


@cli.command()
@click.option("--wait", is_flag=True, help="Wait for the first scheduled time (no cycle at start).")
@click.option(
    "--take-over",
    is_flag=True,
    help="Make this config the keeper of a database another config kept (a config that moved).",
)
@pass_context
@handle_errors
def daemon(ctx: Context, wait: bool, take_over: bool) -> None:
    """Run monitoring cycles on [schedule] until SIGTERM or SIGINT.

    One cycle at a time, also with a `trialmon run` started by cron (they share the run
    lock). A stop request ends the running cycle before its next study, and exits 0.
    """
    from monitor import schedule

    config = ctx.config
    notifiers = build_notifiers(config)  # a channel that cannot work: refused at start
    daemon_logging(ctx.verbose)
    lock = RunLock(daemon_lock_path(config.database), command="daemon", what="daemon")
    with lock, stop_on_signals(threading.Event()) as stop:
        record_schedule(config, take_over)
        log.info("daemon started (pid %s): %s", os.getpid(), schedule.describe(config.schedule))
        schedule.run_daemon(
            config.schedule,
            lambda: daemon_cycle(config, stop, notifiers),
            stop,
            wait=wait,
            on_next=lambda when: record_next(config, when),
        )
    log.info("daemon stopped")


@cli.command("status")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text")
@click.option(
    "--check",
    is_flag=True,
    help="Exit 1 when the daemon is not running or its last cycle checked nothing (healthcheck).",
)
@pass_context
@handle_errors
def status_command(ctx: Context, fmt: str, check: bool) -> None:
    """Whether the daemon runs and when its next cycle is, the last cycle, what needs care."""
    from monitor import status as status_report

    data = status_report.status(ctx.config, ctx.store())
    if fmt != "text":
        echo_json(data, fmt)
    else:
        click.echo(status_report.render_text(data))
    problem = status_report.unhealthy(data) if check else None
    if problem:
        raise TrialmonError(f"unhealthy: {problem}")


# ---------------------------------------------------------------- notify


@cli.command()
@click.option("--test", "test", is_flag=True, help="Send a test message.")
@click.argument("channel", required=False, type=click.Choice(list(CHANNELS)))
@pass_context
@handle_errors
def notify(ctx: Context, test: bool, channel: str | None) -> None:
    """Send a test message through each enabled channel (or only CHANNEL) and say what happened.

    Every registered channel is listed: the enabled ones with the outcome of their test.
    """
    if not test:
        raise UsageError("say what to do: trialmon notify --test [CHANNEL]")
    chosen = [n for n in build_notifiers(ctx.config) if channel in (None, n.channel)]
    if not chosen:
        which = f"[notify.{channel}]" if channel else "no [notify.*] section"
        raise UsageError(f"{which} is not enabled in the configuration")
    enabled = {n.channel for n in chosen}
    for kind in CHANNELS:
        if channel is None and kind not in enabled:
            click.echo(f"{kind}: not enabled ([notify.{kind}] enabled = false)")
    failures = sum(send_test(notifier) for notifier in chosen)
    if failures:
        raise DeliveryError(f"{failures} test message(s) could not be delivered")


def send_test(notifier: Channel) -> int:
    """Send the test message on one channel, print the outcome; returns the failures."""
    from monitor.notify.digest import make_test_digest

    failures = 0
    for part in notifier.split(make_test_digest(iso(now_utc()))):
        try:
            notifier.send(part)
        except DeliveryError as e:
            failures += 1
            click.echo(printable(f"{notifier.channel}: FAILED {notifier.describe(part)}: {e}"))
        else:
            click.echo(f"{notifier.channel}: sent {notifier.describe(part)}")
    return failures


# ---------------------------------------------------------------- backfill


class BackfillBar:
    """Versions done of total, one bar per study, on a terminal only (stderr)."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.bar: Progress | None = None
        if console.is_terminal:
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
            self.bar = Progress(*columns, console=console, transient=True)
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> BackfillBar:
        if self.bar:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar:
            self.bar.stop()

    def __call__(self, trial_id: str, done: int, total: int) -> None:
        if self.bar is None:
            return
        if trial_id not in self.tasks:
            self.tasks[trial_id] = self.bar.add_task(f"{trial_id} versions", total=total)
        self.bar.update(self.tasks[trial_id], completed=done, total=total)


def backfill_ids(ctx: Context, store: Store, ids: tuple[str, ...], every: bool) -> list[str]:
    """The studies to backfill: the ones named, and with --all every watched or stored one."""
    if not ids and not every:
        raise UsageError("backfill: name one or more TRIAL_IDs, or use --all")
    chosen = [trial_argument(i) for i in ids]
    if every:
        chosen += [*ctx.config.watch.studies, *store.known_studies()]
    return list(dict.fromkeys(chosen))


def study_line(result: StudyResult) -> str:
    if result.error is not None:
        return f"{result.trial_id}: failed: {result.error.message}"
    if not result.versions:
        return f"{result.trial_id}: no record history in the registry"
    parts = [count(result.versions, "version"), f"{result.stored} stored"]
    for number, label in (
        (result.same, "identical to the version before"),
        (result.already, "already imported"),
        (result.left, "left to live monitoring"),
    ):
        if number:
            parts.append(f"{number} {label}")
    return f"{result.trial_id}: {', '.join(parts)}; {count(result.changes, 'change')}"


def history_clients(config: Config, ids: list[str], stack: ExitStack) -> dict[str, JsonGetter]:
    """Per registry of ``ids`` that keeps a record history, the same HTTP layer as its live
    source (its base URL, rate limiter, retries and errors); the clients close with ``stack``."""
    from monitor.http import build_client, polite

    clients: dict[str, JsonGetter] = {}
    for kind in registries.by_registry(ids):
        if registries.get(kind).history() is None:
            continue
        section = config.registries[kind]
        client = stack.enter_context(build_client(section.base_url, section.timeout))
        clients[kind] = polite(client, section)
    return clients


@cli.command()
@click.argument("trial_ids", nargs=-1, metavar="TRIAL_ID...")
@click.option("--all", "every", is_flag=True, help="Every watched study and every stored one.")
@pass_context
@handle_errors
def backfill(ctx: Context, trial_ids: tuple[str, ...], every: bool) -> None:
    """Import studies' earlier versions from the registry's record history.

    Each version becomes a snapshot dated by the version's date, and the changes between
    versions are classified like live ones (never notified). Running it again stores nothing
    new; an interrupted backfill continues where it stopped.
    """
    from monitor.backfill import Backfill, run_backfill
    from monitor.progress import stderr_console

    config = ctx.config
    click.get_current_context().with_resource(
        RunLock(run_lock_path(config.database), command="backfill")
    )
    store = ctx.store(create=True)
    store.check()
    ids = backfill_ids(ctx, store, trial_ids, every)
    stop = click.get_current_context().with_resource(stop_on_signals(threading.Event()))
    with ExitStack() as stack, BackfillBar(stderr_console()) as bar:
        clients = history_clients(config, ids, stack)
        bf = Backfill(store, None, config.changes, now_utc(), bar, clients=clients)
        bf.should_stop = stop.is_set
        report = run_backfill(bf, ids)
    report_backfill(report)
    watch_hint(report, config.watch.studies)


def watch_hint(report: BackfillReport, watched: Sequence[str]) -> None:
    """Imported studies that are not watched: their past is stored, nothing checks them next."""
    unwatched = [r.trial_id for r in report.studies if r.stored and r.trial_id not in watched]
    if unwatched:
        ids = " ".join(unwatched)
        click.echo(f"Not watched (their history stays as imported): trialmon watch add {ids}")


def report_backfill(report: BackfillReport) -> None:
    for result in report.studies:
        click.echo(printable(study_line(result)), err=result.error is not None)
    run = report.run
    stored = sum(r.stored for r in report.studies)
    click.echo(
        f"Backfilled {count(run.checked, 'study')}: "
        f"{count(stored, 'version')} stored, "
        f"{count(len(run.changes), 'change')} recorded, {run.failed} failed "
        f"(run {run.run_id}, {run.status})."
    )
    if report.studies and all(r.error for r in report.studies):
        raise SourceError("no study could be backfilled: every study failed")


# ---------------------------------------------------------------- feed


@cli.command("feed")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The Atom file to write (replaced in one step).",
)
@click.option(
    "--since", default="30d", show_default=True, metavar="WHEN", help="7d, 12h or an ISO date."
)
@click.option("--min-severity", type=click.Choice(SEVERITIES), default="minor", show_default=True)
@click.option("--study", metavar="TRIAL_ID", help="Only this study.")
@pass_context
@handle_errors
def feed_command(
    ctx: Context, output: Path, since: str, min_severity: str, study: str | None
) -> None:
    """Write an Atom feed of recorded changes: one entry per study and cycle."""
    from monitor import feed, paths, views

    now = now_utc()
    bound = views.parse_since(since, now)
    wanted = trial_argument(study) if study else None
    store = ctx.store()
    rows = views.changes(store, since=bound, study=wanted, min_severity=min_severity)
    found = feed.entries(rows, views.titles(store, {r["trial_id"] for r in rows}))
    installation = store.first_run_started() or str(ctx.config.database.resolve())
    subtitle = f"Changes since {bound}, {min_severity} and above" + (
        f", {wanted}" if wanted else ""
    )
    data = feed.atom(found, installation=installation, generated_at=iso(now), subtitle=subtitle)
    paths.write_atomic(output, data)
    click.echo(f"Wrote {output} ({len(found)} {'entry' if len(found) == 1 else 'entries'}).")


# ---------------------------------------------------------------- init, watch


@cli.command()
@click.option("--force", is_flag=True, help="Replace an existing config file.")
@pass_context
@handle_errors
def init(ctx: Context, force: bool) -> None:
    """Write a commented starter config (in the user's config folder, or at --config PATH)."""
    from monitor import paths, watchlist

    target = paths.init_target(ctx.config_path)
    watchlist.write_starter(target.path, force=force)
    click.echo(f"Wrote {target.path}")
    if target.in_user_folder and paths.find_config().origin == paths.WORKING_FOLDER:
        click.echo("Note: ./config.toml in this folder is read instead while you work here.")
    click.echo("Next: trialmon watch add TRIAL_ID..., then trialmon run")


@cli.group()
def watch() -> None:
    """Show or edit the watched studies ([watch] studies), keeping the file's comments."""


def watch_file(ctx: Context) -> Path:
    """The config the lookup finds; a missing one is created from the starter first."""
    from monitor import paths, watchlist

    path = paths.find_config(ctx.config_path).path
    if not path.exists():
        watchlist.write_starter(path)
        click.echo(f"Created {path} (a starter config, see `trialmon init`)", err=True)
    return path


@watch.command("add")
@click.argument("ids", nargs=-1, required=True, metavar="ID...")
@pass_context
@handle_errors
def watch_add(ctx: Context, ids: tuple[str, ...]) -> None:
    """Watch these studies (trial ids of any registry: NCT06009107 ...)."""
    from monitor import watchlist

    wanted = watchlist.trial_ids(ids)  # a bad id is refused before any file is touched
    path = watch_file(ctx)
    edit = watchlist.add(path, wanted)
    if edit.unchanged:
        click.echo(f"Already watched: {', '.join(edit.unchanged)}", err=True)
    click.echo(f"Watching {count(len(edit.watched), 'study')} ({path}).")


@watch.command("remove")
@click.argument("ids", nargs=-1, required=True, metavar="ID...")
@pass_context
@handle_errors
def watch_remove(ctx: Context, ids: tuple[str, ...]) -> None:
    """Stop watching these studies (their stored history stays in the database)."""
    from monitor import paths, watchlist

    wanted = watchlist.trial_ids(ids)
    path = paths.find_config(ctx.config_path).path
    edit = watchlist.remove(path, wanted) if path.exists() else watchlist.Edit((), (*wanted,), ())
    if edit.unchanged:
        click.echo(f"Not watched: {', '.join(edit.unchanged)}", err=True)
    click.echo(f"Watching {count(len(edit.watched), 'study')} ({path}).")


@watch.command("list")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text")
@pass_context
@handle_errors
def watch_list(ctx: Context, fmt: str) -> None:
    """The watched studies, one id per line."""
    studies = list(ctx.config.watch.studies)
    if fmt == "text":
        for trial_id in studies:
            click.echo(trial_id)
        return
    echo_json(studies, fmt)


@cli.command()
@click.argument("name", required=False)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write it to this file instead of stdout.",
)
@pass_context
@handle_errors
def example(ctx: Context, name: str | None, output: Path | None) -> None:
    """Print a file an installation needs (config, Datasette metadata, systemd units), adapted
    to this installation; without NAME, list them."""
    from monitor import examples, paths

    if name is None:
        click.echo(examples.listing())
        return
    database = ctx.config.database if name == "datasette-metadata.json" else Path("history.db")
    text = examples.render(name, database=database, executable=installed_executable())
    if output is None:
        click.echo(text, nl=False)
        return
    paths.write_atomic(output, text)
    click.echo(f"Wrote {output}")


def installed_executable() -> Path | None:
    """This installation's ``trialmon`` script (beside the interpreter), if it has one."""
    script = Path(sys.executable).parent / "trialmon"
    return script.absolute() if script.is_file() else None


def main() -> None:
    cli(prog_name="trialmon")
