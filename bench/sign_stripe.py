"""Writes pre-signed Stripe `customer.created` webhooks for bench/hooks.lua: one
"<Stripe-Signature>\\t<body>" line each, every event with its own id, customer and email.

Usage: sign_stripe.py <secret> <count> <first-number> > requests.tsv
"""

import hashlib
import hmac
import json
import sys
import time

secret, count, first = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
timestamp = int(time.time())
for n in range(first, first + count):
    body = json.dumps(
        {
            "id": f"evt_bench_{n:08d}",
            "object": "event",
            "type": "customer.created",
            "created": timestamp,
            "data": {
                "object": {
                    "id": f"cus_bench_{n:08d}",
                    "object": "customer",
                    "email": f"buyer{n}@bench.example.com",
                    "name": f"Buyer {n}",
                    "metadata": {"utm_source": "google", "utm_medium": "cpc"},
                }
            },
        },
        separators=(",", ":"),
    )
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    print(f"t={timestamp},v1={mac}\t{body}")
