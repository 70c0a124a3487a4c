"""The ``twin`` command line: run, compare, report and sweep scenarios; serve the API; run the demo.

User errors (bad files, bad values) print one line naming the file, field, value and what is valid,
and exit with status 2; they never show a traceback. Output piped into a reader that stops early
(``twin run ... | head``) ends the command quietly with status 141, as a command killed by SIGPIPE reports.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from twin.errors import TwinError
from twin.logrepeat import RepeatLimiter, uninstall
from twin.logrepeat import install as install_repeat_limiter

EXIT_USER_ERROR = 2
EXIT_BROKEN_PIPE = 128 + 13  # what a shell reports for a command ended by SIGPIPE


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if not args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    ours = not any(isinstance(f, RepeatLimiter) for h in logging.getLogger().handlers for f in h.filters)
    repeats = install_repeat_limiter()  # a flood of one error prints once, then a count (twin.logrepeat)
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a reader that closed the pipe shows here, not in the interpreter's flush at exit
        return code
    except TwinError as exc:
        print(f"twin: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader closed the pipe: nothing more can be shown. Point stdout at devnull so that the interpreter's
        # own flush at exit does not raise again (Python docs, signal module, "Note on SIGPIPE").
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_BROKEN_PIPE
    finally:
        repeats.flush()
        if ours:  # run in-process (tests, embedding): leave the caller's handlers as they were
            uninstall(repeats)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="twin", description="Smelter Twin: aluminium smelter digital twin")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a scenario and print its KPIs")
    run.add_argument("scenario", help="scenario file (TOML)")
    run.add_argument("--seed", type=int, help="override the scenario's seed")
    run.add_argument("--json", action="store_true", help="print the KPIs as JSON")
    run.add_argument("--out", help="write KPIs and time series (Parquet) into this directory")
    run.add_argument("--format", default="parquet", choices=("parquet", "csv"), help="time-series file format")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument(
        "--threads",
        type=int,
        default=1,
        help="share the potlines' kernel calls between this many threads (default 1; same results)",
    )
    run.set_defaults(func=_cmd_run)

    compare = sub.add_parser("compare", help="KPIs of two scenarios or result directories side by side")
    compare.add_argument("a", help="baseline: scenario file or results directory")
    compare.add_argument("b", help="variant: scenario file or results directory")
    compare.add_argument("--json", action="store_true", help="print the comparison as JSON")
    compare.add_argument(
        "--per-day", action="store_true", help="compare runs of different horizons per day (totals / days)"
    )
    compare.add_argument(
        "--seeds", type=int, metavar="N",
        help="run both scenario files for N seeds (the baseline's seed and the next N-1, each run by both) and show "
        "each KPI's difference over them: mean, range, and whether it is within the seeds' noise",
    )
    compare.set_defaults(func=_cmd_compare)

    report = sub.add_parser("report", help="HTML report with plots from a results directory")
    report.add_argument("results", help="results directory written by `twin run --out`")
    report.add_argument("--baseline", help="results directory of the baseline to compare with")
    report.add_argument(
        "--per-day", action="store_true", help="compare with a baseline of another horizon per day (totals / days)"
    )
    report.add_argument("-o", "--output", help="HTML file to write (default RESULTS/report.html)")
    report.set_defaults(func=_cmd_report)

    sweep = sub.add_parser("sweep", help="run a parameter grid or Monte-Carlo sweep")
    sweep.add_argument("sweep_file", help="sweep file (TOML)")
    sweep.add_argument("--workers", type=int, default=2, help="local worker processes (default 2)")
    sweep.add_argument("--scheduler", help="Dask scheduler address (tcp://host:8786)")
    sweep.add_argument("--dask-local", type=int, metavar="N", help="start a Dask LocalCluster with N workers")
    sweep.add_argument(
        "--out", help="results directory of Parquet parts, one per finished task (default runs/sweep-<file name>)"
    )
    sweep.add_argument("--resume", action="store_true", help="continue the sweep in --out: skip finished variants")
    sweep.add_argument(
        "--batch", type=int, metavar="N",
        help="variants per task (default: batches that shrink as the sweep runs, at most 32 variants a task)",
    )
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.set_defaults(func=_cmd_sweep)

    for name, helptext in (("serve", "API + ingest + live twin"), ("demo", "the whole chain on one machine")):
        cmd = sub.add_parser(name, help=helptext)
        cmd.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
        cmd.add_argument("--host", default="127.0.0.1", help="HTTP bind address")
        cmd.add_argument("--for", dest="duration", type=float, metavar="SECONDS", help="stop after this long")
        if name == "serve":
            cmd.add_argument("--config", required=True, help="service settings file (TOML)")
        else:
            cmd.add_argument("--pots", type=int, default=24, help="simulated pots (default 24)")
            cmd.add_argument("--speed", type=float, default=30.0, help="plant seconds per second (default 30)")
            cmd.add_argument("--broker", help="use this MQTT broker (HOST:PORT) instead of the embedded one")
            cmd.add_argument(
                "--store",
                default="duckdb://.twin/demo.duckdb",
                help="store URL: duckdb://relative/path, duckdb:///absolute/path or postgresql://...",
            )
        cmd.set_defaults(func=_cmd_service(name))
    from twin.optimise.cli import add_parser as add_optimise

    add_optimise(sub)
    return parser


def _progress_bar(enabled: bool) -> tuple[Callable[[float, float], None] | None, Callable[[], None]]:
    if not enabled:
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=100, unit="%", file=sys.stderr, disable=None, leave=False)

    def update(done_h: float, horizon_h: float) -> None:
        bar.n = round(100.0 * done_h / horizon_h, 1)
        bar.set_postfix_str(f"{done_h:.0f}/{horizon_h:.0f} h")
        bar.refresh()

    return update, bar.close


def _load_scenario(path: str, seed: int | None = None):  # returns Scenario (imported lazily)
    """The scenario file, read safely: a directory, a device such as /dev/zero, a FIFO, a huge or a
    non-UTF-8 file gives a one-line error naming it (twin_edge.configfile.read_text), never a hang."""
    from twin.errors import ScenarioError
    from twin.scenario import scenario_from_text
    from twin_edge.configfile import read_text

    text = read_text(path, ScenarioError)
    return scenario_from_text(text, str(path), base_dir=Path(path).parent, seed=seed)


def _cmd_run(args: argparse.Namespace) -> int:
    from twin.scenario import run_scenario
    from twin.scenario.results import prepare_directory

    if not 1 <= args.threads <= 64:
        raise TwinError(f"--threads = {args.threads} is invalid; expected an integer in [1, 64]")
    scenario = _load_scenario(args.scenario, seed=args.seed)
    if args.out:
        prepare_directory(args.out)  # a bad --out is an error before the run, not a traceback after it
    progress, close = _progress_bar(not args.no_progress and scenario.horizon_h >= 24)
    try:
        results = run_scenario(scenario, progress, threads=args.threads)
    finally:
        close()
    if args.out:
        results.save(args.out, fmt=args.format)
    for warning in results.meta.get("warnings", []):
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps({"scenario": results.scenario, "seed": results.seed, "kpis": results.kpis}, indent=2))
    else:
        print(f"scenario {results.scenario} (seed {results.seed}, {results.horizon_h:g} h)")
        _print_table([(k, _fmt(v)) for k, v in results.kpis.items()], ("KPI", "value"))
        if args.out:
            print(f"results written to {args.out}")
    return 0


def _load_or_run(path: str):  # returns Results (imported lazily to keep `twin --help` fast)
    from twin.scenario import Results, run_scenario

    if Path(path).is_dir():
        return Results.load(path)
    return run_scenario(_load_scenario(path))


def _cmd_compare(args: argparse.Namespace) -> int:
    from twin.scenario.compare import compare_runs

    if args.seeds is not None:
        return _compare_over_seeds(args)
    a, b = _load_or_run(args.a), _load_or_run(args.b)
    deltas, label = compare_runs(a, b, per_day_totals=args.per_day)
    if args.json:
        print(
            json.dumps(
                [{"kpi": d.name, "a": d.a, "b": d.b, "delta": d.delta, "delta_pct": d.delta_pct} for d in deltas],
                indent=2,
            )
        )
        return 0
    rows = [
        (d.name, _fmt(d.a), _fmt(d.b), _fmt(d.delta, sign=True), "" if d.delta_pct is None else f"{d.delta_pct:+.2f} %")
        for d in deltas
    ]
    print(f"KPIs compared {label}")
    _print_table(rows, ("KPI", a.scenario, b.scenario, "Δ", "Δ %"))
    return 0


def _compare_over_seeds(args: argparse.Namespace) -> int:
    """``twin compare A B --seeds N``: both scenarios for N seeds, paired (twin.scenario.compare.seed_bands)."""
    from twin.scenario import run_scenario
    from twin.scenario.compare import MAX_SEEDS, comparability, seed_bands

    if not 2 <= args.seeds <= MAX_SEEDS:
        raise TwinError(f"--seeds = {args.seeds} is invalid; expected a whole number in [2, {MAX_SEEDS}]")
    if args.per_day:
        raise TwinError("--seeds compares runs of one horizon; --per-day is for runs of different horizons")
    for path in (args.a, args.b):
        if Path(path).is_dir():
            raise TwinError(f"{path} is a results directory; --seeds runs both scenarios anew for each seed: give "
                            "the scenario file")
    first = _load_scenario(args.a).seed
    seeds = range(first, first + args.seeds)
    pairs = []
    for seed in seeds:
        a, b = run_scenario(_load_scenario(args.a, seed)), run_scenario(_load_scenario(args.b, seed))
        why = comparability(a, b)  # other plants or horizons: no paired comparison
        if why:
            raise TwinError(f"cannot compare {a.scenario} with {b.scenario}: {'; '.join(why)}")
        pairs.append((a.kpis, b.kpis))
    bands = seed_bands(pairs)
    if args.json:
        rows = [
            {"kpi": band.name, "a_mean": band.a_mean, "b_mean": band.b_mean, "delta_mean": band.delta_mean,
             "delta_min": band.delta_min, "delta_max": band.delta_max, "within_noise": band.within_noise,
             "deltas": list(band.deltas)}
            for band in bands
        ]
        print(json.dumps({"seeds": list(seeds), "kpis": rows}, indent=2))
        return 0
    table = [
        (band.name, _fmt(band.a_mean), _fmt(band.b_mean), _fmt(band.delta_mean, sign=True),
         f"{_fmt(band.delta_min, sign=True)} … {_fmt(band.delta_max, sign=True)}",
         band.verdict)
        for band in bands
    ]
    print(f"KPIs over seeds {seeds.start}–{seeds.stop - 1}, each run by both scenarios (same horizon)")
    _print_table(table, ("KPI", f"{a.scenario} mean", f"{b.scenario} mean", "Δ mean", "Δ over the seeds", ""))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from twin.scenario import Results
    from twin.scenario.report import render_report

    results = Results.load(args.results)
    baseline = Results.load(args.baseline) if args.baseline else None
    output = Path(args.output or Path(args.results) / "report.html")
    html = render_report(results, baseline, per_day=args.per_day)
    try:
        output.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise TwinError(f"--output = {str(output)!r}: the report cannot be written there ({exc.strerror})") from None
    print(f"report written to {output}")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from twin.scenario.sweep import execute_sweep, load_sweep, max_local_workers

    most = max_local_workers()
    for option, value in (("--workers", args.workers), ("--dask-local", args.dask_local)):
        if value is not None and not 1 <= value <= most:
            raise TwinError(f"{option} = {value} is invalid; expected an integer in [1, {most}] (4 per CPU of this "
                            "machine: more processes than cores add memory, not speed)")
    if args.scheduler and args.dask_local is not None:
        raise TwinError("--scheduler and --dask-local are exclusive: use a running scheduler or start a local one")
    sweep = load_sweep(args.sweep_file)
    out = Path(args.out) if args.out else Path("runs") / f"sweep-{Path(args.sweep_file).stem}"
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=len(sweep.variants), unit="variant", file=sys.stderr, disable=None, leave=False)

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.n = done
            bar.refresh()

    options = {"out": out, "resume": args.resume, "batch": args.batch, "progress": progress}
    try:
        if args.scheduler or args.dask_local is not None:
            from twin.scenario.dask_executor import dask_executor

            with dask_executor(args.scheduler, args.dask_local) as executor:
                run = execute_sweep(sweep, executor=executor, slots=executor.slots, **options)
        else:
            run = execute_sweep(sweep, workers=args.workers, **options)
    except KeyboardInterrupt:
        print(f"twin: interrupted; finished variants are in {out} (--resume continues)", file=sys.stderr)
        raise
    finally:
        if bar is not None:
            bar.close()
    print(
        f"sweep {sweep.name}: {run.table.num_rows} of {len(sweep.variants)} variants in {out} "
        f"({len(run.ran)} run now in {run.tasks} tasks of up to {run.batch}, {len(run.resumed)} resumed)"
    )
    for index, error in list(run.failed.items())[:20]:
        print(f"twin: variant {index} failed: {error}", file=sys.stderr)
    if len(run.failed) > 20:
        print(f"twin: ... and {len(run.failed) - 20} more failed variants", file=sys.stderr)
    from twin.scenario.compare import sweep_summary

    # grouped by the swept settings (seeds and sampled settings pooled), so each choice shows its own range
    summary = [
        (group, kpi, str(n), _fmt(lo), _fmt(mean), _fmt(hi))
        for group, kpi, n, lo, mean, hi in sweep_summary(run.table.to_pydict())
    ]
    _print_table(summary, ("settings", "KPI", "n", "min", "mean", "max"))
    if run.failed:
        print(f"twin: {len(run.failed)} variants failed; `--resume` runs them again", file=sys.stderr)
        return 1
    return 0


def _cmd_service(name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from twin.service import run_demo, run_serve

        return (run_demo if name == "demo" else run_serve)(args, lambda text: print(text, flush=True))

    return run


def _fmt(value: float, sign: bool = False) -> str:
    return f"{value:+.6g}" if sign else f"{value:.6g}"


def _print_table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> None:
    widths = [max(len(str(r[c])) for r in [header, *rows]) for c in range(len(header))]
    print("  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        cells = [str(row[0]).ljust(widths[0])] + [str(v).rjust(w) for v, w in zip(row[1:], widths[1:], strict=True)]
        print("  ".join(cells))


if __name__ == "__main__":
    sys.exit(main())
