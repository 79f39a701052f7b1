"""Seeds a helpdesk at scale (BENCH_TICKETS tickets, default 1,000,000, with 5x messages) for the benchmarks.

Rows are generated inside PostgreSQL with INSERT ... SELECT over generate_series: on a
2-core machine that beat COPY fed from Python generators (about 230k vs 160k message
rows a second in a side-by-side trial), because no row crosses the wire and Python
does not format 5 million lines. Everything happens in ONE transaction: the plain
indexes and foreign keys of the loaded tables are dropped first and recreated from
their own definitions (pg_get_indexdef / pg_get_constraintdef) before the commit, so a
failure rolls the whole thing back and nothing is ever left missing. Primary keys and
unique constraints stay in place throughout. VACUUM (ANALYZE) runs at the end so
autovacuum does not wake up in the middle of a benchmark and the planner has statistics.

Ticket numbers come from nextval('tickets_ticket_number_seq'), in creation order; ids are
reserved as blocks from each table's identity sequence, so both sequences end past the data.

Distributions: customers = tickets/3 (every one with an email identity, 40% also a phone);
orders = tickets/2 (1-4 items, 1.7 on average); channels email 45%, chat 25%, sms 8% /
whatsapp 7%, messenger 8% / instagram 7%; 1-12 messages a ticket, mean 5.0;
last_message_at spread over the last two years; everything quiet for more than four
days is closed apart from a 0.5% stale tail, and the last four days are the live queue
(new / open / pending / on hold / solved); 0-3 of 20 tags; priorities low 15%, normal 60%,
high 20%, urgent 5%; 12% of tickets carry a photo or invoice on their first message.

Usage: python bench/seed_scale.py [--tickets N] [--force] [--skip-if-seeded]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

from _harness import (
    BENCH_TEAM_NAME,
    bench_agent,
    emit,
    emit_load,
    log,
    settle_database,
    setup_django,
    ticket_count,
)

BENCH = "seed_scale"
REFUSE_ABOVE = 1_000
PRODUCTS = 500
AGENTS = 40
DAYS = 730

FIRST_NAMES = [
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Oliver",
    "Sophia",
    "Elijah",
    "Isabella",
    "Lucas",
    "Mia",
    "Mateo",
    "Amelia",
    "Leo",
    "Harper",
    "Ethan",
    "Luna",
    "Sofia",
    "Camila",
    "Diego",
    "Valentina",
    "Santiago",
    "Lucia",
    "Hugo",
    "Chloe",
    "Louis",
    "Lea",
    "Jules",
    "Emma",
    "Lena",
    "Felix",
    "Hannah",
    "Jonas",
    "Mia",
    "Wei",
    "Fang",
    "Jing",
    "Hao",
    "Yuki",
    "Haruto",
    "Sakura",
    "Ren",
    "Minjun",
    "Jiwoo",
    "Seoyeon",
    "Ahmed",
    "Fatima",
    "Omar",
    "Layla",
    "Yusuf",
    "Zeynep",
    "Emir",
    "Elif",
    "Olga",
    "Dmitri",
    "Anastasia",
    "Ivan",
    "Ana",
    "Joao",
    "Beatriz",
    "Rafael",
    "Putri",
    "Budi",
    "Siti",
    "Aditya",
    "Maria",
    "Jose",
]
LAST_NAMES = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Walker",
    "Young",
    "Allen",
    "Muller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Dubois",
    "Moreau",
    "Laurent",
    "Bernard",
    "Rossi",
    "Russo",
    "Silva",
    "Santos",
    "Oliveira",
    "Pereira",
    "Costa",
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Chen",
    "Yang",
    "Sato",
    "Suzuki",
    "Takahashi",
    "Tanaka",
    "Kim",
    "Park",
    "Choi",
    "Yilmaz",
    "Kaya",
    "Demir",
    "Ivanov",
    "Petrov",
    "Smirnova",
    "Haddad",
    "Nasser",
    "Mansour",
    "Wijaya",
    "Santoso",
    "Kusuma",
    "Novak",
    "Horvat",
    "Nowak",
    "Jansen",
]
DOMAINS = ("example.com", "example.net", "example.org", "mail.example", "inbox.example", "post.example")
# (language, timezone, weight)
LOCALES = (
    ("en", "America/New_York", 30),
    ("en", "Europe/London", 12),
    ("en", "America/Los_Angeles", 13),
    ("es", "Europe/Madrid", 5),
    ("es", "America/Mexico_City", 5),
    ("de", "Europe/Berlin", 7),
    ("fr", "Europe/Paris", 7),
    ("pt", "America/Sao_Paulo", 5),
    ("ja", "Asia/Tokyo", 3),
    ("zh-hans", "Asia/Shanghai", 3),
    ("zh-hant", "Asia/Taipei", 1),
    ("ko", "Asia/Seoul", 2),
    ("ru", "Europe/Moscow", 2),
    ("tr", "Europe/Istanbul", 2),
    ("ar", "Asia/Dubai", 2),
    ("id", "Asia/Jakarta", 1),
)
CHANNELS = (("email", 45), ("chat", 25), ("sms", 8), ("whatsapp", 7), ("messenger", 8), ("instagram", 7))
PRIORITIES = (("low", 15), ("normal", 60), ("high", 20), ("urgent", 5))
# Message counts 1..12 with a mean of exactly 5.00.
MESSAGE_COUNTS = tuple(zip(range(1, 13), (11, 12, 13, 13, 12, 10, 8, 7, 5, 4, 3, 2), strict=True))
TAG_COUNTS = ((0, 30), (1, 35), (2, 25), (3, 10))
ITEM_COUNTS = ((1, 55), (2, 25), (3, 12), (4, 8))
LIVE_STATUSES = (("new", 12), ("open", 30), ("pending", 15), ("on_hold", 5), ("solved", 38))
TAGS = (
    "shipping-delay",
    "damaged-item",
    "refund-request",
    "return",
    "exchange",
    "wrong-item",
    "missing-item",
    "order-status",
    "cancel-order",
    "address-change",
    "payment-issue",
    "discount-code",
    "product-question",
    "sizing",
    "warranty",
    "account-login",
    "subscription",
    "complaint",
    "feedback",
    "tracking",
)
TEAMS = (BENCH_TEAM_NAME, "Bench: Returns", "Bench: VIP", "Bench: Espanol", "Bench: Escalations")
PRODUCT_ADJECTIVES = [
    "Organic",
    "Classic",
    "Slim",
    "Relaxed",
    "Vintage",
    "Everyday",
    "Premium",
    "Lightweight",
    "Waterproof",
    "Recycled",
]
PRODUCT_NOUNS = [
    "Cotton T-Shirt",
    "Denim Jacket",
    "Running Shoes",
    "Wool Sweater",
    "Leather Wallet",
    "Canvas Backpack",
    "Yoga Mat",
    "Water Bottle",
    "Ceramic Mug",
    "Linen Shirt",
    "Rain Jacket",
    "Sunglasses",
    "Desk Lamp",
    "Throw Blanket",
    "Phone Case",
    "Hiking Boots",
    "Tote Bag",
    "Scented Candle",
    "Coffee Grinder",
    "Wireless Earbuds",
    "Silk Scarf",
    "Bamboo Socks",
    "Chino Trousers",
    "Baseball Cap",
    "Travel Pillow",
    "Notebook Set",
    "Cutting Board",
    "Plant Pot",
    "Bike Light",
    "Beanie",
    "Hoodie",
    "Sneakers",
    "Watch Strap",
    "Face Serum",
    "Lip Balm",
    "Dog Leash",
    "Cat Bed",
    "Picture Frame",
    "Wall Clock",
    "Speaker",
    "Duffel Bag",
    "Swim Shorts",
    "Pyjama Set",
    "Gym Gloves",
    "Thermos",
    "Kitchen Scale",
    "Bath Towel",
    "Umbrella",
    "Keyring",
    "Apron",
]
ORDER_SUBJECTS = (
    "Where is my order {order}?",
    "Order {order} arrived damaged",
    "Wrong item in order {order}",
    "Return request for order {order}",
    "Refund for order {order}",
    "Please cancel order {order}",
    "Change the shipping address for {order}",
    "Something is missing from {order}",
    "Tracking for {order} has not updated",
    "Exchange a size from order {order}",
    "Charged twice for order {order}",
    "Invoice for order {order}",
)
GENERAL_SUBJECTS = (
    "Question about sizing",
    "Discount code not working",
    "I cannot log in to my account",
    "Do you ship to Canada?",
    "Is this back in stock?",
    "Payment declined at checkout",
    "Gift card balance",
    "Subscription renewal",
    "Feedback on my purchase",
    "Warranty claim",
    "How do I change my email address?",
    "Product recommendation",
    "Wholesale enquiry",
    "Unsubscribe me please",
)
FIRST_INBOUND = (
    "Hi, I placed {order} more than a week ago and the tracking page still says label created. "
    "Can you tell me when it will arrive? I need it for a birthday on Saturday.",
    "Hello, my parcel for {order} arrived today but the box was crushed and the mug inside is broken. "
    "I attached a photo. Could you send a replacement?",
    "Hi there, I ordered a medium but received a large in {order}. How do I swap it?",
    "Hello, I would like to return the items from {order}, they do not fit. What is the process?",
    "Hi, I returned {order} two weeks ago and have not seen the refund yet. Can you check please?",
    "Please cancel {order}, I ordered the wrong colour by mistake. Thanks!",
    "Hi, I moved last week. Can you change the delivery address on {order} before it ships?",
    "The discount code WELCOME10 says it is invalid at checkout. Can you help?",
    "I cannot reset my password, the email never arrives. My account email is this one.",
    "Do you know when the navy version will be back in stock? I have been waiting for a month.",
    "Hi, my card was charged twice for {order}. Please refund the duplicate payment.",
    "Quick question: does the jacket run small? I am usually between M and L.",
)
FOLLOWUP_INBOUND = (
    "Thanks for the quick reply! Any update on this?",
    "I still have not received anything. This is getting frustrating.",
    "Great, that worked. Thank you so much {agent}!",
    "I have sent the photos you asked for. Let me know if you need anything else.",
    "OK, I will wait a few more days then.",
    "Can you confirm the refund amount please?",
    "The tracking number you sent does not work on the carrier site.",
    "Perfect, the replacement arrived today. You can close this.",
)
OUTBOUND = (
    "Hi {name}, thanks for getting in touch. I checked with the carrier and your parcel is on its way; "
    "it should arrive within two working days.",
    "Hi {name}, I am sorry your order arrived damaged. I have sent a replacement free of charge, "
    "you will receive the tracking number by email shortly.",
    "Hi {name}, no problem at all. I have created a return label for {order}; print it and drop the parcel "
    "at any post office within 30 days.",
    "Hi {name}, your refund for {order} has been issued today. It can take 5-10 business days to appear "
    "on your statement.",
    "Hi {name}, I have updated the address on {order}. It will ship tomorrow.",
    "Hi {name}, could you send us a photo of the item and the packaging so we can file a claim?",
    "Hi {name}, that code expired last month, but I have applied a 10% discount to your account instead.",
    "Hi {name}, just checking in: did the replacement arrive? If we do not hear back we will close this ticket.",
)
NOTES = (
    "Carrier claim filed, waiting on their answer.",
    "Customer is a repeat buyer, approved the goodwill credit.",
    "Refund above my limit, asked a supervisor to approve.",
    "Checked the warehouse system: the parcel left on time.",
    "Possible fraud pattern, do not refund before the chargeback window closes.",
)
QUOTED = "> Thank you for contacting us. An agent will reply as soon as possible."


def sql_text(value: str) -> str:
    """A SQL string literal; % doubled because every statement here also carries pyformat parameters."""
    return "'" + value.replace("'", "''").replace("%", "%%") + "'"


def sql_array(values: tuple[str, ...] | list[str]) -> str:
    return "ARRAY[" + ", ".join(sql_text(value) for value in values) + "]::text[]"


def weighted(draw: str, choices: tuple[tuple[Any, int], ...]) -> str:
    """A CASE expression that turns one uniform draw into a weighted choice."""
    total = sum(weight for _value, weight in choices)
    cumulative = 0
    branches = []
    for value, weight in choices[:-1]:
        cumulative += weight
        literal = sql_text(value) if isinstance(value, str) else str(value)
        branches.append(f"WHEN {draw} < {cumulative / total:.6f} THEN {literal}")
    last = choices[-1][0]
    return f"CASE {' '.join(branches)} ELSE {sql_text(last) if isinstance(last, str) else last} END"


def pick(array_sql: str, length: int, draw: str) -> str:
    return f"({array_sql})[1 + floor({draw} * {length})::int]"


def placeholders(expression: str) -> str:
    return (
        f"replace(replace(replace({expression}, '{{order}}', coalesce(t.order_number, 'my order')), "
        f"'{{name}}', t.customer_first_name), '{{agent}}', 'Sam')"
    )


# --------------------------------------------------------------------------------------------------------------------
# Plumbing: reserved id blocks, inserts that fill columns the generator does not know about, index and FK round trip.


def reserve_ids(cursor: Any, table: str, count: int) -> int:
    """The first id of a block of ``count`` ids taken from the table's identity sequence."""
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    sequence = cursor.fetchone()[0]
    cursor.execute(f"SELECT greatest(nextval(%s), coalesce((SELECT max(id) + 1 FROM {table}), 1))", [sequence])  # noqa: S608
    base = cursor.fetchone()[0]
    cursor.execute("SELECT setval(%s, %s)", [sequence, base + max(count, 1) - 1])
    return base


