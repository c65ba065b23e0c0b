"""Signs a webhook request with a provider's official SDK, as the provider itself would.

Reads one JSON object on stdin and prints the headers to send (a JSON object). Fields:
  provider   "stripe" | "twilio" | "standardwebhooks"
  secret     the connector's secret (Stripe's whsec_, Twilio's auth token, Standard Webhooks' whsec_)
  payload    the exact body that will be posted (Stripe, Standard Webhooks)
  timestamp  Unix seconds to sign at (optional; now by default)
  url        the URL Twilio posts to (Twilio)
  params     the form parameters Twilio posts (Twilio)
  msg_id     the message id (Standard Webhooks)
"""

import datetime
import json
import sys


def stripe_headers(request):
    import stripe

    header = stripe.WebhookSignature.generate_signature_header(
        request["payload"], request["secret"], request.get("timestamp")
    )
    return {"Stripe-Signature": header}


def twilio_headers(request):
    from twilio.request_validator import RequestValidator

    signature = RequestValidator(request["secret"]).compute_signature(
        request["url"], request["params"]
    )
    return {"X-Twilio-Signature": signature}


def standard_webhooks_headers(request):
    from standardwebhooks import Webhook

    timestamp = request.get("timestamp") or int(datetime.datetime.now().timestamp())
    at = datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc)
    signature = Webhook(request["secret"]).sign(request["msg_id"], at, request["payload"])
    return {
        "webhook-id": request["msg_id"],
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


SIGNERS = {
    "stripe": stripe_headers,
    "twilio": twilio_headers,
    "standardwebhooks": standard_webhooks_headers,
}

if __name__ == "__main__":
    request = json.load(sys.stdin)
    print(json.dumps(SIGNERS[request["provider"]](request)))
