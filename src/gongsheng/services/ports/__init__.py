"""The stores (ports) the use cases read and write the books through, one module per concept.

Each store is a :class:`typing.Protocol`: the SQL implementations are in ``adapters/`` (with
their SQLite / PostgreSQL differences inside them), in-memory ones in the unit tests' fakes.
A store acts in its unit of work's transaction: what it writes is undone by a rollback, and
what it reads sees what the unit of work wrote before. :class:`~gongsheng.services.ports.work.Work`
is the unit of work as the converted use cases see it.
"""
