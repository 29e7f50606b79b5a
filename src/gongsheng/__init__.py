"""gongsheng (共生): engine, operator's view and simulator for five-party rebate platforms.

Layers, innermost first:

- ``gongsheng.domain``: pure rules (money, policy, waterfall, ledger, release); standard library only.
- ``gongsheng.adapters``: database tables, repositories, policy files.
- ``gongsheng.services``: use cases; each owns one unit of work (one transaction).
- ``gongsheng.sim``: the simulator; reuses the domain's rules on arrays.
- ``gongsheng.entrypoints``: command line, HTTP API and web pages; parse, call, render.
"""

__version__ = "0.1.0"
