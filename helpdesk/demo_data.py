"""The demo store that ``seed_demo`` writes: staff, customers, products, orders and tickets, from a fixed seed.

Everything is planned in memory first (deterministic for a given seed and clock), then written with
bulk inserts inside one transaction, skipping rows whose natural key (staff email, customer email,
SKU, order number, a ticket's first Message-ID) already exists. Running it again creates nothing.
"""

# Customers write in their own languages and scripts, so full-width punctuation, Cyrillic and the
# Turkish dotless i are meant.
# ruff: noqa: RUF001

from __future__ import annotations

import base64
import hashlib
import random
import unicodedata
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from html import escape
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import models, transaction
from django.utils import timezone

from accounts.choices import Availability, Role
from accounts.demo import DEMO_PASSWORD, DEMO_STAFF
from accounts.models import AgentProfile, Team, User
from customers.choices import IdentityKind
from customers.models import Customer, CustomerIdentity
from orders.choices import OrderStatus, ShipmentStatus
from orders.models import Order, OrderItem, Product, Shipment
from tickets.choices import Channel, MessageDirection, Priority, TicketStatus
from tickets.models import Message, MessageDelivery, Tag, Ticket

DEMO_SEED = 20_240_917
STORE_NAME = "Juniper & Pine"
CUSTOMER_COUNT = 200
ORDER_COUNT = 500
TICKET_COUNT = 300
FIRST_ORDER_NUMBER = 1001
HISTORY_DAYS = 120
INBOUND_MESSAGE_ID_DOMAIN = "mail.example.com"
OUTBOUND_MESSAGE_ID_DOMAIN = "demo.helpdesk.test"
CUSTOMER_EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
CENT = Decimal("0.01")
TICKET_CHANNELS = (
    Channel.EMAIL,  # first: ticket 0 is always email, so its Message-ID is the completion marker
    Channel.CHAT,
    Channel.SMS,
    Channel.WHATSAPP,
    Channel.MESSENGER,
    Channel.INSTAGRAM,
)
COMPLAINT_TAG = "complaint"
ORDERS_TEAM = "Orders & Shipping"
BILLING_TEAM = "Billing & Returns"


# --- What exists in the store ------------------------------------------------------------------

# (sku, name, price in USD, is apparel: has a size that can be wrong)
PRODUCTS: tuple[tuple[str, str, str, bool], ...] = (
    ("TEE-OCC-BLK-M", "Organic Cotton Crew Tee — Black / M", "28.00", True),
    ("TEE-OCC-WHT-L", "Organic Cotton Crew Tee — White / L", "28.00", True),
    ("TEE-OCC-HGR-S", "Organic Cotton Crew Tee — Heather Grey / S", "28.00", True),
    ("SHT-LIN-SND-M", "Linen Button-Down Shirt — Sand / M", "78.00", True),
    ("SHT-LIN-SKY-L", "Linen Button-Down Shirt — Sky Blue / L", "78.00", True),
    ("SWT-MER-OAT-M", "Merino Wool Crewneck Sweater — Oatmeal / M", "118.00", True),
    ("SWT-MER-NVY-L", "Merino Wool Crewneck Sweater — Navy / L", "118.00", True),
    ("PNT-CHN-KHK-3232", "Relaxed Fit Chino — Khaki / 32x32", "68.00", True),
    ("PNT-CHN-OLV-3432", "Relaxed Fit Chino — Olive / 34x32", "68.00", True),
    ("JNS-HRS-IND-28", "High-Rise Straight Jeans — Indigo / 28", "89.00", True),
    ("JNS-HRS-WBK-30", "High-Rise Straight Jeans — Washed Black / 30", "89.00", True),
    ("HOD-EVD-FGR-M", "Everyday Hoodie — Forest Green / M", "64.00", True),
    ("HOD-EVD-CHR-XL", "Everyday Hoodie — Charcoal / XL", "64.00", True),
    ("VST-QPF-BLK-M", "Quilted Puffer Vest — Black / M", "98.00", True),
    ("JKT-RAN-YLW-S", "Waterproof Rain Jacket — Yellow / S", "145.00", True),
    ("JKT-RAN-NVY-M", "Waterproof Rain Jacket — Navy / M", "145.00", True),
    ("DRS-WRP-TER-S", "Wrap Midi Dress — Terracotta / S", "95.00", True),
    ("DRS-WRP-BLK-M", "Wrap Midi Dress — Black / M", "95.00", True),
    ("TNK-RIB-IVR-S", "Ribbed Tank Top — Ivory / S", "24.00", True),
    ("HAT-CSH-CML-OS", "Cashmere Beanie — Camel", "45.00", False),
    ("BLT-LTH-BRN-34", "Classic Leather Belt — Brown / 34", "52.00", True),
    ("SCK-CRW-MIX-3PK", "Everyday Crew Socks, 3-Pack — Mixed", "18.00", False),
    ("SNK-CNV-WHT-09", "Canvas Low-Top Sneaker — White / 9", "72.00", True),
    ("SNK-CNV-BLK-10", "Canvas Low-Top Sneaker — Black / 10", "72.00", True),
    ("BOT-CHL-TAN-08", "Leather Chelsea Boot — Tan / 8", "189.00", True),
    ("BAG-TOT-OLV-OS", "Waxed Canvas Tote Bag — Olive", "58.00", False),
    ("JKT-DWN-BLK-M", "Packable Down Jacket — Black / M", "168.00", True),
    ("SCF-SLK-NVD-OS", "Silk Blend Scarf — Navy Dot", "39.00", False),
    ("BED-LDV-NAT-QN", "Stonewashed Linen Duvet Cover — Queen / Natural", "189.00", False),
    ("BED-LDV-SLT-KG", "Stonewashed Linen Duvet Cover — King / Slate", "219.00", False),
    ("BED-PSS-WHT-QN", "Percale Sheet Set — Queen / White", "129.00", False),
    ("BTH-WAF-SGE-4PC", "Waffle Weave Bath Towel Set of 4 — Sage", "74.00", False),
    ("BTH-ROB-WHT-LXL", "Turkish Cotton Bathrobe — White / L-XL", "88.00", True),
    ("HOM-THR-CRM-OS", "Chunky Knit Throw Blanket — Cream", "119.00", False),
    ("KIT-PLT-SPW-4PC", "Stoneware Dinner Plates, Set of 4 — Speckled White", "64.00", False),
    ("KIT-MUG-CHR-12OZ", "Stoneware Mug 12 oz — Matte Charcoal", "22.00", False),
    ("KIT-SKL-CIR-10IN", 'Pre-Seasoned Cast Iron Skillet 10"', "42.00", False),
    ("KIT-POV-GLS-600ML", "Glass Pour-Over Coffee Maker 600 ml", "46.00", False),
    ("KIT-NAP-RST-6PC", "Linen Napkins, Set of 6 — Rust", "36.00", False),
    ("HOM-CDL-CSG-8OZ", "Soy Wax Candle — Cedar & Sage", "32.00", False),
    ("HOM-CDL-FGA-8OZ", "Soy Wax Candle — Fig & Amber", "32.00", False),
    ("RUG-JUT-NAT-5X8", "Handwoven Jute Rug — 5 x 8 ft", "249.00", False),
    ("HOM-PIL-EMR-20", "Velvet Pillow Cover 20 x 20 — Emerald", "34.00", False),
    ("KIT-CBD-BMB-LG", "Bamboo Cutting Board — Large", "38.00", False),
    ("KIT-JAR-GLS-3PC", "Glass Storage Jars, Set of 3", "29.00", False),
    ("LGT-LMP-SND-OS", "Ceramic Table Lamp — Sand", "138.00", False),
    ("HOM-BSK-NAT-MD", "Woven Seagrass Basket — Medium", "44.00", False),
    ("KIT-DOV-CRM-55QT", "Enamelled Dutch Oven 5.5 qt — Cream", "159.00", False),
    ("HOM-MAT-WOL-OS", "Wool Blend Doormat — Charcoal", "48.00", False),
    ("HOM-DIF-WOK-OS", "Ultrasonic Aroma Diffuser — White Oak", "58.00", False),
)


@dataclass(frozen=True)
class Market:
    """Where a customer lives: the language they write in, and what checkout charges them."""

    language: str
    faker_locale: str
    country: str
    timezones: tuple[str, ...]
    currency: str
    weight: int
    country_in_english: str
    country_in_language: str
    tax_rates: tuple[str, ...]  # sales tax or VAT charged at checkout; one is picked per customer
    is_family_name_first: bool = False
    is_tax_on_shipping: bool = False


MARKETS: tuple[Market, ...] = (
    Market(
        "en",
        "en_US",
        "US",
        ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"),
        "USD",
        34,
        "the US",
        "the US",
        ("0", "0.0625", "0.0725", "0.08875", "0.06", "0.0825", "0.1025", "0.04"),
    ),
    Market("en", "en_GB", "GB", ("Europe/London",), "USD", 7, "the UK", "the UK", ("0.20",), is_tax_on_shipping=True),
    Market("es", "es_ES", "ES", ("Europe/Madrid",), "EUR", 5, "Spain", "España", ("0.21",), is_tax_on_shipping=True),
    Market("es", "es_MX", "MX", ("America/Mexico_City",), "USD", 5, "Mexico", "México", ("0",)),
    Market("fr", "fr_FR", "FR", ("Europe/Paris",), "EUR", 7, "France", "la France", ("0.20",), is_tax_on_shipping=True),
    Market(
        "de", "de_DE", "DE", ("Europe/Berlin",), "EUR", 8, "Germany", "Deutschland", ("0.19",), is_tax_on_shipping=True
    ),
    Market("ja", "ja_JP", "JP", ("Asia/Tokyo",), "USD", 7, "Japan", "日本", ("0",), is_family_name_first=True),
    Market("zh-hans", "zh_CN", "CN", ("Asia/Shanghai",), "USD", 6, "China", "中国", ("0",), is_family_name_first=True),
    Market("zh-hant", "zh_TW", "TW", ("Asia/Taipei",), "USD", 4, "Taiwan", "台灣", ("0",), is_family_name_first=True),
    Market("pt", "pt_BR", "BR", ("America/Sao_Paulo",), "USD", 5, "Brazil", "o Brasil", ("0",)),
    Market(
        "pt", "pt_PT", "PT", ("Europe/Lisbon",), "EUR", 2, "Portugal", "Portugal", ("0.23",), is_tax_on_shipping=True
    ),
    Market("ar", "ar_SA", "SA", ("Asia/Riyadh",), "USD", 3, "Saudi Arabia", "السعودية", ("0",)),
    Market("ar", "ar_SA", "AE", ("Asia/Dubai",), "USD", 2, "the UAE", "الإمارات", ("0",)),
    Market("ko", "ko_KR", "KR", ("Asia/Seoul",), "USD", 5, "South Korea", "한국", ("0",), is_family_name_first=True),
    Market("tr", "tr_TR", "TR", ("Europe/Istanbul",), "USD", 4, "Türkiye", "Türkiye'ye", ("0",)),
    Market("ru", "ru_RU", "RU", ("Europe/Moscow",), "USD", 4, "Russia", "Россия", ("0",)),
    Market("id", "id_ID", "ID", ("Asia/Jakarta",), "USD", 4, "Indonesia", "Indonesia", ("0",)),
)


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


US_AREA_CODES = ("212", "310", "415", "512", "617", "702", "206", "303", "404", "305")
# Mobile numbers in E.164, in each country's real numbering plan (US and UK in their fictional ranges).
PHONE_FORMATS: dict[str, Callable[[random.Random], str]] = {
    "US": lambda r: f"+1{r.choice(US_AREA_CODES)}55501{_digits(r, 2)}",
    "GB": lambda r: f"+447700900{_digits(r, 3)}",
    "ES": lambda r: f"+34{r.choice('67')}{_digits(r, 8)}",
    "MX": lambda r: f"+52{r.choice(['55', '33', '81'])}{_digits(r, 8)}",
    "FR": lambda r: f"+33{r.choice('67')}{_digits(r, 8)}",
    "DE": lambda r: f"+49{r.choice(['151', '152', '157', '160', '170', '172', '176'])}{_digits(r, 8)}",
    "JP": lambda r: f"+81{r.choice(['70', '80', '90'])}{_digits(r, 8)}",
    "CN": lambda r: f"+86{r.choice(['135', '138', '139', '150', '186', '188'])}{_digits(r, 8)}",
    "TW": lambda r: f"+8869{_digits(r, 8)}",
    "BR": lambda r: f"+55{r.choice(['11', '21', '31', '41', '51', '61', '71', '81'])}9{_digits(r, 8)}",
    "PT": lambda r: f"+3519{r.choice('1236')}{_digits(r, 7)}",
    "SA": lambda r: f"+9665{_digits(r, 8)}",
    "AE": lambda r: f"+9715{r.choice('0245')}{_digits(r, 7)}",
    "KR": lambda r: f"+8210{_digits(r, 8)}",
    "TR": lambda r: f"+905{r.choice('0345')}{_digits(r, 8)}",
    "RU": lambda r: f"+79{_digits(r, 9)}",
    "ID": lambda r: f"+628{r.choice('1257')}{_digits(r, 9)}",
}

CARRIER_URLS = {
    "UPS": "https://www.ups.com/track?tracknum={}",
    "USPS": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    "FedEx": "https://www.fedex.com/fedextrack/?trknbr={}",
    "DHL": "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id={}",
}
UPS_SHIPPER_ACCOUNT = "4F9E27"

