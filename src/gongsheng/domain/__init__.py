"""The pure domain: rules of the platform, standard library only.

Every function here that computes amounts uses only integer arithmetic operators, so it accepts
Python ``int`` values and, unchanged, NumPy integer arrays: the simulator runs the same rules.
"""
