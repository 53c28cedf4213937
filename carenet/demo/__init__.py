"""A synthetic but realistic Tianjin for demos, tests and benchmarks (`carenet demo`).

Plain package, not an app: it owns no models. Everything it writes goes into the real tables
with the same invariants the services keep (valid ID numbers, pinyin keys, approvers, history).
"""