DISCOUNT_CODES = (("WELCOME10", "0.10"), ("SPRING15", "0.15"), ("THANKYOU20", "0.20"), ("TAKE10", "10.00"))
NEWSLETTER_CODES = ("WELCOME10", "SPRING15", "FREESHIP", "WEEKEND20")


@dataclass(frozen=True)
class StaffProfile:
    languages: tuple[str, ...]
    availability: str
    chat_capacity: int = 3


STAFF_PROFILES: dict[str, StaffProfile] = {
    "agent@demo.helpdesk.test": StaffProfile(("en", "es", "pt"), Availability.AVAILABLE),
    "agent2@demo.helpdesk.test": StaffProfile(("en", "fr", "de"), Availability.AVAILABLE),
    "agent3@demo.helpdesk.test": StaffProfile(("en", "zh-hans", "zh-hant", "ja", "ko"), Availability.AWAY, 4),
    "supervisor@demo.helpdesk.test": StaffProfile(("en", "ru", "tr"), Availability.AVAILABLE, 2),
    "admin@demo.helpdesk.test": StaffProfile(("en", "ar", "id"), Availability.OFFLINE, 2),
}


# --- What customers write about ---------------------------------------------------------------


@dataclass(frozen=True)
class ContactReason:
    tag: str
    team: str
    weight: int
    order_rule: str  # "required", "optional" or "none": whether the ticket is about one of the customer's orders
    complaint_chance: float
    priority_weights: tuple[int, int, int, int]  # urgent, high, normal, low


REASONS: dict[str, ContactReason] = {
    "wismo": ContactReason("Where is my order?", ORDERS_TEAM, 24, "required", 0.2, (4, 22, 60, 14)),
    "charged_twice": ContactReason("Charged twice", BILLING_TEAM, 6, "required", 0.3, (15, 40, 40, 5)),
    "wrong_size": ContactReason("Wrong size", BILLING_TEAM, 9, "required", 0.05, (0, 10, 65, 25)),
    "return_request": ContactReason("Return request", BILLING_TEAM, 12, "required", 0.05, (0, 10, 60, 30)),
    "damaged_item": ContactReason("Damaged item", BILLING_TEAM, 8, "required", 0.35, (8, 40, 47, 5)),
    "discount_code": ContactReason("Discount code not working", BILLING_TEAM, 8, "optional", 0.05, (0, 8, 60, 32)),
    "cancel_order": ContactReason("Cancel order", ORDERS_TEAM, 6, "required", 0.05, (10, 45, 40, 5)),
    "change_address": ContactReason("Change shipping address", ORDERS_TEAM, 5, "required", 0.0, (10, 45, 40, 5)),
    "product_question": ContactReason("Product question", ORDERS_TEAM, 10, "none", 0.0, (0, 5, 50, 45)),
    "refund_status": ContactReason("Refund status", BILLING_TEAM, 7, "required", 0.25, (3, 30, 57, 10)),
    "missing_item": ContactReason("Missing item", ORDERS_TEAM, 5, "required", 0.25, (5, 40, 50, 5)),
}
PRIORITIES = (Priority.URGENT, Priority.HIGH, Priority.NORMAL, Priority.LOW)

# English conversation pieces per reason. Placeholders are filled from the ticket's order and customer.
CONVERSATIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "wismo": {
        "subject": ("Where is my order {order}?", "Order {order} hasn't arrived", "Tracking not updating for {order}"),
        "open": (
            "I ordered {order} on {placed} and the tracking hasn't updated in days. "
            "Can you tell me where my package is?",
            "My order {order} still hasn't arrived. I need it before the weekend, could you check on it please?",
            "Where is my order? {order} should be here by now and the tracking link just says in transit.",
        ),
        "agent_first": (
            "Thanks for reaching out! I checked {order}: it shipped with {carrier} (tracking {tracking}) and the "
            "latest scan shows it moving through their network. The current estimate is {eta}. "
            "You can follow it here: {tracking_url}",
            "Sorry for the wait. Your package for {order} is with {carrier} under tracking number {tracking}. "
            "I've asked the carrier for an update and will let you know as soon as I hear back.",
        ),
        "agent_first_unshipped": (
            "Thanks for your patience! {order} is packed and waiting for carrier pickup. It should ship within one "
            "business day and you'll get the tracking link by email.",
        ),
        "customer_reply": (
            "Okay, thanks. The tracking page hasn't changed for three days though. Is it lost?",
            "Thank you. Will it arrive by {eta}? I'm travelling after that.",
        ),
        "agent_hold": (
            "I've opened a trace with {carrier} for tracking {tracking}. They usually reply within 1-2 business "
            "days and I'll update you as soon as they do.",
        ),
        "note": (
            "Opened carrier trace with {carrier}, ref {case_ref}. If no movement by {eta}, reship at no charge.",
            "No scans for 4 days. Warehouse confirms the parcel left the dock on time.",
        ),
        "agent_resolve": (
            "Good news: {carrier} now shows your package as delivered. If anything is missing, just reply here.",
            "As the parcel hasn't moved, I've sent a replacement by express at no cost. "
            "The new tracking number will follow by email within 24 hours.",
        ),
    },
    "charged_twice": {
        "subject": ("Charged twice for {order}", "Duplicate charge on my card", "Two payments for one order"),
        "open": (
            "I was charged twice for order {order}. My bank statement shows two payments of {amount}. "
            "Please refund the duplicate.",
            "There are two charges of {amount} on my card for the same order ({order}). I only placed one order.",
        ),
        "agent_first": (
            "I'm sorry about that, two charges are worrying to see. {order} has one captured payment of {amount}; "
            "the second is an authorization hold from a checkout attempt that didn't complete, and it should drop "
            "off within 3-5 business days. Could you send a screenshot if it still shows as posted?",
        ),
        "customer_reply": (
            "Here's the screenshot. Both charges show as posted, not pending.",
            "It's been five days and both charges are still there.",
        ),
        "agent_hold": (
            "Thanks for the screenshot. I've escalated this to our payments team to confirm with the processor "
            "and will get back to you within one business day.",
        ),
        "note": (
            "Payment provider shows two captures for {order}. Refunding the duplicate {amount}; "
            "flagged to engineering as a possible double submit at checkout.",
        ),
        "agent_resolve": (
            "I've refunded the duplicate charge of {amount}. Depending on your bank it takes 5-10 business days "
            "to show on your card. Sorry for the trouble!",
        ),
    },
    "wrong_size": {
        "subject": ("Exchange for a different size", "Wrong size, {order}", "{product} doesn't fit"),
        "open": (
            "The {product} I received is too small. Can I exchange it for the next size up?",
            "I ordered the {product} but it fits much bigger than the size chart says. "
            "How do I swap it for a smaller size?",
        ),
        "agent_first": (
            "Sorry it didn't fit! I'm happy to exchange it. Which size would you like instead? Once you confirm, "
            "I'll send a prepaid return label and ship the new size as soon as the return is scanned.",
        ),
        "customer_reply": ("One size up, please. Thank you!", "The smaller size, please."),
        "agent_hold": (
            "That size is back in stock on {restock}. I've reserved one for you and it ships the day it arrives.",
        ),
        "note": (
            "Exchange approved; size reserved at the warehouse.",
            "Third ticket this month saying this style runs small. Passed to merchandising.",
        ),
        "agent_resolve": (
            "Done! Your prepaid return label is attached and the new size ships today. Tracking follows by email.",
        ),
    },
    "return_request": {
        "subject": ("Return request for {order}", "How do I return an item?", "Returning the {product}"),
        "open": (
            "I'd like to return the {product} from order {order}. It's unused and still has the tags.",
            "How do I return part of my order {order}? The {product} isn't what I expected.",
        ),
        "agent_first": (
            "Of course. The {product} is within our 30-day return window, so I've started the return and you'll "
            "get a prepaid label by email. Once the parcel is scanned, the refund goes back to your original "
            "payment method.",
            "Happy to help with that. Could you tell me why you're returning it? If it's a quality issue we'll "
            "cover the return shipping.",
        ),
        "customer_reply": (
            "It just doesn't suit the room. Thanks for the label.",
            "The colour is quite different from the photos.",
        ),
        "note": ("RMA created for {order}, refund on carrier scan. Within the return window.",),
        "agent_resolve": (
            "We've received your return and refunded {item_amount}. It can take 5-10 business days to appear on "
            "your statement.",
        ),
    },
    "damaged_item": {
        "subject": ("Item arrived damaged", "Broken {product}", "Damaged parcel, order {order}"),
        "open": (
            "My {product} arrived damaged. The box was crushed and it's broken. Photos attached.",
            "The {product} in order {order} came with a crack. I'm really disappointed, it was a gift.",
        ),
        "agent_first": (
            "I'm so sorry it arrived like that, and thank you for the photos. Would you prefer a replacement or a "
            "full refund? There's no need to send the damaged item back.",
        ),
        "customer_reply": (
            "A replacement please, if you can ship it quickly.",
            "I'd prefer a refund, thank you.",
        ),
        "agent_hold": (
            "I've filed a damage claim with {carrier} and asked the warehouse to pack your replacement with extra "
            "protection. I'll confirm as soon as it ships.",
        ),
        "note": (
            "Transit damage. Claim filed with {carrier}, ref {case_ref}; no return needed.",
            "Second breakage on this SKU this month. Asked the warehouse to add corner protectors.",
        ),
        "agent_resolve": (
            "Your replacement {product} has shipped and tracking is on its way by email. Sorry again about the "
            "first one!",
            "I've issued a full refund of {item_amount}. You don't need to return anything.",
        ),
    },
    "discount_code": {
        "subject": ("Discount code not working", "Promo code {code} invalid", "Problem with code {code}"),
        "open": (
            "The code {code} says it's invalid at checkout. I got it in your newsletter yesterday.",
            "I tried using {code} but the discount didn't apply. Can you help?",
        ),
        "agent_first": (
            "Thanks for letting us know! {code} only applies to full-price items and your cart includes a sale "
            "item, which is why it was declined. I've sent you a single-use code that works on everything: "
            "{new_code}.",
        ),
        "customer_reply": ("Great, it worked this time. Thanks!", "It still shows an error, sorry."),
        "note": ("Newsletter code {code} was set to expire a day early. Fixed in the store admin.",),
        "agent_resolve": (
            "I've refunded the discount you missed, {discount_amount}, to your original payment method. Enjoy!",
            "Your new code {new_code} is active now. Let us know if anything else comes up.",
        ),
    },
    "cancel_order": {
        "subject": ("Please cancel order {order}", "Cancel my order", "Ordered by mistake"),
        "open": (
            "Please cancel my order {order}, I ordered the wrong item.",
            "Can I still cancel {order}? I placed it by mistake.",
        ),
        "agent_first": (
            "I caught it in time: {order} hadn't been packed yet, so I've cancelled it. "
            "The hold of {amount} on your card will be released within a few days.",
            "Unfortunately {order} already left our warehouse. When it arrives you can return it for free with the "
            "label in the box.",
        ),
        "customer_reply": ("Thank you so much!", "Okay, I'll send it back when it arrives."),
        "note": ("Cancelled in the store admin before fulfilment; stock returned.",),
        "agent_resolve": (
            "Your cancellation is complete and a confirmation email is on its way.",
            "We've received the parcel back and refunded {amount} to your original payment method.",
        ),
    },
    "change_address": {
        "subject": ("Change shipping address for {order}", "Wrong address on my order", "New delivery address"),
        "open": (
            "I entered the wrong address for order {order}. It should be: {address}. Can you update it?",
            "I'm moving next week. Could you ship {order} to my new address instead? {address}",
        ),
        "agent_first": (
            "No problem, I've updated the shipping address on {order} to: {address}. Could you confirm that's correct?",
        ),
        "customer_reply": ("Yes, that's correct. Thanks!", "Perfect, thank you."),
        "note": ("Address changed before the label was bought. Warehouse notified.",),
        "agent_resolve": ("All set: your order will ship to the new address.",),
    },
    "product_question": {
        "subject": ("Sizing question: {product}", "Colours and shipping to {country}", "Washing the {product}"),
        "open": (
            "Does the {product} run true to size? I'm usually between a medium and a large.",
            "Is the {product} available in other colours, and how long does shipping to {country} take?",
            "Before I order: is the {product} machine washable?",
        ),
        "agent_first": (
            "Great question! It runs true to size; if you're between sizes, size up for a relaxed fit.",
            "Thanks for asking! Two more colours arrive next month, and shipping to {country} usually takes 3-7 "
            "business days.",
            "Yes: cold wash on a gentle cycle, then lay flat to dry. The care label has the details.",
        ),
        "customer_reply": (
            "Perfect, thanks. I'll order it now.",
            "Thanks! Is there a restock date for the other colour?",
        ),
        "note": ("Customer asked about a restock; added them to the waitlist.",),
        "agent_resolve": ("Happy to help! Let us know if anything else comes up.",),
    },
    "refund_status": {
        "subject": ("Where is my refund?", "Refund for {order}", "Still waiting for my refund"),
        "open": (
            "I returned my order {order} two weeks ago but I still haven't received my refund.",
            "When will I get my refund for {order}? The tracking shows you received the return.",
        ),
        "agent_first": (
            "Thanks for your patience. We received your return for {order} and the refund of {amount} was issued "
            "on {refund_date}. Banks usually take 5-10 business days to post it.",
        ),
        "customer_reply": ("I still don't see it on my statement.", "Okay, thank you. I'll check with my bank."),
        "agent_hold": (
            "I've asked our payment processor for the refund reference number so your bank can trace it. "
            "I'll send it as soon as I have it.",
        ),
        "note": ("Refund of {amount} issued via the payment provider, ref {case_ref}. Reference sent to customer.",),
        "agent_resolve": (
            "Here's the refund reference number: {case_ref}. Your bank can use it to locate the refund of {amount}.",
        ),
    },
    "missing_item": {
        "subject": ("Item missing from {order}", "Missing {product}", "Only part of my order arrived"),
        "open": (
            "My order {order} arrived but the {product} was missing from the box.",
            "Only part of {order} arrived. Where is the {product}?",
        ),
        "agent_first": (
            "I'm sorry about that! The warehouse confirms the {product} should have been in the parcel, so I'm "
            "sending it now at no charge. You'll get tracking by email.",
            "Some orders ship in two parcels, so the {product} may be in a separate package. "
            "Could you check whether a second delivery arrived?",
        ),
        "customer_reply": ("Nothing else arrived, just the one box.", "Thank you!"),
        "note": ("Packing error at the warehouse. Reshipping the missing line.",),
        "agent_resolve": ("The missing {product} has shipped. Sorry again for the trouble.",),
    },
}

