"""``twin optimise PLANT.toml``: the dispatch co-optimiser on the command line.

Registered in :mod:`twin.cli` by :func:`add_parser`; the heavy imports (linopy, HiGHS, the twin) happen only
when the command runs. Bad input raises a :class:`~twin.errors.TwinError`, which ``twin`` prints as one line.
"""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    cmd = sub.add_parser("optimise", help="co-optimise units, grid tie and potlines; replay in the twin")
    cmd.add_argument("plant", help="plant file (TOML)")
    cmd.add_argument("--dispatch", help="dispatch file (default: dispatch_<plant>.toml or dispatch_reference.toml "
                                        "beside the plant file)")
    cmd.add_argument("--horizon-h", type=float, default=48.0, help="optimisation window (h, default 48)")
    cmd.add_argument("--step-min", type=float, default=15.0, help="time step (min, default 15)")
    cmd.add_argument("--total-h", type=float, help="span to schedule on a rolling horizon (default: one window)")
    cmd.add_argument("--commit-h", type=float, help="hours kept from each rolling window (default 24, at most the "
                                                   "horizon)")
    cmd.add_argument("--replay-cells", type=int, default=4, help="cells per potline in the twin replay (default 4)")
    cmd.add_argument("--seed", type=int, default=1, help="seed of the twin replay (default 1)")
    cmd.add_argument("--json", action="store_true", help="print the whole answer as JSON")
    cmd.add_argument("--schedule-out", help="write the accepted schedule as a scenario (schedule.toml and "
                                            "schedule.csv) into this directory")
    cmd.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import logging

    from twin.errors import ModelError
    from twin.optimise.inputs import load_inputs
    from twin.optimise.loop import optimise
    from twin.optimise.plan import check_window
    from twin.optimise.result import outcome_dict, summary_lines

    check_window(args.horizon_h, args.step_min, prefix="--")
    if not 0 <= args.seed < 2**63:
        raise ModelError(f"--seed = {args.seed} is invalid; expected an integer in [0, 2^63)")
    if not 1 <= args.replay_cells <= 1000:
        raise ModelError(f"--replay-cells = {args.replay_cells} is invalid; expected an integer in [1, 1000]")
    if args.total_h is not None and not args.horizon_h <= args.total_h <= 24 * 366:
        raise ModelError(f"--total-h = {args.total_h:g} is invalid; expected hours in [{args.horizon_h:g}, 8784]")
    if args.commit_h is None:
        args.commit_h = min(24.0, args.horizon_h)
    if not 0 < args.commit_h <= args.horizon_h:
        raise ModelError(f"--commit-h = {args.commit_h:g} is invalid; expected hours in (0, {args.horizon_h:g}]")
    if args.schedule_out:  # checked before the solve, so a bad path costs no optimisation
        from twin.scenario.results import prepare_directory

        prepare_directory(args.schedule_out, "--schedule-out")
    # an infeasible window is an answer here ("the optimiser cannot"), not a warning with a solver dump
    logging.getLogger("linopy").setLevel(logging.ERROR)
    inputs = load_inputs(args.plant, args.dispatch)
    outcome = optimise(inputs, horizon_h=args.horizon_h, step_min=args.step_min, total_h=args.total_h,
                       commit_h=args.commit_h, replay_cells=args.replay_cells, seed=args.seed)
    answer = outcome_dict(outcome, inputs)
    if args.schedule_out and outcome.plan is not None:
        from pathlib import Path

        from twin.optimise.export import write_schedule_scenario

        s = outcome.plan.schedule
        write_schedule_scenario(Path(args.schedule_out), inputs.plant, s.dt_h, s.current_kA, s.duty_kW, s.on,
                                args.seed)
    if args.json:
        json.dump(answer, sys.stdout, default=_plain)
        sys.stdout.write("\n")
    else:
        sys.stdout.write("\n".join(summary_lines(answer)) + "\n")
    return 0 if outcome.status == "ok" else 1


def _plain(value: object) -> object:
    if hasattr(value, "items"):
        return dict(value.items())  # type: ignore[attr-defined]
    if hasattr(value, "tolist"):
        return value.tolist()  # type: ignore[attr-defined]
    return str(value)
