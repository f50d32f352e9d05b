"""truceline: verify ceasefires and security guarantees.

Agreements as data, signed observations from every source, fusion into incidents, machine
checks of every provision, and a tamper-evident record that each party can verify and replay.
"""

__version__ = "0.1.0"