# Reasons whose pieces must agree: the same variant number is used for each listed piece.
PAIRED_PIECES = {
    "cancel_order": ("agent_first", "customer_reply", "agent_resolve"),  # 0: cancelled in time, 1: already shipped
    "product_question": ("subject", "open", "agent_first"),  # 0: sizing, 1: colours and shipping, 2: washing
    "wrong_size": ("open", "customer_reply"),  # 0: too small, 1: too big
    "damaged_item": ("customer_reply", "agent_resolve"),  # 0: replacement, 1: refund
}

GENERIC_ENGLISH = {
    "nudge": (
        "Any update on this?",
        "Just following up on my message above.",
        "Hello? I'd really appreciate a reply.",
        "Adding my order number in case it helps: {order}.",
    ),
    "thanks": ("Thank you, that's perfect!", "Great, thanks for the quick help.", "Thanks! Have a nice day."),
    "agent_hold": (
        "I've passed this to our {team} team to check. I'll update you by {followup_day}.",
        "Thanks for bearing with us. I'm waiting to hear back from the warehouse and will update you shortly.",
    ),
    "note": ("Checked order history; nothing unusual. Following up tomorrow.",),
}

# The customer's first message, follow-up, agreement and thanks in their own language.
NATIVE: dict[str, dict[str, str]] = {
    "es": {
        "wismo": "Hola, hice el pedido {order} y el seguimiento no se actualiza desde hace días. "
        "¿Dónde está mi paquete?",
        "charged_twice": "Me han cobrado dos veces el pedido {order}: veo dos cargos de {amount} en mi tarjeta. "
        "Por favor, devuelvan el duplicado.",
        "wrong_size": "La talla de {product} me queda pequeña. ¿Puedo cambiarla por una talla más?",
        "return_request": "Quiero devolver {product} del pedido {order}. Está sin usar y con las etiquetas.",
        "damaged_item": "El artículo {product} llegó dañado, la caja venía aplastada. Les adjunto fotos.",
        "discount_code": "El código {code} me dice que no es válido al pagar. Lo recibí en su newsletter.",
        "cancel_order": "Por favor, cancelen mi pedido {order}. Me equivoqué de artículo.",
        "change_address": "Puse mal la dirección en el pedido {order}. La correcta es: {address}. ¿Pueden cambiarla?",
        "product_question": "Tengo una pregunta sobre {product}: ¿está disponible en otros colores? "
        "¿Cuánto tarda el envío a {country}?",
        "refund_status": "Devolví el pedido {order} hace dos semanas y todavía no he recibido el reembolso.",
        "missing_item": "Recibí el pedido {order}, pero faltaba {product} en la caja.",
        "nudge": "¿Alguna novedad sobre esto?",
        "reply": "Sí, de acuerdo. Adelante, por favor.",
        "thanks": "¡Muchas gracias, perfecto!",
    },
    "fr": {
        "wismo": "Bonjour, j'ai passé la commande {order} et le suivi ne bouge plus depuis plusieurs jours. "
        "Où est mon colis ?",
        "charged_twice": "J'ai été débité deux fois pour la commande {order} : deux paiements de {amount} sur "
        "mon relevé. Merci de rembourser le doublon.",
        "wrong_size": "La taille de l'article {product} est trop petite. Puis-je l'échanger contre la taille "
        "au-dessus ?",
        "return_request": "Je souhaite retourner l'article {product} de la commande {order}. Il n'a jamais été "
        "porté et a encore ses étiquettes.",
        "damaged_item": "L'article {product} est arrivé abîmé, le carton était écrasé. Je vous joins des photos.",
        "discount_code": "Le code {code} est refusé au moment du paiement. Je l'ai reçu dans votre newsletter.",
        "cancel_order": "Merci d'annuler ma commande {order}, je me suis trompé d'article.",
        "change_address": "J'ai fait une erreur d'adresse sur la commande {order}. La bonne adresse est : "
        "{address}. Pouvez-vous la modifier ?",
        "product_question": "J'ai une question sur l'article {product} : existe-t-il dans d'autres coloris, et "
        "quels sont les délais de livraison vers {country} ?",
        "refund_status": "J'ai renvoyé la commande {order} il y a deux semaines et je n'ai toujours pas été remboursé.",
        "missing_item": "J'ai reçu la commande {order} mais l'article {product} manquait dans le colis.",
        "nudge": "Avez-vous du nouveau ?",
        "reply": "Oui, c'est bien ça. Allez-y, merci.",
        "thanks": "Merci beaucoup, c'est parfait !",
    },
    "de": {
        "wismo": "Hallo, ich habe die Bestellung {order} aufgegeben und die Sendungsverfolgung hat sich seit "
        "Tagen nicht geändert. Wo ist mein Paket?",
        "charged_twice": "Mir wurde die Bestellung {order} doppelt berechnet: Auf meinem Konto sind zwei "
        "Abbuchungen über {amount}. Bitte erstatten Sie die doppelte Zahlung.",
        "wrong_size": "Der Artikel {product} ist mir zu klein. Kann ich ihn gegen eine Nummer größer umtauschen?",
        "return_request": "Ich möchte den Artikel {product} aus der Bestellung {order} zurückschicken. Er ist "
        "ungetragen und noch etikettiert.",
        "damaged_item": "Der Artikel {product} ist beschädigt angekommen, der Karton war eingedrückt. Fotos anbei.",
        "discount_code": "Der Gutscheincode {code} wird an der Kasse als ungültig angezeigt. Ich habe ihn aus "
        "Ihrem Newsletter.",
        "cancel_order": "Bitte stornieren Sie meine Bestellung {order}, ich habe den falschen Artikel bestellt.",
        "change_address": "Ich habe bei der Bestellung {order} die falsche Adresse angegeben. Richtig ist: "
        "{address}. Können Sie das ändern?",
        "product_question": "Ich habe eine Frage zum Artikel {product}: Gibt es ihn auch in anderen Farben, und "
        "wie lange dauert der Versand nach {country}?",
        "refund_status": "Ich habe die Bestellung {order} vor zwei Wochen zurückgeschickt und noch keine "
        "Erstattung erhalten.",
        "missing_item": "Die Bestellung {order} ist angekommen, aber der Artikel {product} fehlte im Paket.",
        "nudge": "Gibt es schon etwas Neues?",
        "reply": "Ja, genau so. Bitte machen Sie das.",
        "thanks": "Vielen Dank, perfekt!",
    },
    "ja": {
        "wismo": "注文番号{order}の荷物の追跡情報が数日間更新されていません。荷物は今どこにありますか？",
        "charged_twice": "注文{order}で二重に請求されています。カードの明細に{amount}の請求が2件あります。"
        "重複分の返金をお願いします。",
        "wrong_size": "届いた{product}のサイズが小さすぎました。ワンサイズ大きいものに交換できますか？",
        "return_request": "注文{order}の{product}を返品したいです。未使用でタグも付いたままです。",
        "damaged_item": "{product}が破損した状態で届きました。箱がつぶれていました。写真を添付します。",
        "discount_code": "クーポンコード{code}を入力すると無効と表示されます。メールマガジンで受け取ったものです。",
        "cancel_order": "注文{order}をキャンセルしてください。間違った商品を注文してしまいました。",
        "change_address": "注文{order}の配送先住所を間違えてしまいました。正しい住所は{address}です。"
        "変更していただけますか？",
        "product_question": "{product}について質問です。他の色はありますか？"
        "{country}への配送には何日くらいかかりますか？",
        "refund_status": "2週間前に注文{order}を返品しましたが、まだ返金されていません。",
        "missing_item": "注文{order}が届きましたが、{product}が入っていませんでした。",
        "nudge": "その後、何か進展はありましたか？",
        "reply": "はい、それでお願いします。",
        "thanks": "ありがとうございます。助かりました！",
    },
    "zh-hans": {
        "wismo": "你好，我的订单{order}的物流信息好几天都没有更新了。请问我的包裹现在在哪里？",
        "charged_twice": "订单{order}被重复扣款了，我的银行卡上有两笔{amount}的扣款。请退还重复的那一笔。",
        "wrong_size": "收到的{product}尺码太小了，可以换大一码吗？",
        "return_request": "我想退回订单{order}中的{product}，全新未使用，吊牌还在。",
        "damaged_item": "{product}到货时已经损坏了，外箱被压扁。附上照片。",
        "discount_code": "优惠码{code}在结账时显示无效。这是我从你们的邮件订阅里收到的。",
        "cancel_order": "请帮我取消订单{order}，我买错了商品。",
        "change_address": "订单{order}的收货地址填错了，正确地址是：{address}。可以帮我修改吗？",
        "product_question": "想咨询一下{product}：有其他颜色吗？寄到{country}需要多长时间？",
        "refund_status": "我两周前就退回了订单{order}，但还没有收到退款。",
        "missing_item": "订单{order}已经收到了，但是箱子里没有{product}。",
        "nudge": "请问有进展了吗？",
        "reply": "好的，就这样处理吧，谢谢。",
        "thanks": "太好了，非常感谢！",
    },
    "zh-hant": {
        "wismo": "您好，我的訂單{order}的物流資訊好幾天都沒有更新了。請問我的包裹現在在哪裡？",
        "charged_twice": "訂單{order}被重複扣款了，我的信用卡上有兩筆{amount}的款項。請退還重複的那一筆。",
        "wrong_size": "收到的{product}尺寸太小了，可以換大一號嗎？",
        "return_request": "我想退回訂單{order}中的{product}，全新未使用，吊牌都還在。",
        "damaged_item": "{product}送到時已經損壞了，外箱被壓扁。附上照片。",
        "discount_code": "折扣碼{code}在結帳時顯示無效。這是我從你們的電子報收到的。",
        "cancel_order": "請幫我取消訂單{order}，我買錯商品了。",
        "change_address": "訂單{order}的收件地址填錯了，正確地址是：{address}。可以幫我修改嗎？",
        "product_question": "想請問一下{product}：有其他顏色嗎？寄到{country}需要多久？",
        "refund_status": "我兩週前就退回了訂單{order}，但還沒有收到退款。",
        "missing_item": "訂單{order}已經收到了，但是箱子裡沒有{product}。",
        "nudge": "請問有進度了嗎？",
        "reply": "好的，就麻煩這樣處理，謝謝。",
        "thanks": "太好了，非常感謝！",
    },
    "pt": {
        "wismo": "Olá, fiz o pedido {order} e o rastreamento não atualiza há dias. Onde está o meu pacote?",
        "charged_twice": "Fui cobrado duas vezes pelo pedido {order}: aparecem duas cobranças de {amount} no meu "
        "cartão. Por favor, estornem a duplicada.",
        "wrong_size": "O tamanho do produto {product} não serviu, ficou pequeno. Posso trocar por um tamanho maior?",
        "return_request": "Quero devolver o produto {product} do pedido {order}. Está sem uso e com etiqueta.",
        "damaged_item": "O produto {product} chegou danificado, a caixa veio amassada. Seguem as fotos.",
        "discount_code": "O cupom {code} aparece como inválido no checkout. Recebi pela newsletter de vocês.",
        "cancel_order": "Por favor, cancelem meu pedido {order}. Comprei o item errado.",
        "change_address": "Coloquei o endereço errado no pedido {order}. O correto é: {address}. "
        "Vocês conseguem alterar?",
        "product_question": "Tenho uma dúvida sobre o produto {product}: tem em outras cores? "
        "Quanto tempo leva a entrega para {country}?",
        "refund_status": "Devolvi o pedido {order} há duas semanas e ainda não recebi o reembolso.",
        "missing_item": "Recebi o pedido {order}, mas o produto {product} não veio na caixa.",
        "nudge": "Alguma novidade?",
        "reply": "Sim, pode ser assim. Obrigado.",
        "thanks": "Muito obrigado, perfeito!",
    },
    "ar": {
        "wismo": "مرحباً، طلبت الطلب رقم {order} ولم يتم تحديث معلومات التتبع منذ عدة أيام. أين شحنتي؟",
        "charged_twice": "تم خصم مبلغ الطلب {order} مرتين، وأرى عمليتين بقيمة {amount} في كشف حسابي. "
        "أرجو استرداد المبلغ المكرر.",
        "wrong_size": "مقاس المنتج {product} صغير جداً. هل يمكنني استبداله بمقاس أكبر؟",
        "return_request": "أرغب في إرجاع المنتج {product} من الطلب {order}. لم يُستخدم وما زالت البطاقة عليه.",
        "damaged_item": "وصل المنتج {product} تالفاً وكان الصندوق مهشماً. أرفقت الصور.",
        "discount_code": "رمز الخصم {code} يظهر أنه غير صالح عند الدفع. وصلني في نشرتكم البريدية.",
        "cancel_order": "أرجو إلغاء طلبي رقم {order}، فقد طلبت منتجاً خاطئاً.",
        "change_address": "أدخلت عنواناً خاطئاً في الطلب {order}. العنوان الصحيح هو: {address}. هل يمكنكم تعديله؟",
        "product_question": "لدي سؤال عن المنتج {product}: هل يتوفر بألوان أخرى؟ وكم يستغرق الشحن إلى {country}؟",
        "refund_status": "أرجعت الطلب {order} منذ أسبوعين ولم أستلم المبلغ المسترد حتى الآن.",
        "missing_item": "وصلني الطلب {order} لكن المنتج {product} لم يكن في الصندوق.",
        "nudge": "هل من جديد بخصوص طلبي؟",
        "reply": "نعم، هذا صحيح. تفضلوا بالمتابعة.",
        "thanks": "شكراً جزيلاً، ممتاز!",
    },
    "ko": {
        "wismo": "안녕하세요, 주문번호 {order}의 배송 조회가 며칠째 업데이트되지 않고 있어요. "
        "제 택배는 지금 어디에 있나요?",
        "charged_twice": "주문 {order} 결제가 두 번 되었어요. 카드 내역에 {amount} 결제가 두 건 있습니다. "
        "중복 결제를 환불해 주세요.",
        "wrong_size": "받은 {product} 사이즈가 너무 작아요. 한 사이즈 큰 걸로 교환할 수 있을까요?",
        "return_request": "주문 {order}의 {product} 상품을 반품하고 싶어요. 사용하지 않았고 택도 그대로 있어요.",
        "damaged_item": "{product} 상품이 파손된 상태로 도착했어요. 상자가 찌그러져 있었습니다. 사진 첨부합니다.",
        "discount_code": "할인 코드 {code}를 입력하면 유효하지 않다고 나와요. 뉴스레터에서 받은 코드예요.",
        "cancel_order": "주문 {order} 취소 부탁드립니다. 상품을 잘못 주문했어요.",
        "change_address": "주문 {order}의 배송지 주소를 잘못 입력했어요. 올바른 주소는 {address}입니다. "
        "변경해 주실 수 있나요?",
        "product_question": "{product} 상품 문의드립니다. 다른 색상도 있나요? {country}까지 배송은 얼마나 걸리나요?",
        "refund_status": "2주 전에 주문 {order}을 반품했는데 아직 환불을 받지 못했어요.",
        "missing_item": "주문 {order}을 받았는데 {product} 상품이 상자에 없었어요.",
        "nudge": "혹시 진행 상황이 있을까요?",
        "reply": "네, 그렇게 진행해 주세요.",
        "thanks": "감사합니다, 덕분에 해결됐어요!",
    },
    "tr": {
        "wismo": "Merhaba, {order} numaralı siparişimin kargo takibi günlerdir güncellenmiyor. Paketim nerede?",
        "charged_twice": "{order} numaralı sipariş için iki kez ücret alındı; kartımda {amount} tutarında iki "
        "çekim görünüyor. Lütfen fazladan alınan tutarı iade edin.",
        "wrong_size": "Gelen {product} bana küçük geldi. Bir beden büyüğüyle değiştirebilir miyim?",
        "return_request": "{order} numaralı siparişteki {product} ürününü iade etmek istiyorum. Kullanılmadı, "
        "etiketi üzerinde.",
        "damaged_item": "{product} hasarlı geldi, kutu ezilmişti. Fotoğrafları ekledim.",
        "discount_code": "{code} indirim kodu ödeme sırasında geçersiz görünüyor. Bülteninizden almıştım.",
        "cancel_order": "Lütfen {order} numaralı siparişimi iptal edin, yanlış ürünü sipariş ettim.",
        "change_address": "{order} numaralı siparişte adresi yanlış girdim. Doğru adres: {address}. "
        "Değiştirebilir misiniz?",
        "product_question": "{product} hakkında bir sorum var: Başka renk seçenekleri var mı? {country} kargo ne "
        "kadar sürer?",
        "refund_status": "{order} numaralı siparişi iki hafta önce iade ettim ama ücret iadem hâlâ yapılmadı.",
        "missing_item": "{order} numaralı siparişim geldi ama kutuda {product} yoktu.",
        "nudge": "Bu konuda bir gelişme var mı?",
        "reply": "Evet, doğru. Lütfen bu şekilde devam edin.",
        "thanks": "Çok teşekkürler, harika!",
    },
    "ru": {
        "wismo": "Здравствуйте! По заказу {order} отслеживание не обновляется уже несколько дней. Где моя посылка?",
        "charged_twice": "За заказ {order} деньги списали дважды: в выписке два платежа по {amount}. "
        "Пожалуйста, верните лишний платёж.",
        "wrong_size": "Товар «{product}» оказался мне мал. Можно обменять его на размер побольше?",
        "return_request": "Хочу вернуть товар «{product}» из заказа {order}. Он не использовался, бирки на месте.",
        "damaged_item": "Товар «{product}» пришёл повреждённым, коробка была смята. Прикладываю фото.",
        "discount_code": "Промокод {code} из вашей рассылки при оформлении заказа показывается как недействительный.",
        "cancel_order": "Пожалуйста, отмените заказ {order}: в него попал не тот товар.",
        "change_address": "В заказе {order} указан неверный адрес. Правильный адрес: {address}. Можете исправить?",
        "product_question": "У меня вопрос по товару «{product}»: есть ли другие цвета и сколько идёт доставка "
        "в мой город?",
        "refund_status": "Заказ {order} был возвращён две недели назад, но деньги до сих пор не пришли.",
        "missing_item": "Заказ {order} пришёл, но в коробке не оказалось товара «{product}».",
        "nudge": "Есть ли новости по моему вопросу?",
        "reply": "Да, всё верно. Сделайте, пожалуйста, так.",
        "thanks": "Большое спасибо, всё отлично!",
    },
    "id": {
        "wismo": "Halo, pesanan saya {order} belum sampai dan pelacakannya tidak berubah sejak beberapa hari. "
        "Paket saya ada di mana?",
        "charged_twice": "Saya ditagih dua kali untuk pesanan {order}: ada dua tagihan sebesar {amount} di kartu "
        "saya. Mohon kembalikan yang dobel.",
        "wrong_size": "Ukuran {product} yang saya terima terlalu kecil. Bisa ditukar dengan satu ukuran lebih besar?",
        "return_request": "Saya ingin mengembalikan {product} dari pesanan {order}. Belum dipakai dan labelnya "
        "masih terpasang.",
        "damaged_item": "{product} datang dalam keadaan rusak, kardusnya penyok. Saya lampirkan fotonya.",
        "discount_code": "Kode diskon {code} tertulis tidak berlaku saat checkout. Saya dapat dari newsletter kalian.",
        "cancel_order": "Tolong batalkan pesanan {order}, saya salah pesan barang.",
        "change_address": "Alamat di pesanan {order} salah. Alamat yang benar: {address}. Bisa diubah?",
        "product_question": "Saya mau tanya soal {product}: ada warna lain? Berapa lama pengiriman ke {country}?",
        "refund_status": "Saya sudah mengembalikan pesanan {order} dua minggu lalu tapi dananya belum kembali.",
        "missing_item": "Pesanan {order} sudah sampai, tapi {product} tidak ada di dalam kotak.",
        "nudge": "Apakah ada kabar terbaru?",
        "reply": "Ya, betul. Silakan diproses.",
        "thanks": "Terima kasih banyak, mantap!",
    },
}

