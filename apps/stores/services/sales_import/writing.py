"""Writing the orders and lines of a sales-history file, set-wise.

On PostgreSQL, after each chunk is read the main thread marks the chunk's orders that were
imported before and gives the new ones ids from the order sequence (one query), looks up the
members of the orders the reader has sealed (first seen in the chunk before; see
`SalesFileReader.read_chunk`), and formats the chunk's lines and those orders as COPY text. A
sender thread then COPYs both straight into the order-line and order tables while the main
thread reads the next chunk, so the server stores one chunk while Python parses the next
(psycopg releases the GIL while it waits on the socket). When the import owns its transaction
the lookups run on a second connection, at the same time as the COPY of the chunk before
(`PostgresOrderWriter.lookups_open`). At the end the main thread sends the orders of the last
chunk, corrects the totals of the few orders that got a line after they were sent, and checks
the foreign keys set-wise. Order lines may be stored before their orders, which the deferred
foreign keys allow. Everything is written in the caller's transaction on one connection,
used by one thread at a time, so an error anywhere leaves nothing behind.

On SQLite (`make run` on a bare machine) the lines wait in memory and both tables are written
with `bulk_create` at the end.
"""
# SQL here is built from model table names only; every value is a bound parameter:
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import queue
import threading
from abc import ABC, abstractmethod
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import psycopg
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Model
from django.utils import timezone

from apps.catalog.models import Product
from apps.customers.models import Member, MemberIdentity
from apps.stores.models import Order, OrderLine, Store
from apps.stores.services.sales_import.reading import (
    NO_MEMBER,
    ChunkRead,
    Line,
    PendingOrder,
    SalesFileReader,
)

if TYPE_CHECKING:
    from psycopg import Cursor

# Held (per transaction) by every import that writes: two imports of overlapping files would
# otherwise both find an order missing and the second would fail on the unique key at the end.
IMPORT_LOCK_KEY = 0x4C696E6C6901  # "Linli" + 1

ORDER_LINE_COLUMNS = ("order_id", "product_id", "quantity", "unit_price", "discount", "line_total")
ORDER_COLUMNS = (
    "id",
    "store_id",
    "member_id",
    "channel",
    "fulfilment",
    "status",
    "idempotency_key",
    "reference",
    "total",
    "discount_total",
    "placed_at",
    "created_at",
)
COPY_NULL = "\\N"

# (order, total, discount as text): an order with its totals when it was handed over.
Sealed = tuple[PendingOrder, str, str]


