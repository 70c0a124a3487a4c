"""twin-edge: the Smelter Twin edge gateway (Modbus TCP -> Sparkplug B) and simulated pot-controller PLCs.

Importing this package has no side effects. It never imports ``twin``.
"""

__version__ = "0.1.0"