TICKET_STATUS_WEIGHTS = {
    TicketStatus.NEW: 12,
    TicketStatus.OPEN: 20,
    TicketStatus.PENDING: 13,
    TicketStatus.ON_HOLD: 6,
    TicketStatus.SOLVED: 22,
    TicketStatus.CLOSED: 27,
}
# How long ago (hours) a ticket in each status was opened: the inbox is recent, the archive is old.
# Solved and pending tickets are recent because the periodic jobs close solved tickets after
# TICKET_AUTO_CLOSE_DAYS and remind on pending ones after TICKET_PENDING_REMINDER_DAYS; older ones
# would have moved on already (and would be moved, with messages sent, on the first beat tick).
TICKET_AGE_HOURS = {
    TicketStatus.NEW: (0.1, 30),
    TicketStatus.OPEN: (2, 96),
    TicketStatus.PENDING: (6, 60),
    TicketStatus.ON_HOLD: (48, 290),
    TicketStatus.SOLVED: (3, 80),
    TicketStatus.CLOSED: (200, HISTORY_DAYS * 24 - 2),
}
COMPLAINT_RESOLUTION_DAYS = 30
CHANNEL_WEIGHTS = {
    Channel.EMAIL: 40,
    Channel.CHAT: 22,
    Channel.SMS: 8,
    Channel.WHATSAPP: 12,
    Channel.MESSENGER: 8,
    Channel.INSTAGRAM: 10,
}
WHATSAPP_FIRST_LANGUAGES = {"es", "pt", "id", "ar", "tr", "de", "ru"}

# What happens to an order after checkout; age range in days. The first of each is forced so all appear.
ORDER_OUTCOMES: tuple[tuple[str, int, float, float], ...] = (
    (ShipmentStatus.DELIVERED, 60, 5, HISTORY_DAYS - 0.5),
    (ShipmentStatus.IN_TRANSIT, 10, 1.5, 6),
    (ShipmentStatus.OUT_FOR_DELIVERY, 4, 2, 6),
    (ShipmentStatus.LABEL_CREATED, 6, 0.2, 2),
    (ShipmentStatus.DELAYED, 4, 6, 16),
    (ShipmentStatus.EXCEPTION, 3, 4, 20),
    (ShipmentStatus.RETURNED, 3, 20, 110),
    ("unfulfilled", 3, 0.02, 0.8),
    ("pending_payment", 2, 0.02, 1),
    ("cancelled", 3, 1, HISTORY_DAYS - 1),
    ("partial", 2, 3, 12),
)


# --- The plan ----------------------------------------------------------------------------------


@dataclass
class ProductPlan:
    sku: str
    name: str
    price: Decimal
    stock_on_hand: int
    is_apparel: bool
    created_at: datetime


@dataclass
class CustomerPlan:
    index: int
    market: Market
    name: str
    greeting_name: str
    email: str
    phone: str
    timezone: str
    address: str
    tax_rate: Decimal
    is_marketing_consent_given: bool
    order_weight: float
    is_vip: bool = False
    notes: str = ""
    has_phone: bool = False
    has_whatsapp: bool = False
    messenger_id: str = ""
    instagram_id: str = ""
    first_seen_at: datetime | None = None
    created_at: datetime | None = None

    def identities(self) -> list[tuple[str, str, bool]]:
        rows = [(IdentityKind.EMAIL.value, self.email, True)]
        if self.has_phone:
            rows.append((IdentityKind.PHONE.value, self.phone, True))
        if self.has_whatsapp:
            rows.append((IdentityKind.WHATSAPP.value, self.phone, True))
        if self.messenger_id:
            rows.append((IdentityKind.MESSENGER.value, self.messenger_id, True))
        if self.instagram_id:
            rows.append((IdentityKind.INSTAGRAM.value, self.instagram_id, True))
        return rows


@dataclass
class ItemPlan:
    product: ProductPlan
    quantity: int
    unit_price: Decimal
    line_total: Decimal


@dataclass
class ShipmentPlan:
    carrier: str
    tracking_number: str
    tracking_url: str
    status: str
    created_at: datetime
    updated_at: datetime
    shipped_at: datetime | None
    estimated_delivery_at: datetime | None
    delivered_at: datetime | None


@dataclass
class OrderPlan:
    number: str
    customer: CustomerPlan
    outcome: str
    status: str
    currency: str
    items: list[ItemPlan]
    subtotal: Decimal
    shipping_total: Decimal
    tax_total: Decimal
    discount_total: Decimal
    total: Decimal
    amount_paid: Decimal
    placed_at: datetime
    paid_at: datetime | None
    shipments: list[ShipmentPlan] = field(default_factory=list)
    updated_at: datetime | None = None

    @property
    def shipped_at(self) -> datetime | None:
        return self.shipments[0].shipped_at if self.shipments else None

    @property
    def delivered_at(self) -> datetime | None:
        return self.shipments[0].delivered_at if self.shipments else None


@dataclass
class MessagePlan:
    direction: str
    author_email: str | None
    body_text: str
    body_html: str
    external_message_id: str | None
    created_at: datetime
    sender_address: str = ""
    references: list[str] = field(default_factory=list)


