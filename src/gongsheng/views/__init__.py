"""Read models: the read side of the engine (CQRS), one module per page, report or export.

A view queries the tables directly (through the adapters' queries or SQLAlchemy Core) and never
writes: it takes a connection, which entry points open in a read-only transaction
(:meth:`Platform.read <gongsheng.services.platform.Platform.read>`) unless the view is one read
among others of a unit of work, so running a view changes nothing in the books. Views may use
the services' pure helpers and the adapters; the services never import a view (the layers
contract in ``pyproject.toml``).
"""
