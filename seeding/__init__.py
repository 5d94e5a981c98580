"""Seed data for development and for measuring jobs at real scale: ``manage.py seed``.

The pipeline: ``generator`` (pure numpy, no database: ``taxonomy`` and ``vocabulary`` hold the
hand-written words, ``assortment``, ``people`` and ``activity`` draw the rows, ``calendar`` says
when things happen) yields chunks of columns; ``writers`` send them (binary COPY built by
``pgcopy`` on PostgreSQL, batched INSERTs elsewhere); ``loading`` is the service that runs it all
in one transaction, with ``schema`` setting PostgreSQL's secondary indexes and foreign keys aside
during the bulk load.
"""
