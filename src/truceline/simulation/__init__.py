"""The simulator and the evaluator: a test bench for the domain, not part of it.

Pure like the core (no I/O, no clock, no environment): it may import :mod:`truceline.core`, and
the core never imports it (an import-linter contract). Layers, lowest first:
:mod:`~truceline.simulation.records` and :mod:`~truceline.simulation.sources` (column-wise JSON
records; the sources' error models and every parameter), :mod:`~truceline.simulation.world`
(the setup a scenario makes once, and the shared types), the steps of a day
(:mod:`~truceline.simulation.ground_truth`, :mod:`~truceline.simulation.planted`,
:mod:`~truceline.simulation.detection`), :mod:`~truceline.simulation.scenario` (the days), and
:mod:`~truceline.simulation.evaluation` (scores a pipeline's output against the truth; the
findings by :mod:`~truceline.simulation.verdicts`). :mod:`~truceline.simulation.presets` names
the scenarios (baseline, restrictions, cameras_down, uncovered).
"""
