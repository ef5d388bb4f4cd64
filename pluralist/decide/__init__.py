"""Deciding with a trained model: which comparison to ask a person next (elicitation),
and what to choose for many people at once (aggregation, best-of-N, DPO export).

Sits above evaluation's layer mate models and below workflows; import from the
submodules (elicit, aggregate, ...) directly.
"""