def insert_select(cursor: Any, model: Any, select_sql: str, params: dict[str, Any]) -> int:
    """INSERT INTO model's table the named columns of ``select_sql``, plus the model's defaults for the rest.

    New model fields with a Python default or NULL keep this seed working; a NOT NULL field
    without any default stops it with a message instead of a half-loaded database.
    """
    from django.db import connection
    from django.db.models import NOT_PROVIDED

    cursor.execute(f"SELECT * FROM ({select_sql}) s LIMIT 0", params)  # noqa: S608
    provided = [column.name for column in cursor.description]
    fields = {field.column: field for field in model._meta.concrete_fields}
    unknown = set(provided) - set(fields)
    if unknown:
        raise RuntimeError(f"seed_scale generates columns {sorted(unknown)} that {model.__name__} does not have")
    columns = list(provided)
    values = [f"s.{connection.ops.quote_name(column)}" for column in provided]
    extra = dict(params)
    for column, field in fields.items():
        if column in provided or field.primary_key or field.db_default is not NOT_PROVIDED:
            continue
        if field.has_default():
            key = f"default_{column}"
            extra[key] = field.get_db_prep_save(field.get_default(), connection)
            columns.append(column)
            values.append(f"%({key})s")
        elif not field.null:
            raise RuntimeError(
                f"{model._meta.db_table}.{column} is NOT NULL without a default; teach bench/seed_scale.py to fill it"
            )
    quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
    cursor.execute(
        f"INSERT INTO {model._meta.db_table} ({quoted}) SELECT {', '.join(values)} FROM ({select_sql}) s",  # noqa: S608
        extra,
    )
    return cursor.rowcount


