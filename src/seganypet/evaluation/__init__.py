"""Evaluation: metrics, the simulated-click protocol, model-free baselines, reports.

Submodules are imported explicitly (``from seganypet.evaluation.metrics import score_masks``)
so that importing the package stays light:

* :mod:`~seganypet.evaluation.metrics` - DSC, NSD, autoPET FP/FN volumes, HD95
* :mod:`~seganypet.evaluation.protocol` - ``Segmenter`` protocol and ``run_interactive``
* :mod:`~seganypet.evaluation.baselines` - 41 %-SUVmax and SUV >= 2.5 segmenters
* :mod:`~seganypet.evaluation.aggregate` - median (IQR) and bootstrap CIs per target
* :mod:`~seganypet.evaluation.report` - CSV, markdown table and DSC-vs-clicks plot
* :mod:`~seganypet.evaluation.runner` - evaluate every case and target of a manifest
"""