@dataclass
class TicketPlan:
    index: int
    marker: str
    customer: CustomerPlan
    order: OrderPlan | None
    reason: str
    subject: str
    status: str
    priority: str
    channel: str
    assignee_email: str | None
    team_name: str | None
    tag_names: list[str]
    created_at: datetime
    last_message_at: datetime
    solved_at: datetime | None
    closed_at: datetime | None
    messages: list[MessagePlan]

    status_changed_at: datetime | None = None
    first_agent_reply_at: datetime | None = None
    complaint_due_at: datetime | None = None

    @property
    def updated_at(self) -> datetime:
        return max(moment for moment in (self.last_message_at, self.solved_at, self.closed_at) if moment)

    @property
    def marker_hash(self) -> str:
        return hashlib.sha256(self.marker.encode()).hexdigest()


@dataclass
class DemoPlan:
    products: list[ProductPlan]
    customers: list[CustomerPlan]
    orders: list[OrderPlan]
    tickets: list[TicketPlan]
    tags: list[tuple[str, bool]]


@dataclass(frozen=True)
class SeedResult:
    created: dict[str, int]

    @property
    def is_anything_created(self) -> bool:
        return any(self.created.values())


def _token(seed: int, *parts: object) -> str:
    return hashlib.sha256(":".join(str(part) for part in (seed, *parts)).encode()).hexdigest()


def ticket_marker(*, seed: int, index: int) -> str:
    """The Message-ID of demo ticket ``index``'s first (inbound) message: its natural key."""
    return f"<{_token(seed, 'ticket', index, 0)[:24]}@{INBOUND_MESSAGE_ID_DOMAIN}>"


def _external_message_id(*, seed: int, channel: str, ticket_index: int, position: int, direction: str) -> str | None:
    """Provider message ids in each channel's wire format, derived from the seed so reruns match."""
    if direction == MessageDirection.NOTE:
        return None
    if position == 0 and channel == Channel.EMAIL:
        return ticket_marker(seed=seed, index=ticket_index)
    token = _token(seed, "ticket", ticket_index, position)
    if channel == Channel.EMAIL:
        domain = INBOUND_MESSAGE_ID_DOMAIN if direction == MessageDirection.INBOUND else OUTBOUND_MESSAGE_ID_DOMAIN
        return f"<{token[:24]}@{domain}>"
    if channel == Channel.SMS:
        return f"SM{token[:32]}"
    if channel == Channel.WHATSAPP:
        return f"wamid.HBgL{base64.b64encode(bytes.fromhex(token[:36])).decode()}"
    if channel == Channel.MESSENGER:
        return f"m_{base64.urlsafe_b64encode(bytes.fromhex(token[:48])).decode().rstrip('=')}"
    if channel == Channel.INSTAGRAM:
        return f"aWdfZAG1faXRlbTox{base64.urlsafe_b64encode(bytes.fromhex(token[:42])).decode().rstrip('=')}"
    return str(uuid.UUID(token[:32]))


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _format_money(amount: Decimal, currency: str) -> str:
    return f"€{amount:,.2f}" if currency == "EUR" else f"${amount:,.2f}"


def _format_day(moment: datetime) -> str:
    return f"{moment:%A, %B} {moment.day}"


def _ascii_fold(text: str) -> str:
    text = text.lower().translate(str.maketrans({"ı": "i", "ß": "ss", "ø": "o", "æ": "ae", "œ": "oe", "ł": "l"}))
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded if ch.isalnum())


def _first_sentence(text: str, limit: int = 78) -> str:
    cut = len(text)
    for mark in (". ", "? ", "! ", "。", "？", "！", "؟"):
        found = text.find(mark)
        if 0 < found < cut:
            cut = found + len(mark.strip())
    sentence = text[:cut].strip()
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"


