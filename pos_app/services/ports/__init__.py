"""Ports: the Protocols the services need from the outside world (storage, gateway, clock, ids).

One module per port (clock, gateway, payments, sales, members, catalogue, journal, users, shifts,
reports, outbox) and one unit of work (``uow.UnitOfWork``); adapters (pos_app.storage, pos_app.alipay)
implement them. Import from the module that owns the port, e.g. ``from pos_app.services.ports.sales
import SaleRecord``: this package re-exports nothing.
"""