Structure = tuple[str, str, str]


def secondary_structures(cursor: Any, tables: list[str]) -> tuple[list[Structure], list[Structure]]:
    """Plain indexes (not backing a primary key, unique or exclusion constraint) and foreign keys of ``tables``."""
    cursor.execute(
        """
        SELECT ci.relname, ct.relname, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        JOIN pg_class ci ON ci.oid = i.indexrelid
        JOIN pg_class ct ON ct.oid = i.indrelid
        WHERE ct.relnamespace = current_schema()::regnamespace AND ct.relname = ANY(%s)
          AND NOT EXISTS (
            SELECT 1 FROM pg_constraint k
            WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x')
          )
        ORDER BY ct.relname, ci.relname
        """,
        [tables],
    )
    indexes = cursor.fetchall()
    cursor.execute(
        """
        SELECT k.conname, ct.relname, pg_get_constraintdef(k.oid)
        FROM pg_constraint k JOIN pg_class ct ON ct.oid = k.conrelid
        WHERE k.contype = 'f' AND ct.relnamespace = current_schema()::regnamespace AND ct.relname = ANY(%s)
        ORDER BY ct.relname, k.conname
        """,
        [tables],
    )
    return indexes, cursor.fetchall()


# --------------------------------------------------------------------------------------------------------------------
# Reference rows, made with the ORM: agents, teams, tags, products.