class _Planner:
    """Builds the whole demo store in memory; only the seed and the clock decide what it contains."""

    def __init__(self, *, seed: int, now: datetime) -> None:
        from faker import Faker  # imported here so `seed_demo --once` stays fast when there is nothing to do

        self.seed = seed
        self.now = now
        self.rng = random.Random(seed)  # noqa: S311 - demo data, reproducible on purpose
        self.fakers: dict[str, Any] = {}
        for position, locale in enumerate(sorted({market.faker_locale for market in MARKETS})):
            faker = Faker(locale)
            faker.seed_instance(seed + position)
            self.fakers[locale] = faker
        self.product_plans: list[ProductPlan] = []
        self.social_ids: set[str] = set()
        self.staff_by_role: dict[str, list[str]] = {}
        for email, _first, _last, role in DEMO_STAFF:
            self.staff_by_role.setdefault(role, []).append(email)

    def ago(self, *, days: float = 0, hours: float = 0) -> datetime:
        return self.now - timedelta(days=days, hours=hours)

    def between(self, low_hours: float, high_hours: float) -> timedelta:
        return timedelta(hours=self.rng.uniform(low_hours, high_hours))

    # Products and customers --------------------------------------------------------------------

    def products(self) -> list[ProductPlan]:
        plans = []
        for sku, name, price, is_apparel in PRODUCTS:
            stock = 0 if self.rng.random() < 0.06 else self.rng.randint(3, 240)
            created_at = self.ago(days=self.rng.uniform(150, 420))
            plans.append(ProductPlan(sku, name, Decimal(price), stock, is_apparel, created_at))
        return plans

    def customers(self) -> list[CustomerPlan]:
        # Shares in proportion to the weights (largest remainder), so every language is well represented.
        total_weight = sum(market.weight for market in MARKETS)
        exact = [market.weight * CUSTOMER_COUNT / total_weight for market in MARKETS]
        shares = [int(value) for value in exact]
        by_remainder = sorted(range(len(MARKETS)), key=lambda i: (shares[i] - exact[i], i))
        for position in by_remainder[: CUSTOMER_COUNT - sum(shares)]:
            shares[position] += 1
        markets = [market for market, share in zip(MARKETS, shares, strict=True) for _ in range(share)]
        self.rng.shuffle(markets)
        emails: set[str] = set()
        phones: set[str] = set()
        plans = []
        for index, market in enumerate(markets):
            name, greeting, local_part = self._person(market)
            email = self._unique_email(local_part, emails)
            phone = PHONE_FORMATS[market.country](self.rng)
            while phone in phones:
                phone = PHONE_FORMATS[market.country](self.rng)
            phones.add(phone)
            address = self.fakers[market.faker_locale].address().replace("\n", ", ")
            weight = 0.0 if self.rng.random() < 0.12 else min(self.rng.paretovariate(1.4), 12.0)
            plans.append(
                CustomerPlan(
                    index=index,
                    market=market,
                    name=name,
                    greeting_name=greeting,
                    email=email,
                    phone=phone,
                    timezone=self.rng.choice(market.timezones),
                    address=address,
                    tax_rate=Decimal(self.rng.choice(market.tax_rates)),
                    is_marketing_consent_given=self.rng.random() < 0.55,
                    order_weight=weight,
                    has_phone=self.rng.random() < 0.4,
                )
            )
        return plans

    def _person(self, market: Market) -> tuple[str, str, str]:
        """A name in the customer's own script, the name to greet them by, and an ASCII mailbox name."""
        faker = self.fakers[market.faker_locale]
        is_female = self.rng.random() < 0.55
        if market.language == "ja":
            family, _kana, family_latin = faker.last_name_pair()
            given, _kana, given_latin = faker.first_name_female_pair() if is_female else faker.first_name_male_pair()
            return f"{family} {given}", f"{family} {given}", self._mailbox(given_latin, family_latin)
        first = faker.first_name_female() if is_female else faker.first_name_male()
        last = faker.last_name_female() if is_female else faker.last_name_male()
        if market.is_family_name_first:
            name = f"{last}{first}"
            return name, name, _ascii_fold(faker.user_name()) or f"shopper{self.rng.randint(100, 999)}"
        name = f"{first} {last}"
        if market.language in {"ar", "ru"}:
            return name, first, _ascii_fold(faker.user_name()) or f"shopper{self.rng.randint(100, 999)}"
        return name, first, self._mailbox(first, last)

    def _mailbox(self, first: str, last: str) -> str:
        first, last = _ascii_fold(first), _ascii_fold(last)
        pattern = self.rng.randrange(5)
        if pattern == 0:
            return f"{first}.{last}"
        if pattern == 1:
            return f"{first}{last}"
        if pattern == 2:
            return f"{first[:1]}{last}"
        if pattern == 3:
            return f"{first}_{last}{self.rng.randint(1, 99)}"
        return f"{first}{self.rng.randint(70, 2005)}"

    def _unique_email(self, local_part: str, taken: set[str]) -> str:
        domain = self.rng.choice(CUSTOMER_EMAIL_DOMAINS)
        email = f"{local_part}@{domain}"
        while email in taken:
            email = f"{local_part}{self.rng.randint(2, 999)}@{domain}"
        taken.add(email)
        return email

    # Orders -----------------------------------------------------------------------------------

    def orders(self, customers: list[CustomerPlan], products: list[ProductPlan]) -> list[OrderPlan]:
        buyers = [customer for customer in customers if customer.order_weight > 0]
        weights = [customer.order_weight for customer in buyers]
        outcome_weights = [weight for _outcome, weight, _low, _high in ORDER_OUTCOMES]
        drafts = []
        for index in range(ORDER_COUNT):
            if index < len(ORDER_OUTCOMES):
                outcome, _weight, low, high = ORDER_OUTCOMES[index]
            else:
                outcome, _weight, low, high = self.rng.choices(ORDER_OUTCOMES, weights=outcome_weights)[0]
            customer = self.rng.choices(buyers, weights=weights)[0]
            placed_at = self.ago(days=self.rng.uniform(low, high))
            drafts.append((placed_at, outcome, customer))
        drafts.sort(key=lambda draft: draft[0])  # numbers rise with time, as a store assigns them
        return [
            self._order(number=f"#{FIRST_ORDER_NUMBER + position}", placed_at=placed_at, outcome=outcome, customer=c)
            for position, (placed_at, outcome, c) in enumerate(drafts)
        ]

    def _order(self, *, number: str, placed_at: datetime, outcome: str, customer: CustomerPlan) -> OrderPlan:
        market = customer.market
        line_count = self.rng.choices((1, 2, 3, 4), weights=(45, 30, 15, 10))[0]
        if outcome == "partial":
            line_count = max(line_count, 2)
        items = []
        for product in self.rng.sample(self.product_plans, line_count):
            quantity = self.rng.choices((1, 2, 3), weights=(82, 14, 4))[0]
            unit_price = product.price
            if market.currency == "EUR":
                unit_price = (product.price * Decimal("0.92")).quantize(Decimal("1"), rounding=ROUND_HALF_UP) - Decimal(
                    "0.05"
                )
            items.append(ItemPlan(product, quantity, unit_price, _money(unit_price * quantity)))
        subtotal = sum((item.line_total for item in items), Decimal("0"))
        discount = Decimal("0.00")
        if self.rng.random() < 0.18:
            _code, value = self.rng.choice(DISCOUNT_CODES)
            if Decimal(value) < 1:
                discount = _money(subtotal * Decimal(value))
            elif subtotal >= Decimal("60"):
                discount = Decimal(value)
        discounted = subtotal - discount
        if market.country == "US":
            is_express = self.rng.random() < 0.12
            shipping = Decimal("14.95") if is_express else Decimal("0.00" if discounted >= 75 else "6.95")
        elif market.currency == "EUR":
            shipping = Decimal("0.00" if discounted >= 100 else "9.95")
        else:
            shipping = Decimal("0.00" if discounted >= 150 else "19.95")
        taxable = discounted + shipping if market.is_tax_on_shipping else discounted
        tax = _money(taxable * customer.tax_rate)
        total = subtotal + shipping + tax - discount

        is_paid = outcome not in {"pending_payment", "cancelled"}
        paid_at = placed_at + timedelta(seconds=self.rng.randint(4, 180)) if is_paid else None
        status = {
            ShipmentStatus.RETURNED: OrderStatus.REFUNDED,
            ShipmentStatus.LABEL_CREATED: OrderStatus.PAID,
            "unfulfilled": OrderStatus.PAID,
            "pending_payment": OrderStatus.PENDING,
            "cancelled": OrderStatus.CANCELLED,
            "partial": OrderStatus.PARTIALLY_FULFILLED,
        }.get(outcome, OrderStatus.FULFILLED)
        if outcome == ShipmentStatus.DELIVERED and self.rng.random() < 0.04:
            status = OrderStatus.REFUNDED  # returned by the customer after delivery
        order = OrderPlan(
            number=number,
            customer=customer,
            outcome=outcome,
            status=status,
            currency=market.currency,
            items=items,
            subtotal=subtotal,
            shipping_total=shipping,
            tax_total=tax,
            discount_total=discount,
            total=total,
            amount_paid=total if is_paid else Decimal("0.00"),
            placed_at=placed_at,
            paid_at=paid_at,
        )
        order.shipments = self._shipments(order)
        events = [placed_at, paid_at, *(shipment.updated_at for shipment in order.shipments)]
        order.updated_at = max(moment for moment in events if moment)
        if status == OrderStatus.CANCELLED:
            order.updated_at = placed_at + self.between(0.2, 20)
        return order

    def _shipments(self, order: OrderPlan) -> list[ShipmentPlan]:
        outcome = order.outcome
        if outcome in {"unfulfilled", "pending_payment", "cancelled"}:
            return []
        if outcome == "partial":
            first_status = self.rng.choice((ShipmentStatus.IN_TRANSIT, ShipmentStatus.DELIVERED))
            first = self._shipment(order, first_status, until=self.now)
            second = self._shipment(order, ShipmentStatus.LABEL_CREATED, until=self.now)
            return [first, second]
        return [self._shipment(order, outcome, until=self.now)]

    def _carrier(self, country: str) -> str:
        if country == "US":
            return self.rng.choices(("USPS", "UPS", "FedEx"), weights=(40, 35, 25))[0]
        return self.rng.choices(("DHL", "FedEx", "UPS"), weights=(70, 15, 15))[0]

    def _tracking_number(self, carrier: str) -> str:
        if carrier == "UPS":
            return f"1Z{UPS_SHIPPER_ACCOUNT}{self.rng.choice(['03', '02', '01'])}{_digits(self.rng, 8)}"
        if carrier == "USPS":
            return f"94001{_digits(self.rng, 17)}"
        if carrier == "FedEx":
            return _digits(self.rng, 12)
        return _digits(self.rng, 10)

    def _shipment(self, order: OrderPlan, status: str, *, until: datetime) -> ShipmentPlan:
        carrier = self._carrier(order.customer.market.country)
        tracking_number = self._tracking_number(carrier)
        is_domestic = order.customer.market.country == "US"
        age = until - order.placed_at
        label_at = order.placed_at + min(self.between(1, 20), age * 0.4)
        shipped_at = estimated_at = delivered_at = None
        last_event = label_at
        if status != ShipmentStatus.LABEL_CREATED:
            shipped_at = label_at + min(self.between(2, 18), (until - label_at) * 0.3)
            transit = timedelta(days=self.rng.uniform(2, 5) if is_domestic else self.rng.uniform(3, 8))
            estimated_at = shipped_at + transit
            elapsed = until - shipped_at
            last_event = shipped_at + elapsed * self.rng.uniform(0.4, 0.95)
            if status == ShipmentStatus.DELIVERED:
                delivered_at = shipped_at + min(transit, elapsed - timedelta(hours=1))
                estimated_at = max(estimated_at, delivered_at - timedelta(hours=6))
                last_event = delivered_at
            elif status == ShipmentStatus.OUT_FOR_DELIVERY:
                estimated_at = until + self.between(1, 8)
                last_event = until - self.between(0.5, 5)
            elif status == ShipmentStatus.DELAYED:
                estimated_at = shipped_at + min(transit, elapsed * 0.6)
            elif status == ShipmentStatus.IN_TRANSIT and estimated_at < until:
                estimated_at = until + self.between(10, 60)
        return ShipmentPlan(
            carrier=carrier,
            tracking_number=tracking_number,
            tracking_url=CARRIER_URLS[carrier].format(tracking_number),
            status=status,
            created_at=label_at,
            updated_at=last_event,
            shipped_at=shipped_at,
            estimated_delivery_at=estimated_at,
            delivered_at=delivered_at,
        )

    # Tickets ----------------------------------------------------------------------------------

    def tickets(self, customers: list[CustomerPlan], orders: list[OrderPlan]) -> list[TicketPlan]:
        statuses = list(TICKET_STATUS_WEIGHTS)
        reasons = list(REASONS)
        used_orders: set[str] = set()
        plans = []
        for index in range(TICKET_COUNT):
            status = statuses[index] if index < len(statuses) else self._weighted(TICKET_STATUS_WEIGHTS)
            channel = TICKET_CHANNELS[index] if index < len(TICKET_CHANNELS) else None
            reason = reasons[index] if index < len(reasons) else None
            plans.append(
                self._ticket(
                    index=index,
                    status=status,
                    reason=reason,
                    channel=channel,
                    customers=customers,
                    orders=orders,
                    used_orders=used_orders,
                )
            )
        return plans

    def _weighted(self, weights: dict[Any, int]) -> Any:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def _ticket(
        self,
        *,
        index: int,
        status: str,
        reason: str | None,
        channel: str | None,
        customers: list[CustomerPlan],
        orders: list[OrderPlan],
        used_orders: set[str],
    ) -> TicketPlan:
        low, high = TICKET_AGE_HOURS[status]
        order: OrderPlan | None = None
        opened_at = self.ago(hours=self.rng.uniform(low, high))
        reason = reason or self._weighted({key: value.weight for key, value in REASONS.items()})
        rule = REASONS[reason].order_rule
        if rule == "optional" and self.rng.random() < 0.5:
            rule = "none"
        if rule != "none":
            for _attempt in range(12):
                candidates = [o for o in orders if _order_fits(reason, o, opened_at) and o.number not in used_orders]
                if candidates:
                    order = self.rng.choice(candidates)
                    used_orders.add(order.number)
                    break
                opened_at = self.ago(hours=self.rng.uniform(low, high))
            if order is None and rule == "required":
                reason = "product_question"
        if order is not None:
            customer = order.customer
        else:
            customer = self.rng.choices(customers, weights=[c.order_weight + 0.4 for c in customers])[0]
        if channel is None:
            weights = dict(CHANNEL_WEIGHTS)
            if customer.market.language in WHATSAPP_FIRST_LANGUAGES:
                weights[Channel.WHATSAPP] *= 3
            channel = self._weighted(weights)
        self._give_identity(customer, channel)

        definition = REASONS[reason]
        priority_weights = dict(zip(PRIORITIES, definition.priority_weights, strict=True))
        priority = PRIORITIES[index] if index < len(PRIORITIES) else self._weighted(priority_weights)
        tag_names = [definition.tag]
        if self.rng.random() < definition.complaint_chance:
            tag_names.append(COMPLAINT_TAG)
        is_complaint = COMPLAINT_TAG in tag_names
        team_name: str | None = definition.team
        assignee = self._assignee(status=status, team=definition.team, customer=customer, is_complaint=is_complaint)
        if status == TicketStatus.NEW and assignee is None and self.rng.random() < 0.3:
            team_name = None  # not triaged yet
        fill = self._placeholders(
            customer=customer, order=order, reason=reason, team=definition.team, opened_at=opened_at
        )
        is_native = customer.market.language in NATIVE and self.rng.random() < 0.75
        variant = 0
        if reason == "cancel_order":
            variant = 0 if order is None or order.status == OrderStatus.CANCELLED else 1
        elif reason == "product_question":
            # Native openings ask about colours and shipping; only clothes have a size or a wash label.
            variant = 1 if is_native or not fill["is_apparel"] else self.rng.choice((0, 1, 2))
        elif reason in PAIRED_PIECES:
            variant = self.rng.choice((0, 1))
        messages, opening = self._conversation(
            index=index,
            status=status,
            reason=reason,
            channel=channel,
            customer=customer,
            assignee=assignee,
            opened_at=opened_at,
            fill=fill,
            is_native=is_native,
            variant=variant,
        )
        last_message_at = messages[-1].created_at
        solved_at = closed_at = None
        auto_close = timedelta(days=getattr(settings, "TICKET_AUTO_CLOSE_DAYS", 4))
        if status in {TicketStatus.SOLVED, TicketStatus.CLOSED}:
            solved_at = min(last_message_at + self.between(0.01, 0.5), self.now - timedelta(minutes=1))
            if status == TicketStatus.SOLVED and solved_at < self.now - auto_close:
                status = TicketStatus.CLOSED  # the auto-close job would have closed it by now
        if status == TicketStatus.CLOSED and solved_at:
            # Either the customer confirmed the answer, or the auto-close job closed it.
            waited = self.between(1, 40) if self.rng.random() < 0.4 else auto_close + self.between(0, 0.2)
            closed_at = max(min(solved_at + waited, self.now - timedelta(minutes=30)), solved_at + timedelta(minutes=5))
        outbound_times = [m.created_at for m in messages if m.direction == MessageDirection.OUTBOUND]
        inbound_times = [m.created_at for m in messages if m.direction == MessageDirection.INBOUND]
        status_changed_at = {
            TicketStatus.NEW: messages[0].created_at,
            TicketStatus.OPEN: inbound_times[-1] if outbound_times else messages[0].created_at,
            TicketStatus.SOLVED: solved_at,
            TicketStatus.CLOSED: closed_at,
        }.get(status, outbound_times[-1] if outbound_times else messages[0].created_at)
        if channel == Channel.EMAIL and not is_native:
            subjects = CONVERSATIONS[reason]["subject"]
            if "subject" in PAIRED_PIECES.get(reason, ()):
                subjects = subjects[variant : variant + 1]
            subject = self.rng.choice(subjects).format_map(fill)
        else:
            subject = _first_sentence(opening)  # what helpdesks show for chats and messages without a subject
        return TicketPlan(
            index=index,
            marker=messages[0].external_message_id or ticket_marker(seed=self.seed, index=index),
            customer=customer,
            order=order,
            reason=reason,
            subject=subject,
            status=status,
            priority=priority if not customer.is_vip else _raise_priority(priority),
            channel=channel,
            assignee_email=assignee,
            team_name=team_name,
            tag_names=tag_names,
            created_at=messages[0].created_at,
            last_message_at=last_message_at,
            solved_at=solved_at,
            closed_at=closed_at,
            messages=messages,
            status_changed_at=status_changed_at,
            first_agent_reply_at=outbound_times[0] if outbound_times else None,
            complaint_due_at=messages[0].created_at + timedelta(days=COMPLAINT_RESOLUTION_DAYS)
            if is_complaint
            else None,
        )

    def _give_identity(self, customer: CustomerPlan, channel: str) -> None:
        """A customer who wrote on a channel has the identity that channel knows them by."""
        if channel == Channel.SMS:
            customer.has_phone = True
        elif channel == Channel.WHATSAPP:
            customer.has_whatsapp = True
        elif channel == Channel.MESSENGER and not customer.messenger_id:
            customer.messenger_id = self._social_id(lambda: _digits(self.rng, 16))
        elif channel == Channel.INSTAGRAM and not customer.instagram_id:
            customer.instagram_id = self._social_id(lambda: f"1784{_digits(self.rng, 13)}")

    def _social_id(self, make: Callable[[], str]) -> str:
        """Page- and app-scoped ids as Meta sends them; unique across the plan."""
        value = make()
        while value in self.social_ids:
            value = make()
        self.social_ids.add(value)
        return value

    def _assignee(self, *, status: str, team: str, customer: CustomerPlan, is_complaint: bool) -> str | None:
        chance = {TicketStatus.NEW: 0.15, TicketStatus.OPEN: 0.85}.get(status, 0.97)
        if self.rng.random() >= chance:
            return None
        supervisors = self.staff_by_role.get(Role.SUPERVISOR, [])
        if supervisors and is_complaint and customer.is_vip:
            return supervisors[0]
        agents = self.staff_by_role.get(Role.AGENT, [])
        if not agents:
            return None
        team_agents = [agents[0], agents[-1]] if team == ORDERS_TEAM else [agents[min(1, len(agents) - 1)], agents[-1]]
        language = customer.market.language
        speakers = [email for email in team_agents if language in STAFF_PROFILES.get(email, _NO_PROFILE).languages]
        return self.rng.choice(speakers or team_agents)

    def _placeholders(
        self, *, customer: CustomerPlan, order: OrderPlan | None, reason: str, team: str, opened_at: datetime
    ) -> dict[str, str]:
        product = self.rng.choice(self.product_plans)
        if order is not None:
            items = order.items
            if reason == "wrong_size":
                items = [item for item in order.items if item.product.is_apparel] or items
            product = self.rng.choice(items).product
        shipment = order.shipments[0] if order and order.shipments else None
        eta = shipment.estimated_delivery_at if shipment and shipment.estimated_delivery_at else None
        currency = order.currency if order else customer.market.currency
        code = self.rng.choice(NEWSLETTER_CODES)
        short_name = product.name.split(" — ")[0]
        line = next((item for item in order.items if item.product is product), None) if order else None
        item_amount = line.line_total if line else None
        return {
            "reason": reason,
            "order": order.number if order else "",
            "placed": _format_day(order.placed_at) if order else "",
            "amount": _format_money(order.total, currency) if order else "",
            "item_amount": _format_money(item_amount or product.price, currency),
            "discount_amount": _format_money(_money((order.subtotal if order else product.price) / 10), currency),
            "product": short_name,
            "carrier": shipment.carrier if shipment else "the carrier",
            "tracking": shipment.tracking_number if shipment else "",
            "tracking_url": shipment.tracking_url if shipment else "",
            "eta": _format_day(eta) if eta else "the end of the week",
            "code": code,
            "new_code": f"JP-{_token(self.seed, 'code', customer.index, code)[:8].upper()}",
            "address": customer.address,
            "country": customer.market.country_in_english,
            "country_native": customer.market.country_in_language,
            "refund_date": _format_day(opened_at - timedelta(days=self.rng.randint(3, 9))),
            "restock": _format_day(opened_at + timedelta(days=self.rng.randint(4, 14))),
            "case_ref": f"{self.rng.choice(['CLM', 'TRC', 'REF'])}-{_digits(self.rng, 7)}",
            "team": team,
            "followup_day": _format_day(opened_at + timedelta(days=2)),
            "is_apparel": "yes" if product.is_apparel else "",
        }

    def _conversation(
        self,
        *,
        index: int,
        status: str,
        reason: str,
        channel: str,
        customer: CustomerPlan,
        assignee: str | None,
        opened_at: datetime,
        fill: dict[str, str],
        is_native: bool,
        variant: int,
    ) -> tuple[list[MessagePlan], str]:
        """The messages, and the customer's opening words (a subject for channels that have none)."""
        steps = self._steps(status)
        team_agents = self.staff_by_role.get(Role.AGENT, [])
        agent = assignee or (self.rng.choice(team_agents) if team_agents else None)
        note_author = agent or next(iter(self.staff_by_role.get(Role.SUPERVISOR, [])), None)
        texts = {
            key: (pieces[variant],) if key in PAIRED_PIECES.get(reason, ()) else pieces
            for key, pieces in CONVERSATIONS[reason].items()
        }
        moments = self._moments(steps, channel=channel, opened_at=opened_at)
        messages: list[MessagePlan] = []
        thread_ids: list[str] = []
        sender_address = {
            Channel.SMS: customer.phone,
            Channel.WHATSAPP: customer.phone,
            Channel.MESSENGER: customer.messenger_id,
            Channel.INSTAGRAM: customer.instagram_id,
        }.get(channel, customer.email)
        opening = ""
        is_first_reply = True
        for position, (step, moment) in enumerate(zip(steps, moments, strict=True)):
            if step in {"open", "nudge", "customer_reply", "thanks"}:
                body = self._customer_text(step, texts=texts, customer=customer, fill=fill, is_native=is_native)
                opening = opening or body
                text = _wrap_inbound(body, channel=channel, customer=customer, is_native=is_native, step=step)
                direction, author = MessageDirection.INBOUND, None
            elif step == "note":
                pool = texts.get("note", ()) + GENERIC_ENGLISH["note"]
                text = self.rng.choice(pool).format_map(fill)
                direction, author = MessageDirection.NOTE, note_author
            else:
                key = step
                if step == "agent_first" and reason == "wismo" and not fill["tracking"]:
                    key = "agent_first_unshipped"
                options = texts.get(key) or GENERIC_ENGLISH.get(key) or texts["agent_first"]
                body = self.rng.choice(options).format_map(fill)
                agent_name = STAFF_NAMES.get(agent or "", "The team")
                text = _wrap_outbound(
                    body, channel=channel, customer=customer, agent_name=agent_name, is_first=is_first_reply
                )
                is_first_reply = False
                direction, author = MessageDirection.OUTBOUND, agent
            html = _email_html(text) if channel == Channel.EMAIL and direction != MessageDirection.NOTE else ""
            external_id = _external_message_id(
                seed=self.seed, channel=channel, ticket_index=index, position=position, direction=direction
            )
            is_inbound = direction == MessageDirection.INBOUND
            references = thread_ids[-20:] if channel == Channel.EMAIL and direction != MessageDirection.NOTE else []
            messages.append(
                MessagePlan(
                    direction=direction,
                    author_email=author,
                    body_text=text,
                    body_html=html,
                    external_message_id=external_id,
                    created_at=moment,
                    sender_address=sender_address if is_inbound else "",
                    references=list(references),
                )
            )
            if external_id:
                thread_ids.append(external_id)
        return messages, opening

    def _steps(self, status: str) -> list[str]:
        rng = self.rng
        if status == TicketStatus.NEW:
            return ["open", "nudge"] if rng.random() < 0.8 else ["open", "nudge", "nudge"]
        if status == TicketStatus.OPEN:
            steps = ["open", "agent_first", "customer_reply"]
            if rng.random() < 0.35:
                steps.insert(1, "note")
            if rng.random() < 0.3:
                steps.append("nudge")
            return steps
        if status == TicketStatus.PENDING:
            steps = ["open", "agent_first"]
            if rng.random() < 0.4:
                steps += ["customer_reply", "agent_hold"]
            if rng.random() < 0.3:
                steps.insert(1, "note")
            return steps
        if status == TicketStatus.ON_HOLD:
            if rng.random() < 0.5:
                return ["open", "agent_first", "customer_reply", "agent_hold", "note"]
            return ["open", "agent_hold", "note"]
        if rng.random() < 0.2:
            steps = ["open", "agent_resolve"]
        else:
            steps = ["open", "agent_first", "customer_reply", "agent_resolve"]
        if rng.random() < 0.25:
            steps.insert(1, "note")
        if rng.random() < 0.5 and len(steps) < 6:
            steps.append("thanks")
        return steps

    def _moments(self, steps: list[str], *, channel: str, opened_at: datetime) -> list[datetime]:
        """When each message was written: chats take minutes, email takes hours, holds take days."""
        is_live = channel == Channel.CHAT
        moments = [opened_at]
        for step in steps[1:]:
            if step == "note":
                gap = self.between(0.02, 0.6)
            elif step.startswith("agent"):
                gap = self.between(0.01, 0.08) if is_live else self.between(0.3, 22)
                if step == "agent_resolve" and not is_live and self.rng.random() < 0.3:
                    gap += timedelta(days=self.rng.uniform(1, 3))
            elif is_live:
                gap = self.between(0.005, 0.05)
            else:
                gap = self.between(0.2, 40)
            moments.append(moments[-1] + gap)
        latest = self.now - timedelta(minutes=2)
        if moments[-1] > latest:
            span = (moments[-1] - opened_at).total_seconds()
            room = max((latest - opened_at).total_seconds(), 60.0)
            moments = [opened_at + (moment - opened_at) * (room / span) for moment in moments]
        return moments

    def _customer_text(
        self,
        step: str,
        *,
        texts: dict[str, tuple[str, ...]],
        customer: CustomerPlan,
        fill: dict[str, str],
        is_native: bool,
    ) -> str:
        if is_native:
            native = NATIVE[customer.market.language]
            key = {"open": fill["reason"], "customer_reply": "reply"}.get(step, step)
            return native[key].format_map({**fill, "country": fill["country_native"]})
        if step in {"open", "customer_reply"}:
            return self.rng.choice(texts[step]).format_map(fill)
        pool = GENERIC_ENGLISH[step]
        if step == "nudge" and not fill["order"]:
            pool = pool[:3]
        return self.rng.choice(pool).format_map(fill)

    # Everything ---------------------------------------------------------------------------------

    def plan(self) -> DemoPlan:
        self.product_plans = self.products()
        customers = self.customers()
        orders = self.orders(customers, self.product_plans)
        spend: dict[int, Decimal] = {}
        for order in orders:
            spend[order.customer.index] = spend.get(order.customer.index, Decimal("0")) + order.total
        for customer_index in sorted(spend, key=lambda key: (-spend[key], key))[:8]:
            vip = customers[customer_index]
            vip.is_vip = True
            vip.notes = (
                f"VIP: lifetime spend {_format_money(spend[customer_index], vip.market.currency)}. "
                "Offer free express shipping on replacements; no need to wait for returns."
            )
        tickets = self.tickets(customers, orders)
        for customer in customers:
            activity = [order.placed_at for order in orders if order.customer is customer]
            activity += [ticket.created_at for ticket in tickets if ticket.customer is customer]
            first_seen = min(activity) if activity else self.ago(days=self.rng.uniform(1, 60))
            customer.created_at = first_seen - timedelta(days=self.rng.uniform(0, 300), minutes=5)
        tags = [(reason.tag, False) for reason in REASONS.values()] + [(COMPLAINT_TAG, True)]
        return DemoPlan(self.product_plans, customers, orders, tickets, tags)


