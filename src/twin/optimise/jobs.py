"""Schedule jobs for the API (``POST /v1/schedules``): a request names a plant by id, never by path, and runs
in its own process with a memory and a time limit, like the scenario jobs (:mod:`twin.api.worker`).

Plant ids are the shipped ``models/plant_*.toml`` stems that have a dispatch file beside them
(``dispatch_<plant name>.toml`` or ``dispatch_reference.toml``); each is loaded and validated on first use.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import re
import resource
import traceback
from pathlib import Path
from typing import Any

from twin.errors import ModelError, TwinError

MODELS = Path(__file__).resolve().parents[3] / "models"
ID_RE = re.compile(r"^plant_[a-z0-9_\-]{1,60}$")
LIMITS = {"horizon_h": (1.0, 72.0), "total_h": (1.0, 168.0), "replay_cells": (1, 16), "seed": (0, 2**31 - 1)}
STEPS_MIN = (15.0, 30.0, 60.0)


def plant_ids() -> list[str]:
    """The plant ids a request may name."""
    return sorted(p.stem for p in MODELS.glob("plant_*.toml") if ID_RE.fullmatch(p.stem))


def check_request(req: dict[str, Any]) -> dict[str, Any]:
    """The request with defaults filled in; a bad field raises :class:`ModelError` naming it."""
    origin = "schedule request"
    plant = req.get("plant")
    if plant not in plant_ids():
        raise ModelError(f"{origin}: plant = {plant!r} is invalid; expected one of {', '.join(plant_ids())}")
    out = {"plant": plant, "horizon_h": 48.0, "step_min": 15.0, "total_h": None, "replay_cells": 4, "seed": 1}
    for key, value in req.items():
        if key == "plant":
            continue
        if key not in out:
            raise ModelError(f"{origin}: unknown field {key!r}; known: {', '.join(sorted(out))}")
        if value is None and key == "total_h":
            continue
        if key == "step_min":
            if value not in STEPS_MIN:
                raise ModelError(f"{origin}: step_min = {value!r} is invalid; expected one of 15, 30, 60")
        else:
            lo, hi = LIMITS[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi or (
                    isinstance(lo, int) and not float(value).is_integer()):
                raise ModelError(f"{origin}: {key} = {value!r} is invalid; expected a number in [{lo}, {hi}]")
        out[key] = value
    if out["total_h"] is not None and out["total_h"] < out["horizon_h"]:
        raise ModelError(f"{origin}: total_h = {out['total_h']!r} is invalid; expected at least horizon_h "
                         f"({out['horizon_h']:g})")
    return out


def run_request(req: dict[str, Any]) -> dict[str, Any]:
    """Optimise and replay as requested; the answer of :func:`twin.optimise.result.outcome_dict`."""
    from twin.optimise.inputs import load_inputs
    from twin.optimise.loop import optimise
    from twin.optimise.result import outcome_dict

    req = check_request(req)
    inputs = load_inputs(MODELS / f"{req['plant']}.toml")
    outcome = optimise(inputs, horizon_h=float(req["horizon_h"]), step_min=float(req["step_min"]),
                       total_h=req["total_h"], commit_h=min(24.0, float(req["horizon_h"])),
                       replay_cells=int(req["replay_cells"]), seed=int(req["seed"]))
    return outcome_dict(outcome, inputs)


def _child(req: dict[str, Any], memory_mb: int, timeout_s: float, conn: Any) -> None:
    limit = memory_mb * 1024 * 1024
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CPU, (int(timeout_s) + 5, int(timeout_s) + 10))
    try:
        outcome: tuple[Any, ...] = ("ok", run_request(req))
    except MemoryError:
        outcome = ("error", f"the job exceeded its memory limit of {memory_mb} MB")
    except TwinError as exc:
        outcome = ("error", str(exc)[:2000])
    except Exception as exc:
        outcome = ("error", f"{type(exc).__name__}: {exc}"[:2000] + "\n" + traceback.format_exc()[-2000:])
    try:
        conn.send(outcome)
    finally:
        conn.close()


def run_in_process(req: dict[str, Any], *, timeout_s: float = 900.0, memory_mb: int = 3072) -> dict[str, Any]:
    """:func:`run_request` in a child process with limits; a failure raises :class:`TwinError` with the reason."""
    ctx = multiprocessing.get_context("forkserver")
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(req, memory_mb, timeout_s, sender), name="twin-schedule-job", daemon=True)
    proc.start()
    sender.close()
    try:
        if not receiver.poll(timeout_s):
            raise TwinError(f"the schedule job exceeded its time limit of {timeout_s:g} s and was stopped")
        try:
            outcome = receiver.recv()
        except EOFError:
            raise TwinError(f"the schedule job's process died (exit code {proc.exitcode})") from None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        receiver.close()
    if outcome[0] == "ok":
        return outcome[1]
    raise TwinError(outcome[1])