def reference_rows() -> dict[str, list[int]]:
    from django.contrib.auth.models import Group

    from accounts.choices import Role
    from accounts.models import Team, User
    from orders.models import Product
    from tickets.models import Tag

    agent_group = Group.objects.get(name=Role.AGENT.label)
    agents = [bench_agent()]
    for index in range(1, AGENTS):
        agent, created = User.objects.get_or_create(
            email=f"bench.agent{index:02d}@bench.helpdesk.test",
            defaults={
                "first_name": FIRST_NAMES[index % len(FIRST_NAMES)],
                "last_name": LAST_NAMES[index % len(LAST_NAMES)],
                "is_staff": True,
                "role": Role.AGENT,
            },
        )
        if created:
            agent.set_unusable_password()
            agent.save(update_fields=["password"])
            agent.groups.add(agent_group)
        agents.append(agent)
    teams = [Team.objects.get_or_create(name=name)[0] for name in TEAMS]
    for position, agent in enumerate(agents):
        teams[position % len(teams)].members.add(agent)
    tags = [Tag.objects.get_or_create(name=name, defaults={"is_complaint": name == "complaint"})[0] for name in TAGS]
    Product.objects.bulk_create(
        [
            Product(
                sku=f"BENCH-{index:04d}",
                name=f"{PRODUCT_ADJECTIVES[index % 10]} {PRODUCT_NOUNS[index // 10 % len(PRODUCT_NOUNS)]}",
                price=Decimal(9 + (index * 37) % 190) + Decimal("0.99"),
                stock_on_hand=(index * 13) % 400,
            )
            for index in range(PRODUCTS)
        ],
        ignore_conflicts=True,
    )
    return {
        "agent_ids": [agent.pk for agent in agents],
        "team_ids": [team.pk for team in teams],
        "tag_ids": [tag.pk for tag in tags],
    }


# --------------------------------------------------------------------------------------------------------------------
# The generated rows.


def plan_customers(cursor: Any, p: dict[str, Any]) -> None:
    locale_draw = "s.r_locale"
    language = weighted(locale_draw, tuple((lang, weight) for lang, _tz, weight in LOCALES))
    timezone_ = weighted(locale_draw, tuple((tz, weight) for _lang, tz, weight in LOCALES))
    cursor.execute(
        f"""
        CREATE TEMP TABLE bench_customer_plan ON COMMIT DROP AS
        SELECT id, first_name, last_name, created_at, language, timezone, r_vip, r_store, r_consent, r_phone,
               lower(first_name) || '.' || lower(last_name) || '.' || id || '@' || domain AS email
        FROM (
          SELECT %(customer_base)s + s.g - 1 AS id,
                 {pick(sql_array(FIRST_NAMES), len(FIRST_NAMES), "random()")} AS first_name,
                 {pick(sql_array(LAST_NAMES), len(LAST_NAMES), "random()")} AS last_name,
                 {pick(sql_array(DOMAINS), len(DOMAINS), "random()")} AS domain,
                 {language} AS language, {timezone_} AS timezone,
                 %(start)s - interval '365 days' + random() * (%(now)s - %(start)s + interval '364 days') AS created_at,
                 random() AS r_vip, random() AS r_store, random() AS r_consent, random() AS r_phone
          FROM (SELECT g, random() AS r_locale FROM generate_series(1, %(customers)s) g) s
        ) c
        """,  # noqa: S608
        p,
    )
    cursor.execute("ANALYZE bench_customer_plan")


def load_customers(cursor: Any, p: dict[str, Any]) -> dict[str, int]:
    from customers.models import Customer, CustomerIdentity

    customers = insert_select(
        cursor,
        Customer,
        """
        SELECT id, created_at, created_at AS updated_at, first_name || ' ' || last_name AS name, language, timezone,
               r_vip < 0.02 AS is_vip, '' AS notes,
               CASE WHEN r_store < 0.9 THEN 'gid://shop/Customer/' || (7000000000 + id) END AS store_customer_id,
               r_consent < 0.4 AS is_marketing_consent_given
        FROM bench_customer_plan
        """,
        p,
    )
    identities = insert_select(
        cursor,
        CustomerIdentity,
        """
        SELECT created_at, created_at AS updated_at, 'email' AS kind, email AS value, true AS is_primary,
               id AS customer_id
        FROM bench_customer_plan
        UNION ALL
        SELECT created_at, created_at, 'phone', '+1555' || lpad(id::text, 8, '0'), false, id
        FROM bench_customer_plan WHERE r_phone < 0.4
        """,
        p,
    )
    return {"customers_customer": customers, "customers_customeridentity": identities}