def copy_escape(text: str) -> str:
    """Text as a field of PostgreSQL's COPY text format."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


class OrderWriter(ABC):
    """Marks the orders imported before, and writes the others with their lines.

    Use as a context manager around the whole file: `chunk_write` after each chunk (it marks
    `existing` on the chunk's new orders and, in a real run, stores or queues the lines), then
    `orders_write` once. A dry run writes nothing but answers the same questions (which orders
    exist, which identities are members).
    """

    def __init__(self, *, dry_run: bool) -> None:
        self.dry_run = dry_run
        self.quote = connection.ops.quote_name
        self.members: dict[tuple, int | None] = {}  # identity → member id, once looked up

    @staticmethod
    def for_connection(*, dry_run: bool, owns_transaction: bool = False) -> OrderWriter:
        """`owns_transaction`: the import's transaction is the outermost one, so nothing the
        caller wrote is waiting uncommitted (see `PostgresOrderWriter`)."""
        if connection.vendor == "postgresql":
            return PostgresOrderWriter(dry_run=dry_run, separate_lookups=owns_transaction)
        return SqliteOrderWriter(dry_run=dry_run)

    def __enter__(self) -> OrderWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    @abstractmethod
    def chunk_write(self, read: ChunkRead) -> None:
        """Mark which of the chunk's new orders exist already; store what is new."""

    @abstractmethod
    def orders_write(self, reader: SalesFileReader) -> None:
        """After the last chunk: every order of `reader` is marked, has its member (when
        its identity is known) and, unless in a dry run, is stored with its lines."""

    # -- lookups -----------------------------------------------------------------------------

    def members_resolve(self, orders: list[PendingOrder]) -> None:
        """Each order's member from its identity; an unknown identity leaves it None."""
        members = self.members
        wanted = {
            order.identity
            for order in orders
            if order.identity is not NO_MEMBER and order.identity not in members
        }
        if wanted:
            found = self.pairs_found(
                MemberIdentity._meta.db_table, ("kind", "value"), list(wanted), extra="member_id"
            )
            for identity in wanted:
                members[identity] = found.get(identity)
        for order in orders:
            order.member_id = members.get(order.identity)

    @abstractmethod
    def pairs_found(
        self, table: str, columns: tuple[str, str], pairs: list[tuple], *, extra: str = ""
    ) -> dict[tuple, Any]:
        """The `pairs` found in two columns of `table`, set-wise; each maps to its `extra`
        column (None without one)."""


class PostgresOrderWriter(OrderWriter):
    # The array types to look up pairs of these columns with.
    COLUMN_TYPES = {("kind", "value"): ("text", "text")}

    def __init__(self, *, dry_run: bool, separate_lookups: bool = False) -> None:
        super().__init__(dry_run=dry_run)
        self.separate_lookups = separate_lookups
        self.stack = ExitStack()
        self.triggers_off = False
        self.order_sequence = ""
        self.created_at = timezone.now().isoformat()
        self.products_used: set[str] = set()
        # (order lines, orders) as COPY text, for the sender thread; one chunk at a time.
        self.copies: queue.Queue[tuple[str, str] | None] = queue.Queue(maxsize=1)
        self.sender = threading.Thread(target=self.send, name="sales-import-sender", daemon=True)
        self.sender_error: BaseException | None = None
        self.cancelled = False

    def __enter__(self) -> PostgresOrderWriter:
        with ExitStack() as opening:
            opening.callback(self.stack.close)  # if anything below fails
            django_cursor = self.stack.enter_context(connection.cursor())
            # psycopg's own cursor: the sender thread uses it (Django's are per thread).
            self.cursor: Cursor = django_cursor.cursor
            self.cursor.execute(
                "SELECT current_setting('jit'), current_setting('session_replication_role')"
            )
            self.settings_before = self.cursor.fetchone()
            # The lookups probe an index per array element; for big arrays their cost
            # estimates pass jit_above_cost, and compiling takes longer than the probes.
            self.cursor.execute("SET LOCAL jit = off")
            if not self.dry_run:
                self.cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK_KEY])
                self.cursor.execute(
                    "SELECT pg_get_serial_sequence(%s, 'id')", [self.quote(Order._meta.db_table)]
                )
                (self.order_sequence,) = self.cursor.fetchone()
                self.triggers_off = self.foreign_key_triggers_off()
            self.lookups: Cursor = self.lookups_open() if self.separate_lookups else self.cursor
            self.sender.start()
            opening.pop_all()
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self.stack:  # the cursor closes last
            self.sender_stop(cancel=exc_info[1] is not None)
            if exc_info[1] is not None:
                return  # the rollback restores the settings
            if self.sender_error is not None:  # not raised yet when the file had bad rows
                with connection.wrap_database_errors:
                    raise self.sender_error
            # Back to what they were: the caller's transaction may go on.
            jit, replication_role = self.settings_before
            self.cursor.execute("SELECT set_config('jit', %s, true)", [jit])
            if self.triggers_off:  # only a role that may set it
                self.cursor.execute(
                    "SELECT set_config('session_replication_role', %s, true)", [replication_role]
                )

    def lookups_open(self) -> Cursor:
        """A second connection (autocommit) for the per-chunk lookups, so that they run while
        the first one stores the chunk before.

        It sees what is committed, which is all the lookups need when the import owns its
        transaction: which orders were imported before (the import lock keeps other imports
        from committing meanwhile, and only imports write `import:` keys), the member of an
        identity, and ids from the order sequence (never rolled back anyway). This
        transaction's own orders are never looked up: each is claimed once, when first seen.
        Inside a caller's transaction the lookups use the import's connection instead, which
        also sees what the caller has not committed yet.
        """
        lookups = psycopg.connect(**connection.get_connection_params(), autocommit=True)
        self.stack.callback(lookups.close)
        cursor = lookups.cursor()
        cursor.execute("SET jit = off")
        return cursor

    def foreign_key_triggers_off(self) -> bool:
        """Check foreign keys once for the whole file instead of row by row.

        PostgreSQL checks a foreign key with one trigger call per inserted row (at commit, as
        Django declares them deferred): for a million lines that is nearly half the import.
        When the database role may set `session_replication_role` (a superuser, or
        `GRANT SET ON PARAMETER session_replication_role` on PostgreSQL 15+), the import
        turns those triggers off for this transaction and instead, before it ends, takes the
        lock they would take — FOR KEY SHARE on every referenced store, product and member —
        and checks that every one exists (`references_lock`). The order ids the lines refer to
        are those of the orders it inserts. Without that right the triggers run as usual.
        """
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
        except DatabaseError:
            return False
        return True

    # -- per chunk: lookups here, COPY in the sender thread ----------------------------------

    def chunk_write(self, read: ChunkRead) -> None:
        if not self.separate_lookups:
            self.copies_wait()  # the connection answers one statement at a time
        with connection.wrap_database_errors:
            self.orders_claim(read.new_orders)
            if self.dry_run:
                return
            sealed = [each for each in read.sealed if not each[0].existing]
            self.members_resolve([order for order, _total, _discount in sealed])
            self.products_used.update(line[1] for line in read.lines if not line[0].existing)
            texts = (self.lines_text(read.lines), self.orders_text(sealed))
        self.copies_wait()
        self.copies.put(texts)

    def send(self) -> None:
        """The sender thread: COPY the texts it is given, one chunk at a time. The main
        thread parses the next chunk meanwhile; psycopg releases the GIL while it waits."""
        while (texts := self.copies.get()) is not None:
            try:
                if self.sender_error is None and not self.cancelled:
                    lines_text, orders_text = texts
                    self.copy(OrderLine, ORDER_LINE_COLUMNS, lines_text)
                    self.copy(Order, ORDER_COLUMNS, orders_text)
            except BaseException as error:  # handed to the main thread
                self.sender_error = error
            finally:
                self.copies.task_done()
        self.copies.task_done()

    def copies_wait(self) -> None:
        """Wait until the chunk being sent is stored; raise the sender's error if any."""
        self.copies.join()
        if self.sender_error is not None:
            with connection.wrap_database_errors:  # psycopg's errors as Django's
                raise self.sender_error

    def sender_stop(self, *, cancel: bool = False) -> None:
        """End the sender thread; with `cancel`, a chunk still queued is not sent (the
        transaction is going to be rolled back)."""
        self.cancelled = cancel
        if self.sender.is_alive():
            self.copies.put(None)
            self.sender.join()

    def copy(self, model: type[Model], columns: tuple[str, ...], text: str) -> None:
        if text:
            table = self.quote(model._meta.db_table)
            with self.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                copy.write(text)

    def orders_claim(self, orders: list[PendingOrder]) -> None:
        """Mark the orders imported before; give the others ids (not in a dry run).

        One index probe per order (LATERAL … LIMIT 1), whatever the size of the order table:
        a hash join would read the whole table for every chunk.
        """
        if not orders:
            return
        new_id = "NULL" if self.dry_run else "nextval(%s)"
        self.lookups.execute(
            f"""
            SELECT found.id IS NOT NULL, CASE WHEN found.id IS NULL THEN {new_id} END
            FROM unnest(%s::bigint[], %s::text[]) WITH ORDINALITY AS wanted (store_id, key, n)
            LEFT JOIN LATERAL (
                SELECT o.id FROM {self.quote(Order._meta.db_table)} o
                WHERE o.store_id = wanted.store_id AND o.idempotency_key = wanted.key
                LIMIT 1
            ) found ON true
            ORDER BY wanted.n
            """,
            [
                *([] if self.dry_run else [self.order_sequence]),
                [int(order.store_id) for order in orders],
                [order.idempotency_key for order in orders],
            ],
        )
        for order, (existing, order_id) in zip(orders, self.lookups.fetchall(), strict=True):
            order.existing = existing
            order.order_id = order_id

    @staticmethod
    def lines_text(lines: list[Line]) -> str:
        return "".join(
            [
                f"{order.order_id}\t{product}\t{quantity}\t{price}\t{discount}\t{total}\n"
                for order, product, quantity, price, discount, total in lines
                if not order.existing
            ]
        )

    def orders_text(self, orders: list[Sealed]) -> str:
        escape, null, created_at = copy_escape, COPY_NULL, self.created_at
        fixed = f"\t{Order.Channel.POS}\t{Order.Fulfilment.IN_STORE}\t{Order.Status.COMPLETED}\t"
        return "".join(
            [
                f"{order.order_id}\t{order.store_id}\t{order.member_id or null}{fixed}"
                f"{escape(order.idempotency_key)}\t{escape(order.ref)}\t{total}\t{discount}\t"
                f"{order.sold_at}\t{created_at}\n"
                for order, total, discount in orders
            ]
        )

    # -- at the end ------------------------------------------------------------------------

    def orders_write(self, reader: SalesFileReader) -> None:
        self.copies_wait()
        self.sender_stop()
        with connection.wrap_database_errors:
            if self.dry_run:
                self.members_resolve([o for o in reader.orders.values() if not o.existing])
                return
            last = [order for order in reader.unsealed if not order.existing]
            self.members_resolve(last)
            sealed = [(order, str(order.total), str(order.discount)) for order in last]
            self.copy(Order, ORDER_COLUMNS, self.orders_text(sealed))
            self.totals_correct([order for order in reader.late if not order.existing])
            if self.triggers_off:
                self.references_lock([o for o in reader.orders.values() if not o.existing])

    def totals_correct(self, orders: list[PendingOrder]) -> None:
        """Orders that got a line after they were sent: their final totals."""
        if not orders:
            return
        self.cursor.execute(
            f"""
            UPDATE {self.quote(Order._meta.db_table)} o
            SET total = v.total, discount_total = v.discount
            FROM unnest(%s::bigint[], %s::numeric[], %s::numeric[]) AS v (id, total, discount)
            WHERE o.id = v.id
            """,
            [
                [order.order_id for order in orders],
                [order.total for order in orders],
                [order.discount for order in orders],
            ],
        )

    def references_lock(self, orders: list[PendingOrder]) -> None:
        """FOR KEY SHARE on every store, product and member the new rows refer to;
        IntegrityError if one of them no longer exists."""
        references = (
            (Store, {int(order.store_id) for order in orders}),
            (Product, {int(product) for product in self.products_used}),
            (Member, {order.member_id for order in orders if order.member_id is not None}),
        )
        for model, ids in references:
            if not ids:
                continue
            self.cursor.execute(
                f"""
                SELECT COUNT(*) FROM (
                    SELECT 1 FROM {self.quote(model._meta.db_table)}
                    WHERE id = ANY(%s) FOR KEY SHARE
                ) locked
                """,
                [sorted(ids)],
            )
            (locked,) = self.cursor.fetchone()
            if locked != len(ids):
                raise IntegrityError(
                    f"{len(ids) - locked} row(s) of {model._meta.db_table} that the import "
                    "refers to no longer exist."
                )

    def pairs_found(
        self, table: str, columns: tuple[str, str], pairs: list[tuple], *, extra: str = ""
    ) -> dict[tuple, Any]:
        if not pairs:
            return {}
        first, second = (self.quote(column) for column in columns)
        found = f"t.{self.quote(extra)}" if extra else "NULL"
        types = self.COLUMN_TYPES[columns]
        self.lookups.execute(  # an index probe per pair, as in orders_claim
            f"""
            SELECT wanted.first, wanted.second, found.extra
            FROM unnest(%s::{types[0]}[], %s::{types[1]}[]) AS wanted (first, second)
            CROSS JOIN LATERAL (
                SELECT {found} AS extra FROM {self.quote(table)} t
                WHERE t.{first} = wanted.first AND t.{second} = wanted.second
                LIMIT 1
            ) found
            """,
            [[pair[0] for pair in pairs], [pair[1] for pair in pairs]],
        )
        return {(row[0], row[1]): row[2] for row in self.lookups.fetchall()}