STAFF_NAMES = {email: first for email, first, _last, _role in DEMO_STAFF}
_NO_PROFILE = StaffProfile(("en",), Availability.OFFLINE)


AFTER_DELIVERY_DAYS = {"wrong_size": 30, "return_request": 30, "damaged_item": 10, "missing_item": 10}


def _order_fits(reason: str, order: OrderPlan, moment: datetime) -> bool:
    """Could this order be what a customer wrote about at ``moment``?"""
    day = timedelta(days=1)
    placed, delivered, shipped = order.placed_at, order.delivered_at, order.shipped_at
    if moment <= placed:
        return False
    if reason == "wismo":
        return (
            order.status not in {OrderStatus.PENDING, OrderStatus.CANCELLED}
            and placed + 2 * day < moment < placed + 20 * day
            and (delivered is None or delivered > moment)
        )
    if reason == "charged_twice":
        return order.paid_at is not None and moment < order.paid_at + 10 * day
    if reason in AFTER_DELIVERY_DAYS:
        if delivered is None or not delivered < moment < delivered + AFTER_DELIVERY_DAYS[reason] * day:
            return False
        if reason == "wrong_size":
            return any(item.product.is_apparel for item in order.items)
        return reason != "missing_item" or len(order.items) > 1
    if reason == "discount_code":
        return moment < placed + 3 * day
    if reason == "cancel_order":
        # Either we cancelled it in time, or it shipped within hours of the request and has to come back.
        is_shipped_soon_after = shipped is not None and moment < shipped < moment + timedelta(hours=12)
        return moment < placed + day and (order.status == OrderStatus.CANCELLED or is_shipped_soon_after)
    if reason == "change_address":
        is_unshipped = shipped is None or shipped > moment
        return moment < placed + 2 * day and is_unshipped and order.status != OrderStatus.CANCELLED
    if reason == "refund_status":
        return order.status == OrderStatus.REFUNDED and placed + 14 * day < moment < placed + 60 * day
    return False


def _raise_priority(priority: str) -> str:
    position = PRIORITIES.index(Priority(priority))
    return PRIORITIES[max(position - 1, 0)]


def _wrap_inbound(body: str, *, channel: str, customer: CustomerPlan, is_native: bool, step: str) -> str:
    if channel != Channel.EMAIL:
        return body
    if is_native or step != "open":
        return f"{body}\n\n{customer.name}"
    return f"Hi,\n\n{body}\n\nThanks,\n{customer.name}"


def _wrap_outbound(body: str, *, channel: str, customer: CustomerPlan, agent_name: str, is_first: bool) -> str:
    if channel == Channel.EMAIL:
        return f"Hi {customer.greeting_name},\n\n{body}\n\nBest,\n{agent_name}\n{STORE_NAME} Customer Care"
    if is_first:
        return f"Hi {customer.greeting_name}, this is {agent_name} from {STORE_NAME}. {body}"
    return body


def _email_html(text: str) -> str:
    return "".join(f"<p>{escape(part).replace(chr(10), '<br>')}</p>" for part in text.split("\n\n"))


def demo_store_plan(*, seed: int = DEMO_SEED, now: datetime | None = None) -> DemoPlan:
    """The whole demo store in memory; the same seed and clock give the same plan."""
    return _Planner(seed=seed, now=now or timezone.now()).plan()


# --- Writing it ---------------------------------------------------------------------------------


def demo_store_is_seeded(*, seed: int = DEMO_SEED) -> bool:
    """True once a seed has committed: its first ticket and the demo admin exist (one transaction wrote both)."""
    admin_emails = [email for email, _first, _last, role in DEMO_STAFF if role == Role.ADMIN]
    return (
        Message.objects.filter(channel=Channel.EMAIL, external_message_id=ticket_marker(seed=seed, index=0)).exists()
        and User.objects.filter(email__in=admin_emails).exists()
    )


@transaction.atomic
def demo_store_seed(*, seed: int = DEMO_SEED, now: datetime | None = None) -> SeedResult:
    """Write the demo store, creating only what is missing by natural key; all or nothing."""
    plan = demo_store_plan(seed=seed, now=now)
    created: dict[str, int] = {}
    staff = _seed_staff(created)
    _seed_teams(staff, created)
    tags = _seed_tags(plan.tags, created)
    products = _seed_products(plan.products, created)
    customers = _seed_customers(plan.customers, created)
    orders = _seed_orders(plan.orders, customers=customers, products=products, created=created)
    _seed_tickets(plan.tickets, customers=customers, orders=orders, staff=staff, tags=tags, created=created)
    return SeedResult(created=created)


def _backdate(
    model: type[models.Model],
    rows: Iterable[tuple[models.Model, datetime | None, datetime | None]],
    *,
    also: tuple[str, ...] = (),
) -> None:
    """created_at is auto_now_add, so a bulk insert stamps "now"; put the real history back in."""
    objects = []
    for instance, created_at, updated_at in rows:
        instance.created_at = created_at  # type: ignore[attr-defined]
        instance.updated_at = updated_at or created_at  # type: ignore[attr-defined]
        objects.append(instance)
    model._default_manager.bulk_update(objects, ["created_at", "updated_at", *also], batch_size=1000)