def load_orders(cursor: Any, p: dict[str, Any]) -> dict[str, int]:
    from orders.models import Order, OrderItem

    cursor.execute(
        """
        CREATE TEMP TABLE bench_product ON COMMIT DROP AS
        SELECT row_number() OVER (ORDER BY sku) - 1 AS idx, id, sku, name, price
        FROM orders_product WHERE sku LIKE 'BENCH-%%'
        """,
        p,
    )
    cursor.execute("ANALYZE bench_product")
    cursor.execute(
        f"""
        CREATE TEMP TABLE bench_order_plan ON COMMIT DROP AS
        SELECT %(order_base)s + g - 1 AS id,
               %(customer_base)s + floor(%(customers)s * power(random(), 1.3))::bigint AS customer_id,
               %(start)s - interval '30 days' + random() * (%(now)s - %(start)s + interval '30 days') AS placed_at,
               {weighted("random()", ITEM_COUNTS)} AS n_items,
               floor(random() * %(products)s)::int AS product0,
               random() AS r_status, random() AS r_discount
        FROM generate_series(1, %(orders)s) g
        """,  # noqa: S608
        p,
    )
    cursor.execute("ANALYZE bench_order_plan")
    cursor.execute(
        """
        CREATE TEMP TABLE bench_item_plan ON COMMIT DROP AS
        SELECT o.id AS order_id, p.id AS product_id, p.sku, p.name, q.quantity, p.price AS unit_price,
               p.price * q.quantity AS line_total
        FROM bench_order_plan o
        CROSS JOIN LATERAL (
          SELECT k, 1 + (random() < 0.2)::int + (random() < 0.05)::int AS quantity FROM generate_series(1, o.n_items) k
        ) q
        JOIN bench_product p ON p.idx = mod(o.product0 + q.k * 37, %(products)s)
        """,
        p,
    )
    cursor.execute("ANALYZE bench_item_plan")
    fulfilment = weighted(
        "o.r_status", (("fulfilled", 86), ("partially_fulfilled", 3), ("cancelled", 5), ("refunded", 6))
    )
    orders = insert_select(
        cursor,
        Order,
        f"""
        SELECT id, placed_at AS created_at, least(placed_at + interval '3 days', %(now)s) AS updated_at,
               '#' || (100000 + id) AS number, 'gid://shop/Order/' || (4000000000 + id) AS store_order_id,
               customer_id, status, 'USD' AS currency, subtotal, shipping_total, tax_total, discount_total,
               subtotal - discount_total + shipping_total + tax_total AS total,
               CASE WHEN status = 'pending' THEN 0 ELSE subtotal - discount_total + shipping_total + tax_total END
                 AS amount_paid,
               placed_at, CASE WHEN status <> 'pending' THEN placed_at + interval '2 minutes' END AS paid_at
        FROM (
          SELECT o.*, t.subtotal,
                 CASE WHEN t.subtotal >= 75 THEN 0 ELSE 5.99 END AS shipping_total,
                 CASE WHEN o.r_discount < 0.15 THEN round(t.subtotal * 0.10, 2) ELSE 0 END AS discount_total,
                 round(t.subtotal * (CASE WHEN o.r_discount < 0.15 THEN 0.90 ELSE 1 END) * 0.08, 2) AS tax_total,
                 CASE WHEN o.placed_at > %(now)s - interval '2 days'
                      THEN CASE WHEN o.r_status < 0.1 THEN 'pending' ELSE 'paid' END
                      ELSE {fulfilment} END AS status
          FROM bench_order_plan o
          JOIN (SELECT order_id, sum(line_total) AS subtotal FROM bench_item_plan GROUP BY order_id) t
            ON t.order_id = o.id
        ) x
        ORDER BY id
        """,  # noqa: S608
        p,
    )
    items = insert_select(
        cursor,
        OrderItem,
        "SELECT order_id, product_id, sku, name, quantity, unit_price, line_total FROM bench_item_plan",
        p,
    )
    return {"orders_order": orders, "orders_orderitem": items}


