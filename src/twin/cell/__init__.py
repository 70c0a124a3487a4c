"""Cell physics engine: numba kernels for whole potlines of Hall-Héroult cells, pot control in the loop."""

from twin.cell.potline import AdvanceResult, CellEvent, CellSnapshot, Potline

__all__ = ["AdvanceResult", "CellEvent", "CellSnapshot", "Potline"]