class SqliteOrderWriter(OrderWriter):
    # SQLite allows 999 bound parameters per statement in older builds.
    PAIRS_PER_QUERY = 400
    BATCH_SIZE = 500

    def __init__(self, *, dry_run: bool) -> None:
        super().__init__(dry_run=dry_run)
        self.lines: list[Line] = []

    def existing_mark(self, new_orders: list[PendingOrder]) -> None:
        found = self.pairs_found(
            Order._meta.db_table,
            ("store_id", "idempotency_key"),
            [(int(order.store_id), order.idempotency_key) for order in new_orders],
        )
        if found:
            for order in new_orders:
                order.existing = (int(order.store_id), order.idempotency_key) in found

    def chunk_write(self, read: ChunkRead) -> None:
        self.existing_mark(read.new_orders)
        if not self.dry_run:
            self.lines.extend(line for line in read.lines if not line[0].existing)

    def orders_write(self, reader: SalesFileReader) -> None:
        """SQLite writers are serialised, so "not there yet" cannot change under us."""
        orders = [order for order in reader.orders.values() if not order.existing]
        self.members_resolve(orders)
        if self.dry_run:
            return
        now = timezone.now()
        rows = [
            Order(
                store_id=int(order.store_id),
                member_id=order.member_id,
                channel=Order.Channel.POS,
                fulfilment=Order.Fulfilment.IN_STORE,
                status=Order.Status.COMPLETED,
                idempotency_key=order.idempotency_key,
                reference=order.ref,
                total=order.total,
                discount_total=order.discount,
                placed_at=dt.datetime.fromisoformat(order.sold_at),
                created_at=now,
            )
            for order in orders
        ]
        Order.objects.bulk_create(rows, batch_size=self.BATCH_SIZE)
        for order, row in zip(orders, rows, strict=True):
            order.order_id = row.pk
        OrderLine.objects.bulk_create(
            (
                OrderLine(
                    order_id=order.order_id,
                    product_id=int(product),
                    quantity=int(quantity),
                    unit_price=price,
                    discount=discount,
                    line_total=total,
                )
                for order, product, quantity, price, discount, total in self.lines
            ),
            batch_size=self.BATCH_SIZE,
        )

    def pairs_found(
        self, table: str, columns: tuple[str, str], pairs: list[tuple], *, extra: str = ""
    ) -> dict[tuple, Any]:
        first, second = (self.quote(column) for column in columns)
        found_column = self.quote(extra) if extra else "NULL"
        found: dict[tuple, Any] = {}
        with connection.cursor() as cursor:
            for start in range(0, len(pairs), self.PAIRS_PER_QUERY):
                batch = pairs[start : start + self.PAIRS_PER_QUERY]
                values = ", ".join(["(%s, %s)"] * len(batch))
                cursor.execute(
                    f"""
                    SELECT {first}, {second}, {found_column} FROM {self.quote(table)}
                    WHERE ({first}, {second}) IN (VALUES {values})
                    """,
                    [value for pair in batch for value in pair],
                )
                found.update({(row[0], row[1]): row[2] for row in cursor.fetchall()})
        return found