def plan_tickets(cursor: Any, p: dict[str, Any]) -> int:
    """One row per ticket with everything its messages, tags and attachments need; returns the message count."""
    cursor.execute(
        """
        CREATE TEMP TABLE bench_ticket_draws ON COMMIT DROP AS
        SELECT g AS i, %(ticket_base)s + g - 1 AS id,
               %(start)s + (g - random()) * ((%(now)s - %(start)s) / %(tickets)s) AS created_at,
               random() AS r_channel, random() AS r_messages, random() AS r_gap, random() AS r_status,
               random() AS r_priority, random() AS r_order, random() AS r_customer, random() AS r_assignee,
               random() AS r_team, random() AS r_subject, random() AS r_tags, random() AS r_tag0
        FROM generate_series(1, %(tickets)s) g
        """,
        p,
    )
    cursor.execute("ANALYZE bench_ticket_draws")
    gap = (
        "CASE a.channel WHEN 'email' THEN interval '5 hours' WHEN 'chat' THEN interval '4 minutes' "
        "ELSE interval '40 minutes' END"
    )
    live_status = weighted("a.r_status", LIVE_STATUSES)
    cursor.execute(
        f"""
        CREATE TEMP TABLE bench_ticket_plan ON COMMIT DROP AS
        SELECT d.*, o.number AS order_number, c.email AS customer_email, c.first_name AS customer_first_name,
               sum(d.n_messages) OVER (ORDER BY d.i) - d.n_messages AS message_offset,
               CASE WHEN d.order_id IS NOT NULL
                    THEN replace({pick(sql_array(ORDER_SUBJECTS), len(ORDER_SUBJECTS), "d.r_subject")}, '{{order}}',
                                 o.number)
                    ELSE {pick(sql_array(GENERAL_SUBJECTS), len(GENERAL_SUBJECTS), "d.r_subject")} END AS subject
        FROM (
          SELECT b.*,
                 coalesce(ord.customer_id, %(customer_base)s + floor(%(customers)s * power(b.r_customer, 1.3))::bigint)
                   AS customer_id,
                 CASE WHEN b.status = 'new' THEN NULL
                      WHEN b.status IN ('open', 'pending') AND b.r_assignee < 0.05 THEN NULL
                      ELSE (%(agent_ids)s::bigint[])[1 + floor(b.r_assignee * %(agent_count)s)::int] END AS assignee_id,
                 CASE WHEN b.r_team < 0.85
                      THEN (%(team_ids)s::bigint[])[1 + floor(b.r_team / 0.85 * %(team_count)s)::int] END AS team_id,
                 CASE WHEN b.status IN ('solved', 'closed') THEN b.last_message_at END AS solved_at,
                 CASE WHEN b.status = 'closed' THEN b.last_message_at + interval '4 days' END AS closed_at
          FROM (
            SELECT a.*,
                   CASE WHEN %(now)s - a.last_message_at <= interval '4 days' THEN {live_status}
                        WHEN a.r_status < 0.002 THEN 'open' WHEN a.r_status < 0.004 THEN 'pending'
                        WHEN a.r_status < 0.005 THEN 'on_hold' ELSE 'closed' END AS status,
                   {weighted("a.r_priority", PRIORITIES)} AS priority,
                   {weighted("a.r_tags", TAG_COUNTS)} AS n_tags,
                   floor(a.r_tag0 * %(tag_count)s)::int AS tag0,
                   CASE WHEN a.r_order < 0.6 THEN %(order_base)s + floor(a.r_order / 0.6 * %(orders)s)::bigint END
                     AS order_id
            FROM (
              SELECT x.*,
                     CASE WHEN x.created_at + x.duration < %(now)s THEN x.created_at + x.duration
                          ELSE x.created_at + (%(now)s - x.created_at) * x.r_gap END AS last_message_at
              FROM (
                SELECT a.*, (a.n_messages - 1) * least(-ln(1 - a.r_gap), 8) * {gap} AS duration
                FROM (
                  SELECT r.*, {weighted("r.r_channel", CHANNELS)} AS channel,
                         {weighted("r.r_messages", MESSAGE_COUNTS)} AS n_messages
                  FROM bench_ticket_draws r
                ) a
              ) x
            ) a
          ) b
          LEFT JOIN bench_order_plan ord ON ord.id = b.order_id
        ) d
        LEFT JOIN (SELECT id, '#' || (100000 + id) AS number FROM bench_order_plan) o ON o.id = d.order_id
        JOIN bench_customer_plan c ON c.id = d.customer_id
        """,  # noqa: S608
        p,
    )
    cursor.execute("ANALYZE bench_ticket_plan")
    cursor.execute("SELECT coalesce(sum(n_messages), 0) FROM bench_ticket_plan")
    return int(cursor.fetchone()[0])


def load_tickets(cursor: Any, p: dict[str, Any]) -> dict[str, int]:
    from tickets.models import Ticket

    tickets = insert_select(
        cursor,
        Ticket,
        """
        SELECT id, created_at, coalesce(closed_at, last_message_at) AS updated_at,
               nextval('tickets_ticket_number_seq') AS number, subject, status, priority, channel, last_message_at,
               solved_at, closed_at, n_messages + 1 AS version, assignee_id, customer_id, order_id, team_id,
               CASE WHEN n_messages > 1 AND status <> 'new'
                    THEN created_at + (last_message_at - created_at) / (n_messages - 1) END AS first_agent_reply_at,
               coalesce(closed_at, last_message_at) AS status_changed_at,
               CASE WHEN status IN ('new', 'open') THEN last_message_at + interval '8 hours' END AS sla_next_due_at
        FROM bench_ticket_plan
        ORDER BY i
        """,
        p,
    )
    tags = insert_select(
        cursor,
        Ticket.tags.through,
        """
        SELECT t.id AS ticket_id, (%(tag_ids)s::bigint[])[1 + mod(t.tag0 + k * 7, %(tag_count)s)] AS tag_id
        FROM bench_ticket_plan t CROSS JOIN LATERAL generate_series(1, t.n_tags) k
        """,
        p,
    )
    return {"tickets_ticket": tickets, "tickets_ticket_tags": tags}