def _seed_staff(created: dict[str, int]) -> dict[str, User]:
    from allauth.account.models import EmailAddress

    from accounts.roles import sync_role_groups

    emails = [email for email, _first, _last, _role in DEMO_STAFF]
    labels = {role: Role(role).label for _email, _first, _last, role in DEMO_STAFF}
    if Group.objects.filter(name__in=set(labels.values())).count() < len(set(labels.values())):
        sync_role_groups()  # normally done by accounts' post_migrate hook
    groups = {group.name: group for group in Group.objects.filter(name__in=set(labels.values()))}
    existing = {user.email: user for user in User.objects.filter(email__in=emails)}
    # One hash for all: the demo password is public and printed, and hashing it five times costs seconds.
    password = make_password(DEMO_PASSWORD)
    joined = timezone.now() - timedelta(days=400)
    new_users = [
        User(
            email=email,
            first_name=first,
            last_name=last,
            role=role,
            is_staff=True,
            password=password,
            date_joined=joined,
        )
        for email, first, last, role in DEMO_STAFF
        if email not in existing
    ]
    User.objects.bulk_create(new_users)
    created["users"] = len(new_users)
    staff = {user.email: user for user in User.objects.filter(email__in=emails)}

    memberships = [
        User.groups.through(user_id=staff[email].pk, group_id=groups[labels[role]].pk)
        for email, _first, _last, role in DEMO_STAFF
    ]
    User.groups.through.objects.bulk_create(memberships, ignore_conflicts=True)

    with_profile = set(AgentProfile.objects.filter(user__in=staff.values()).values_list("user__email", flat=True))
    profiles = []
    for email, user in staff.items():
        if email in with_profile:
            continue
        profile = STAFF_PROFILES.get(email, _NO_PROFILE)
        profiles.append(
            AgentProfile(
                user=user,
                languages=list(profile.languages),
                availability=profile.availability,
                availability_changed_at=timezone.now() - timedelta(minutes=25),
                chat_capacity=profile.chat_capacity,
            )
        )
    AgentProfile.objects.bulk_create(profiles)
    created["agent_profiles"] = len(profiles)

    with_address = set(EmailAddress.objects.filter(email__in=emails).values_list("email", flat=True))
    EmailAddress.objects.bulk_create(
        [
            EmailAddress(user=user, email=email, verified=True, primary=True)
            for email, user in staff.items()
            if email not in with_address
        ]
    )
    return staff


def _seed_teams(staff: dict[str, User], created: dict[str, int]) -> None:
    agents = [email for email, _first, _last, role in DEMO_STAFF if role == Role.AGENT]
    supervisors = [email for email, _first, _last, role in DEMO_STAFF if role == Role.SUPERVISOR]
    lead = supervisors[0] if supervisors else None
    rosters = {
        ORDERS_TEAM: [agents[0], agents[-1]] if agents else [],
        BILLING_TEAM: [agents[min(1, len(agents) - 1)], agents[-1]] if agents else [],
    }
    existing = set(Team.objects.filter(name__in=rosters).values_list("name", flat=True))
    new_teams = [Team(name=name, lead=staff.get(lead or "")) for name in rosters if name not in existing]
    Team.objects.bulk_create(new_teams)
    created["teams"] = len(new_teams)
    teams = {team.name: team for team in Team.objects.filter(name__in=[team.name for team in new_teams])}
    Team.members.through.objects.bulk_create(
        [
            Team.members.through(team_id=teams[name].pk, user_id=staff[email].pk)
            for name in teams
            for email in dict.fromkeys([*rosters[name], *([lead] if lead else [])])
        ],
        ignore_conflicts=True,
    )


def _seed_tags(planned: list[tuple[str, bool]], created: dict[str, int]) -> dict[str, Tag]:
    existing = set(Tag.objects.filter(name__in=[name for name, _ in planned]).values_list("name", flat=True))
    new_tags = [Tag(name=name, is_complaint=is_complaint) for name, is_complaint in planned if name not in existing]
    Tag.objects.bulk_create(new_tags)
    created["tags"] = len(new_tags)
    return {tag.name: tag for tag in Tag.objects.filter(name__in=[name for name, _ in planned])}


def _seed_products(planned: list[ProductPlan], created: dict[str, int]) -> dict[str, Product]:
    existing = set(Product.objects.filter(sku__in=[p.sku for p in planned]).values_list("sku", flat=True))
    fresh = [plan for plan in planned if plan.sku not in existing]
    rows = Product.objects.bulk_create(
        [Product(sku=p.sku, name=p.name, price=p.price, currency="USD", stock_on_hand=p.stock_on_hand) for p in fresh]
    )
    _backdate(Product, ((row, plan.created_at, plan.created_at) for row, plan in zip(rows, fresh, strict=True)))
    created["products"] = len(rows)
    return {product.sku: product for product in Product.objects.filter(sku__in=[p.sku for p in planned])}


def _seed_customers(planned: list[CustomerPlan], created: dict[str, int]) -> dict[int, int]:
    """Customer ids by plan index; a customer is known by their email address."""
    emails = [plan.email for plan in planned]
    known = dict(
        CustomerIdentity.objects.filter(kind=IdentityKind.EMAIL, value__in=emails).values_list("value", "customer_id")
    )
    fresh = [plan for plan in planned if plan.email not in known]
    rows = Customer.objects.bulk_create(
        [
            Customer(
                name=plan.name,
                language=plan.market.language,
                timezone=plan.timezone,
                is_vip=plan.is_vip,
                notes=plan.notes,
                is_marketing_consent_given=plan.is_marketing_consent_given,
            )
            for plan in fresh
        ]
    )
    _backdate(Customer, ((row, plan.created_at, plan.created_at) for row, plan in zip(rows, fresh, strict=True)))
    created["customers"] = len(rows)

    wanted = [(row, plan, identity) for row, plan in zip(rows, fresh, strict=True) for identity in plan.identities()]
    taken = set(
        CustomerIdentity.objects.filter(value__in=[value for _row, _plan, (_kind, value, _p) in wanted]).values_list(
            "kind", "value"
        )
    )
    identity_rows = []
    stamps = []
    for row, plan, (kind, value, is_primary) in wanted:
        if (kind, value) in taken:
            continue
        identity_rows.append(CustomerIdentity(customer=row, kind=kind, value=value, is_primary=is_primary))
        stamps.append(plan.created_at)
    CustomerIdentity.objects.bulk_create(identity_rows)
    _backdate(CustomerIdentity, ((row, stamp, stamp) for row, stamp in zip(identity_rows, stamps, strict=True)))
    created["customer_identities"] = len(identity_rows)

    ids = {plan.email: row.pk for plan, row in zip(fresh, rows, strict=True)} | known
    return {plan.index: ids[plan.email] for plan in planned}


def _seed_orders(
    planned: list[OrderPlan], *, customers: dict[int, int], products: dict[str, Product], created: dict[str, int]
) -> dict[str, Order]:
    numbers = [plan.number for plan in planned]
    existing = set(Order.objects.filter(number__in=numbers).values_list("number", flat=True))
    fresh = [plan for plan in planned if plan.number not in existing]
    rows = Order.objects.bulk_create(
        [
            Order(
                number=plan.number,
                customer_id=customers[plan.customer.index],
                status=plan.status,
                currency=plan.currency,
                subtotal=plan.subtotal,
                shipping_total=plan.shipping_total,
                tax_total=plan.tax_total,
                discount_total=plan.discount_total,
                total=plan.total,
                amount_paid=plan.amount_paid,
                placed_at=plan.placed_at,
                paid_at=plan.paid_at,
            )
            for plan in fresh
        ],
        batch_size=1000,
    )
    _backdate(Order, ((row, plan.placed_at, plan.updated_at) for row, plan in zip(rows, fresh, strict=True)))
    created["orders"] = len(rows)

    items = [
        OrderItem(
            order=row,
            product=products.get(item.product.sku),
            sku=item.product.sku,
            name=item.product.name,
            quantity=item.quantity,
            unit_price=item.unit_price,
            line_total=item.line_total,
        )
        for row, plan in zip(rows, fresh, strict=True)
        for item in plan.items
    ]
    OrderItem.objects.bulk_create(items, batch_size=2000)
    created["order_items"] = len(items)

    shipment_pairs = [(row, shipment) for row, plan in zip(rows, fresh, strict=True) for shipment in plan.shipments]
    shipments = Shipment.objects.bulk_create(
        [
            Shipment(
                order=row,
                carrier=plan.carrier,
                tracking_number=plan.tracking_number,
                tracking_url=plan.tracking_url,
                status=plan.status,
                shipped_at=plan.shipped_at,
                estimated_delivery_at=plan.estimated_delivery_at,
                delivered_at=plan.delivered_at,
            )
            for row, plan in shipment_pairs
        ],
        batch_size=1000,
    )
    _backdate(
        Shipment,
        ((row, plan.created_at, plan.updated_at) for row, (_o, plan) in zip(shipments, shipment_pairs, strict=True)),
    )
    created["shipments"] = len(shipments)
    return {order.number: order for order in Order.objects.filter(number__in=numbers).only("id", "customer_id")}


def _seed_tickets(
    planned: list[TicketPlan],
    *,
    customers: dict[int, int],
    orders: dict[str, Order],
    staff: dict[str, User],
    tags: dict[str, Tag],
    created: dict[str, int],
) -> None:
    seeded = set(
        Message.objects.filter(external_message_id__in=[plan.marker for plan in planned]).values_list(
            "external_message_id", flat=True
        )
    )
    # Inserted oldest first so the sequence gives older tickets lower numbers, as real traffic would.
    fresh = sorted((plan for plan in planned if plan.marker not in seeded), key=lambda plan: plan.created_at)
    teams = {team.name: team for team in Team.objects.filter(name__in={ORDERS_TEAM, BILLING_TEAM})}
    tickets = []
    for plan in fresh:
        customer_id = customers[plan.customer.index]
        order = orders.get(plan.order.number) if plan.order else None
        assignee = staff.get(plan.assignee_email) if plan.assignee_email else None
        tickets.append(
            Ticket(
                subject=plan.subject[:255],
                customer_id=customer_id,
                status=plan.status,
                priority=plan.priority,
                channel=plan.channel,
                assignee=assignee,
                team=teams.get(plan.team_name) if plan.team_name else None,
                order=order if order is not None and order.customer_id == customer_id else None,
                last_message_at=plan.last_message_at,
                status_changed_at=plan.status_changed_at,
                first_agent_reply_at=plan.first_agent_reply_at,
                complaint_due_at=plan.complaint_due_at,
                solved_at=plan.solved_at,
                closed_at=plan.closed_at,
                version=len(plan.messages),
            )
        )
    Ticket.objects.bulk_create(tickets, batch_size=1000)
    _backdate(Ticket, ((row, plan.created_at, plan.updated_at) for row, plan in zip(tickets, fresh, strict=True)))
    created["tickets"] = len(tickets)

    Ticket.tags.through.objects.bulk_create(
        [
            Ticket.tags.through(ticket_id=row.pk, tag_id=tags[name].pk)
            for row, plan in zip(tickets, fresh, strict=True)
            for name in plan.tag_names
        ],
        ignore_conflicts=True,
    )

    message_pairs = [(row, message) for row, plan in zip(tickets, fresh, strict=True) for message in plan.messages]
    messages = Message.objects.bulk_create(
        [
            Message(
                ticket=row,
                channel=row.channel,
                direction=plan.direction,
                author=staff.get(plan.author_email) if plan.author_email else None,
                body_text=plan.body_text,
                body_html=plan.body_html,
                external_message_id=plan.external_message_id,
                references=plan.references,
                sender_address=plan.sender_address,
            )
            for row, plan in message_pairs
        ],
        batch_size=2000,
    )
    _backdate(
        Message,
        ((row, plan.created_at, plan.created_at) for row, (_t, plan) in zip(messages, message_pairs, strict=True)),
    )
    created["messages"] = len(messages)

    # Replies in the demo went out long ago: their outbox rows say sent, so nothing tries to deliver them.
    deliveries = MessageDelivery.objects.bulk_create(
        [
            MessageDelivery(message=row, status=MessageDelivery.Status.SENT, attempts=1)
            for row in messages
            if row.direction == MessageDirection.OUTBOUND
        ],
        batch_size=2000,
    )
    sent_rows = []
    for delivery in deliveries:
        sent_at = delivery.message.created_at + timedelta(seconds=2)
        delivery.sent_at = sent_at
        sent_rows.append((delivery, sent_at, sent_at))
    _backdate(MessageDelivery, sent_rows, also=("sent_at",))
    _seed_ratings(tickets, fresh, created)


# Answers to the satisfaction survey after a closed ticket: most customers answer happily, some not at all.
DEMO_RATING_SCORES = (5, 5, 5, 4, 4, 3, 2, 1)
DEMO_RATING_COMMENTS = ("Quick and friendly, thank you!", "Took a while but solved.", "Still waiting on a refund.", "")


def _seed_ratings(tickets: list[Ticket], plans: list[TicketPlan], created: dict[str, int]) -> None:
    from surveys.choices import SurveyKind
    from surveys.models import SurveyResponse

    responses = []
    for row, plan in zip(tickets, plans, strict=True):
        roll = int(plan.marker_hash[:8], 16)
        if plan.closed_at is None or roll % 10 >= 6:
            continue
        score = DEMO_RATING_SCORES[roll // 10 % len(DEMO_RATING_SCORES)]
        comment = DEMO_RATING_COMMENTS[0 if score >= 4 else 1 + roll // 80 % 3]
        responses.append(
            SurveyResponse(
                kind=SurveyKind.CSAT,
                customer_id=row.customer_id,
                ticket=row,
                score=score,
                comment=comment,
                responded_at=plan.closed_at + timedelta(hours=3),
            )
        )
    # A ticket put back by a later seed must not be rated twice: its earlier answer is still there.
    answered = set(
        SurveyResponse.objects.filter(
            customer_id__in={response.customer_id for response in responses},
            responded_at__in={response.responded_at for response in responses},
        ).values_list("customer_id", "responded_at")
    )
    responses = [response for response in responses if (response.customer_id, response.responded_at) not in answered]
    SurveyResponse.objects.bulk_create(responses, batch_size=1000)
    created["satisfaction ratings"] = len(responses)
