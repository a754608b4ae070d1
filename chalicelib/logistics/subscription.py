"""Subscribing a shipped parcel at kuaidi100 (快递100), so that it pushes the parcel's events to the shop.

kuaidi100's subscription API (`POST https://poll.kuaidi100.com/poll`, a form with `schema=json` and `param`, the
JSON `{"company", "number", "key", "parameters": {"callbackurl", "salt", "resultv2": "1", "phone"}}`, `phone`
only for 顺丰, which requires it) answers `{"result", "returnCode", "message"}`:

- `200` (提交成功) subscribed, and `501` (重复订阅) subscribed before: both done, so subscribing again is harmless;
- `400` (incomplete data or an invalid number), `700` (a carrier or number kuaidi100 cannot follow), `701` (a
  carrier that refuses subscriptions), `702` (a number of no carrier kuaidi100 knows): asking again cannot help,
  the parcel goes untracked (logged);
- anything else (`500` server error, `600`/`601` a wrong or expired key, no answer, not its JSON): retried, by the
  parcel-subscriptions queue, then kept in its dead-letter queue, whose alarm tells the admins.

The order outbox hands each shipped parcel to `QueuedParcelSubscriber` (a message on `shop-<stage>-parcel-
subscriptions`), and that queue's consumer (chalicelib/logistics/events.py) asks kuaidi100 through
`Kuaidi100Subscriber`: kuaidi100's latency and outages never hold the outbox's other messages.

The callback URL is the stage's `/logistics/kuaidi100/notify` and the salt the one its pushes are verified with
(chalicelib.logistics.config)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlencode

from chalicelib import outbound
from chalicelib.aws import client
from chalicelib.config import resource_name
from chalicelib.errors import DependencyUnavailable
from chalicelib.logistics import config
from chalicelib.observability import logger

TIMEOUT_SECONDS = 10.0
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
DONE = {"200": "subscribed", "501": "subscribed_before"}
HOPELESS = frozenset({"400", "700", "701", "702"})  # asking again cannot change kuaidi100's mind
NEEDS_PHONE = frozenset({"shunfeng"})  # carriers that only follow a parcel given the receiver's (or sender's) phone
PARCEL_SUBSCRIPTIONS_QUEUE = resource_name("parcel-subscriptions")


class SubscriptionFailed(DependencyUnavailable):
    """kuaidi100 did not take the subscription this time (retried)."""


@dataclass(frozen=True)
class PollAnswer:
    status: int
    text: str


class PollTransport:
    """How the subscription reaches kuaidi100: httpx in the app, a recording fake in tests."""

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> PollAnswer:
        raise NotImplementedError


class HttpxPollTransport(PollTransport):
    def post(self, url: str, body: bytes, headers: dict[str, str]) -> PollAnswer:
        response = outbound.request("POST", url, TIMEOUT_SECONDS, content=body, headers=headers)
        return PollAnswer(response.status_code, response.text)


class ParcelSubscriber:
    """What the shop asks of kuaidi100 when a parcel ships: follow it and push its events."""

    def subscribe(self, carrier_code: str, tracking_no: str, phone: str) -> str:
        """Subscribe the parcel (idempotent); its outcome, or raises while it should be asked again."""
        raise NotImplementedError


def subscription_param(
    carrier_code: str, tracking_no: str, key: str, callback_url: str, salt: str, phone: str = ""
) -> str:
    """The subscription's `param` JSON, as kuaidi100 documents it."""
    parameters = {"callbackurl": callback_url, "salt": salt, "resultv2": "1"}
    if carrier_code in NEEDS_PHONE and phone:
        parameters["phone"] = phone
    param = {"company": carrier_code, "number": tracking_no, "key": key, "parameters": parameters}
    return json.dumps(param, ensure_ascii=False, separators=(",", ":"))


def outcome(answer: PollAnswer) -> str:
    """What kuaidi100's answer means (see the module docstring); SubscriptionFailed when it should be asked again."""
    try:
        body = json.loads(answer.text) if answer.status == 200 else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise SubscriptionFailed(f"kuaidi100's subscription API answered HTTP {answer.status} without its JSON")
    code = str(body.get("returnCode") or "")
    if code in DONE:
        return DONE[code]
    if code in HOPELESS:
        logger.warning("kuaidi100 refused a subscription", extra={"return_code": code, "kuaidi100_message": body})
        return f"refused_{code}"
    raise SubscriptionFailed(f"kuaidi100 did not take the subscription: {code or '?'} {body.get('message') or ''}")


class Kuaidi100Subscriber(ParcelSubscriber):
    """ParcelSubscriber at kuaidi100's subscription API (KUAIDI100_POLL_URL), with the stage's key, salt and notify
    URL. Without a key, a salt or a notify URL nothing is subscribed (a stage that has none follows no parcel)."""

    def __init__(self, transport: PollTransport) -> None:
        self.transport = transport

    def subscribe(self, carrier_code: str, tracking_no: str, phone: str) -> str:
        key, salt, notify_url = config.subscription_key(), config.subscription_salt(), config.notify_url()
        if not key or not salt or not notify_url:
            logger.warning(
                "no kuaidi100 key, salt or notify URL: the parcel is not subscribed", extra={"tracking_no": tracking_no}
            )
            return "not_configured"
        param = subscription_param(carrier_code, tracking_no, key, notify_url, salt, phone)
        body = urlencode({"schema": "json", "param": param}).encode()
        return outcome(self.transport.post(config.poll_url(), body, dict(FORM)))


class QueuedParcelSubscriber(ParcelSubscriber):
    """ParcelSubscriber for the order outbox: the parcel as a message on the parcel-subscriptions queue (the phone
    only for a carrier that needs it), subscribed at kuaidi100 by that queue's consumer."""

    def subscribe(self, carrier_code: str, tracking_no: str, phone: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        message = {"carrier_code": carrier_code, "tracking_no": tracking_no}
        if carrier_code in NEEDS_PHONE and phone:
            message["phone"] = phone
        try:
            sqs = client("sqs")
            url = sqs.get_queue_url(QueueName=PARCEL_SUBSCRIPTIONS_QUEUE)["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(message, ensure_ascii=False))
        except (BotoCoreError, ClientError) as error:
            raise DependencyUnavailable("The parcel-subscriptions queue could not be reached") from error
        return "queued"