def load_messages(cursor: Any, p: dict[str, Any]) -> dict[str, int]:
    from tickets.models import Attachment, Message

    first = placeholders(pick(sql_array(FIRST_INBOUND), len(FIRST_INBOUND), "d.r_body"))
    followup = placeholders(pick(sql_array(FOLLOWUP_INBOUND), len(FOLLOWUP_INBOUND), "d.r_body"))
    outbound = placeholders(pick(sql_array(OUTBOUND), len(OUTBOUND), "d.r_body"))
    note = pick(sql_array(NOTES), len(NOTES), "d.r_body")
    messages = insert_select(
        cursor,
        Message,
        f"""
        SELECT m.id, m.ts AS created_at, m.ts AS updated_at, t.channel, m.direction,
               CASE WHEN m.direction <> 'inbound'
                    THEN coalesce(t.assignee_id, (%(agent_ids)s::bigint[])[1 + floor(m.r_body * %(agent_count)s)::int])
                    END AS author_id,
               m.body_text,
               CASE WHEN t.channel = 'email' AND m.direction <> 'note' THEN '<p>' || m.body_text || '</p>' ELSE ''
                 END AS body_html,
               CASE WHEN t.channel = 'email' AND m.direction = 'inbound' AND m.k > 1 THEN {sql_text(QUOTED)} ELSE ''
                 END AS quoted_text,
               CASE WHEN m.direction = 'note' THEN NULL
                    WHEN t.channel = 'email' AND m.direction = 'inbound'
                      THEN '<CA' || m.id || '.' || t.customer_id || '@mail.example.com>'
                    WHEN t.channel = 'email' THEN '<' || md5(m.id::text) || '.t' || t.id || '@helpdesk.localhost>'
                    WHEN t.channel = 'sms' THEN 'SM' || lpad(to_hex(m.id), 32, '0')
                    WHEN t.channel = 'whatsapp' THEN 'wamid.' || m.id
                    WHEN t.channel IN ('messenger', 'instagram') THEN 'm_' || m.id
                    END AS external_message_id,
               CASE WHEN t.channel = 'email' AND m.k > 1
                    THEN jsonb_build_array(
                      '<CA' || (%(message_base)s + t.message_offset) || '.' || t.customer_id || '@mail.example.com>')
                    ELSE '[]'::jsonb END AS "references",
               CASE WHEN m.direction <> 'inbound' THEN ''
                    WHEN t.channel = 'email' THEN t.customer_email
                    WHEN t.channel IN ('sms', 'whatsapp') THEN '+1555' || lpad(t.customer_id::text, 8, '0')
                    ELSE '' END AS sender_address,
               false AS is_automatic, t.id AS ticket_id
        FROM bench_ticket_plan t
        CROSS JOIN LATERAL (
          SELECT d.*,
                 CASE d.direction WHEN 'inbound' THEN CASE WHEN d.k = 1 THEN {first} ELSE {followup} END
                                  WHEN 'outbound' THEN {outbound} ELSE {note} END AS body_text
          FROM (
            SELECT m.*,
                   CASE WHEN m.k = 1 OR t.status = 'new' THEN 'inbound' WHEN m.r_direction < 0.08 THEN 'note'
                        WHEN mod(m.k, 2) = 0 THEN 'outbound' ELSE 'inbound' END AS direction
            FROM (
              SELECT k, %(message_base)s + t.message_offset + k - 1 AS id, random() AS r_direction,
                     random() AS r_body,
                     t.created_at
                       + (t.last_message_at - t.created_at) * ((k - 1)::float8 / greatest(t.n_messages - 1, 1)) AS ts
              FROM generate_series(1, t.n_messages) k
            ) m
          ) d
        ) m
        """,  # noqa: S608
        p,
    )
    attachments = insert_select(
        cursor,
        Attachment,
        """
        SELECT t.created_at, t.created_at AS updated_at,
               'attachments/' || to_char(t.created_at, 'YYYY/MM') || '/' || a.filename AS file, a.filename,
               a.content_type, a.size, '' AS content_id, false AS is_inline, '' AS refusal_reason,
               %(message_base)s + t.message_offset AS message_id
        FROM (SELECT *, random() AS r_attach FROM bench_ticket_plan) t
        CROSS JOIN LATERAL (
          SELECT CASE WHEN n = 1 THEN 'IMG_' || (1000 + mod(t.id, 9000)) || '.jpg'
                      ELSE 'invoice-' || t.id || '.pdf' END AS filename,
                 CASE WHEN n = 1 THEN 'image/jpeg' ELSE 'application/pdf' END AS content_type,
                 40000 + floor(random() * 2500000)::bigint AS size
          FROM generate_series(1, CASE WHEN t.r_attach < 0.03 THEN 2 WHEN t.r_attach < 0.12 THEN 1 ELSE 0 END) n
        ) a
        """,
        p,
    )
    return {"tickets_message": messages, "tickets_attachment": attachments}


# --------------------------------------------------------------------------------------------------------------------


def seed(*, tickets: int) -> dict[str, float]:
    from django.db import connection, transaction
    from django.utils import timezone

    from customers.models import Customer, CustomerIdentity
    from orders.models import Order, OrderItem
    from tickets.models import Attachment, Message, Ticket

    loaded = [Customer, CustomerIdentity, Order, OrderItem, Ticket, Ticket.tags.through, Message, Attachment]
    tables = [model._meta.db_table for model in loaded]
    customers, orders = max(tickets // 3, 1), max(tickets // 2, 1)
    phases: dict[str, float] = {}
    rows: dict[str, int] = {}

    def phase(name: str, started: float) -> float:
        phases[name] = round(time.monotonic() - started, 2)
        log(f"seed_scale: {name} done in {phases[name]} s")
        return time.monotonic()

    started = time.monotonic()
    with connection.cursor() as cursor:
        # Session settings only: the server's configuration is left alone.
        cursor.execute("SET temp_buffers = '1GB'")
        cursor.execute("SET work_mem = '256MB'")
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute("SET synchronous_commit = off")
    # Committed on their own (and idempotent): their pending FK checks would block the ALTER TABLEs below.
    with transaction.atomic():
        references = reference_rows()
    with transaction.atomic(), connection.cursor() as cursor:
        now = timezone.now()
        p: dict[str, Any] = {
            "tickets": tickets,
            "customers": customers,
            "orders": orders,
            "products": PRODUCTS,
            "now": now,
            "start": now - timedelta(days=DAYS),
            **references,
        }
        p.update(agent_count=len(p["agent_ids"]), team_count=len(p["team_ids"]), tag_count=len(p["tag_ids"]))
        cursor.execute("SELECT setseed(0.4242)")
        indexes, foreign_keys = secondary_structures(cursor, tables)
        for name, _table, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        for name, table, _definition in foreign_keys:
            cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        log(f"seed_scale: dropped {len(indexes)} indexes and {len(foreign_keys)} foreign keys for the load")
        mark = phase("prepare", started)

        p["customer_base"] = reserve_ids(cursor, "customers_customer", customers)
        plan_customers(cursor, p)
        rows.update(load_customers(cursor, p))
        mark = phase("customers", mark)

        p["order_base"] = reserve_ids(cursor, "orders_order", orders)
        rows.update(load_orders(cursor, p))
        mark = phase("orders", mark)

        p["ticket_base"] = reserve_ids(cursor, "tickets_ticket", tickets)
        message_count = plan_tickets(cursor, p)
        p["message_base"] = reserve_ids(cursor, "tickets_message", message_count)
        rows.update(load_tickets(cursor, p))
        mark = phase("tickets", mark)

        rows.update(load_messages(cursor, p))
        mark = phase("messages", mark)

        for name, _table, definition in indexes:
            index_started = time.monotonic()
            cursor.execute(definition)
            log(f"seed_scale: index {name} rebuilt in {time.monotonic() - index_started:.1f} s")
        mark = phase("indexes", mark)
        for name, table, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
        mark = phase("foreign_keys", mark)

        # The numbers came from nextval in creation order: check, so a planner change cannot scramble them.
        cursor.execute(
            """
            SELECT count(*) FILTER (WHERE step <= 0), (SELECT last_value FROM tickets_ticket_number_seq),
                   max(number)
            FROM (SELECT number, number - lag(number) OVER (ORDER BY id) AS step
                  FROM tickets_ticket WHERE id >= %(ticket_base)s) s
            """,
            p,
        )
        out_of_order, sequence_value, highest = cursor.fetchone()
        if out_of_order or sequence_value < highest:
            raise RuntimeError(f"ticket numbers out of creation order ({out_of_order}) or past the sequence")
    mark = phase("commit", mark)
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f'VACUUM (ANALYZE) "{table}"')
    settle_database(connection)
    phase("vacuum_analyze", mark)
    for table, count in rows.items():
        emit(BENCH, f"{table}_rows", count, "rows", scale=tickets)
    for name, seconds in phases.items():
        emit(BENCH, f"{name}_seconds", seconds, "s", scale=tickets)
    total_rows = sum(rows.values())
    seconds = time.monotonic() - started
    emit(BENCH, "rows", total_rows, "rows", scale=tickets)
    emit(BENCH, "seconds", round(seconds, 1), "s", scale=tickets, target_s=1200, meets_target=seconds < 1200)
    emit(BENCH, "rows_per_second", round(total_rows / seconds), "rows/s", scale=tickets)
    emit(BENCH, "messages_per_ticket", round(rows["tickets_message"] / tickets, 2), "messages", scale=tickets)
    return phases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=int(os.environ.get("BENCH_TICKETS", "1000000")))
    parser.add_argument("--force", action="store_true", help=f"seed even if more than {REFUSE_ABOVE} tickets exist")
    parser.add_argument(
        "--skip-if-seeded", action="store_true", help="do nothing when the database already has --tickets tickets"
    )
    args = parser.parse_args()
    setup_django()
    from django.conf import settings

    existing = ticket_count()
    database = settings.DATABASES["default"]["NAME"]
    if args.skip_if_seeded and existing >= args.tickets:
        emit(BENCH, "skipped", existing, "tickets", scale=existing, note=f"{database} already has {existing} tickets")
        return 0
    if existing > REFUSE_ABOVE and not args.force:
        message = (
            f"seed_scale: refusing to seed: database {database!r} already has {existing} tickets "
            f"(more than {REFUSE_ABOVE}). Use an empty database, or pass --force to add {args.tickets} more."
        )
        log(message)
        emit(BENCH, "refused", existing, "tickets", scale=existing, note=message)
        return 2
    log(f"seed_scale: seeding {args.tickets} tickets into {database!r} ({existing} tickets there already)")
    emit_load(BENCH, "start")
    seed(tickets=args.tickets)
    emit_load(BENCH, "end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
