"""WeChat Pay v3: JSON APIs authorized by the merchant's signature, answers and notifies signed with the platform key,
the notify's resource sealed with the APIv3 key."""

from __future__ import annotations

import base64
import html
import json
import secrets
import time
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from local.loopback import Answer, Request, json_answer
from local.providers.payments import ledger
from local.providers.payments.keys import GatewayKeys, private_pem, public_pem, sha256_rsa, sha256_rsa_ok
from local.providers.payments.ledger import CHINA, EmulatedPayment, GatewayState

CHANNEL = "wechat"
TRADE_NO_PREFIX = "4200"
WECHAT_APP_ID = "wxemulatedpay0001"
WECHAT_MCH_ID = "1900000001"


def settings(keys: GatewayKeys, url: str) -> dict[str, str]:
    """The app's WECHATPAY_* settings for this gateway."""
    return {
        "WECHATPAY_APP_ID": WECHAT_APP_ID,
        "WECHATPAY_MCH_ID": WECHAT_MCH_ID,
        "WECHATPAY_MCH_SERIAL_NO": keys.wechat_merchant_serial,
        "WECHATPAY_PRIVATE_KEY": private_pem(keys.wechat_merchant),
        "WECHATPAY_PLATFORM_PUBLIC_KEY": public_pem(keys.wechat_platform),
        "WECHATPAY_PLATFORM_SERIAL": keys.wechat_platform_serial,
        "WECHATPAY_APIV3_KEY": keys.apiv3_key.decode(),
        "WECHATPAY_API_BASE": f"{url}/wechat",
    }


# ---- signing exactly as WeChat Pay does (written here independently of the app's verifying code) ----


def wechat_resource(apiv3_key: bytes, plain: dict[str, Any], associated_data: str = "transaction") -> dict[str, str]:
    """A notify's encrypted resource: AES-256-GCM under the APIv3 key, base64(ciphertext || tag)."""
    nonce = secrets.token_hex(6)  # WeChat Pay uses 12 printable characters
    sealed = AESGCM(apiv3_key).encrypt(nonce.encode(), json.dumps(plain).encode(), associated_data.encode())
    return {
        "original_type": "transaction",
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(sealed).decode(),
        "associated_data": associated_data,
        "nonce": nonce,
    }


def wechat_signed_headers(
    platform_key: rsa.RSAPrivateKey, serial: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """The Wechatpay-* headers of an answer or notify: SHA256withRSA over TIMESTAMP\\nNONCE\\nBODY\\n."""
    stamp, nonce = str(int(time.time()) if timestamp is None else timestamp), secrets.token_hex(16)
    message = f"{stamp}\n{nonce}\n".encode() + body + b"\n"
    return {
        "Wechatpay-Timestamp": stamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": sha256_rsa(platform_key, message),
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
    }


def wechat_transaction(
    app_id: str, mch_id: str, out_trade_no: str, amount_fen: int, transaction_id: str, state: str = "SUCCESS"
) -> dict[str, Any]:
    """The decrypted resource of a TRANSACTION.SUCCESS notify."""
    return {
        "mchid": mch_id,
        "appid": app_id,
        "out_trade_no": out_trade_no,
        "transaction_id": transaction_id,
        "trade_type": "NATIVE",
        "trade_state": state,
        "trade_state_desc": "支付成功",
        "bank_type": "OTHERS",
        "attach": "",
        "success_time": datetime.now(CHINA).isoformat(timespec="seconds"),
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {"total": amount_fen, "payer_total": amount_fen, "currency": "CNY", "payer_currency": "CNY"},
    }


def wechat_notify(
    platform_key: rsa.RSAPrivateKey,
    serial: str,
    apiv3_key: bytes,
    transaction: dict[str, Any],
    timestamp: int | None = None,
) -> tuple[dict[str, str], bytes]:
    """(headers, body) of a WeChat Pay v3 payment notify."""
    envelope = {
        "id": secrets.token_hex(18),
        "create_time": datetime.now(CHINA).isoformat(timespec="seconds"),
        "resource_type": "encrypt-resource",
        "event_type": "TRANSACTION.SUCCESS",
        "summary": "支付成功",
        "resource": wechat_resource(apiv3_key, transaction),
    }
    body = json.dumps(envelope, ensure_ascii=False).encode()
    headers = wechat_signed_headers(platform_key, serial, body, timestamp)
    return {**headers, "Content-Type": "application/json"}, body


def wechat_authorization_ok(
    merchant_key: rsa.RSAPublicKey, mch_id: str, method: str, target: str, body: bytes, auth: str
) -> bool:
    """Check a merchant's Authorization header the way WeChat Pay does."""
    scheme, _, rest = auth.partition(" ")
    if scheme != "WECHATPAY2-SHA256-RSA2048":
        return False
    parts = dict(item.split("=", 1) for item in rest.split(",") if "=" in item)
    values = {k.strip(): v.strip().strip('"') for k, v in parts.items()}
    if values.get("mchid") != mch_id or abs(time.time() - int(values.get("timestamp") or 0)) > 300:
        return False
    message = f"{method}\n{target}\n{values.get('timestamp')}\n{values.get('nonce_str')}\n".encode() + body + b"\n"
    return sha256_rsa_ok(merchant_key, message, values.get("signature", ""))


def signed_notify(
    keys: GatewayKeys, payment: EmulatedPayment, amount_fen: int, success: bool
) -> tuple[dict[str, str], bytes]:
    state = "SUCCESS" if success else "CLOSED"
    transaction = wechat_transaction(
        WECHAT_APP_ID, WECHAT_MCH_ID, payment.payment_id, amount_fen, payment.trade_no, state
    )
    return wechat_notify(keys.wechat_platform, keys.wechat_platform_serial, keys.apiv3_key, transaction)


def pay(
    state: GatewayState,
    payment_id: str,
    amount_fen: int | None = None,
    success: bool = True,
    notify: bool = True,
    even_if_closed: bool = False,
) -> tuple[int, str]:
    return ledger.pay(state, CHANNEL, payment_id, amount_fen, success, signed_notify, notify, even_if_closed)


# ---- the routes ----


def _answer(shared: GatewayState, body: dict[str, Any], status: int = 200) -> Answer:
    raw = json.dumps(body, ensure_ascii=False).encode()
    headers = wechat_signed_headers(shared.keys.wechat_platform, shared.keys.wechat_platform_serial, raw)
    return Answer(status, raw, "application/json", headers)


def _authorized(shared: GatewayState, call: Request) -> dict[str, Any] | None:
    merchant = shared.keys.wechat_merchant.public_key()
    auth = call.headers.get("Authorization", "")
    if not wechat_authorization_ok(merchant, WECHAT_MCH_ID, call.method, call.target, call.body, auth):
        return None
    try:
        fields = json.loads(call.body)
    except ValueError:
        return None
    return fields if isinstance(fields, dict) else None


def native(shared: GatewayState, call: Request) -> Answer:
    fields = _authorized(shared, call)
    if fields is None:
        return json_answer({"code": "SIGN_ERROR", "message": "签名错误"}, 401)
    if fields.get("mchid") != WECHAT_MCH_ID or fields.get("appid") != WECHAT_APP_ID:
        return json_answer({"code": "PARAM_ERROR", "message": "appid和mch_id不匹配"}, 400)
    amount = (fields.get("amount") or {}).get("total")
    if type(amount) is not int or amount <= 0 or not fields.get("out_trade_no"):
        return json_answer({"code": "PARAM_ERROR", "message": "参数错误"}, 400)
    notify_url = str(fields.get("notify_url", ""))
    ledger.record(shared, CHANNEL, str(fields["out_trade_no"]), amount, notify_url, TRADE_NO_PREFIX)
    return _answer(shared, {"code_url": f"weixin://wxpay/bizpayurl?pr={secrets.token_urlsafe(6)}"})


def _placed(shared: GatewayState, call: Request) -> tuple[dict[str, Any] | None, Answer | None]:
    """An order placement's fields once checked as WeChat Pay checks them (or the error answer), recorded."""
    fields = _authorized(shared, call)
    if fields is None:
        return None, json_answer({"code": "SIGN_ERROR", "message": "签名错误"}, 401)
    if fields.get("mchid") != WECHAT_MCH_ID or fields.get("appid") != WECHAT_APP_ID:
        return None, json_answer({"code": "PARAM_ERROR", "message": "appid和mch_id不匹配"}, 400)
    amount = (fields.get("amount") or {}).get("total")
    if type(amount) is not int or amount <= 0 or not fields.get("out_trade_no"):
        return None, json_answer({"code": "PARAM_ERROR", "message": "参数错误"}, 400)
    found = ledger.found(shared, CHANNEL, str(fields["out_trade_no"]))
    if found is not None and found.closed:
        return None, json_answer({"code": "ORDER_CLOSED", "message": "订单已关闭"}, 400)
    notify_url = str(fields.get("notify_url", ""))
    ledger.record(shared, CHANNEL, str(fields["out_trade_no"]), amount, notify_url, TRADE_NO_PREFIX)
    return fields, None


def jsapi(shared: GatewayState, call: Request) -> Answer:
    """POST /v3/pay/transactions/jsapi: the payer's openid is required; answers the prepay_id."""
    fields, refused = _placed(shared, call)
    if fields is None:
        return refused or json_answer({"code": "PARAM_ERROR", "message": "参数错误"}, 400)
    if not str((fields.get("payer") or {}).get("openid") or ""):
        return json_answer({"code": "PARAM_ERROR", "message": "缺少参数 payer.openid"}, 400)
    return _answer(shared, {"prepay_id": "wx" + secrets.token_hex(16)})


def h5(shared: GatewayState, call: Request) -> Answer:
    """POST /v3/pay/transactions/h5: scene_info.payer_client_ip is required; answers the h5_url (this emulator's
    payer page stands in for WeChat's)."""
    fields, refused = _placed(shared, call)
    if fields is None:
        return refused or json_answer({"code": "PARAM_ERROR", "message": "参数错误"}, 400)
    if not str((fields.get("scene_info") or {}).get("payer_client_ip") or ""):
        return json_answer({"code": "PARAM_ERROR", "message": "缺少参数 scene_info.payer_client_ip"}, 400)
    base = call.headers.get("Host", "127.0.0.1")
    query = urlencode({"prepay_id": "wx" + secrets.token_hex(16), "out_trade_no": fields["out_trade_no"]})
    return _answer(shared, {"h5_url": f"http://{base}/wechat/h5/checkmweb?{query}"})


def h5_page(shared: GatewayState, call: Request) -> Answer:
    """What h5_url opens: the payer's page, whose button pays (POST /wechat/pay)."""
    out_trade_no = html.escape(call.query.get("out_trade_no", ""))
    form = f"<form method='post' action='/wechat/pay'><input type='hidden' name='out_trade_no' value='{out_trade_no}'>"
    return ledger.page("微信支付", f"{form}<button>确认支付</button></form>")


def trade(shared: GatewayState, call: Request) -> Answer:
    """GET .../out-trade-no/{out_trade_no}?mchid= (query) and POST .../out-trade-no/{out_trade_no}/close."""
    merchant = shared.keys.wechat_merchant.public_key()
    auth = call.headers.get("Authorization", "")
    if not wechat_authorization_ok(merchant, WECHAT_MCH_ID, call.method, call.target, call.body, auth):
        return json_answer({"code": "SIGN_ERROR", "message": "签名错误"}, 401)
    rest = urlsplit(call.target).path.removeprefix(TRADE_PREFIX)
    out_trade_no, closing = (rest.removesuffix("/close"), True) if call.method == "POST" else (rest, False)
    out_trade_no = unquote(out_trade_no)
    payment = ledger.found(shared, CHANNEL, out_trade_no)
    if payment is None:
        return json_answer({"code": "ORDER_NOT_EXIST", "message": "订单不存在"}, 404)
    if closing:
        if ledger.close(shared, CHANNEL, out_trade_no) == "paid":
            return json_answer({"code": "ORDERPAID", "message": "订单已支付"}, 400)
        return Answer(204, b"", "application/json", _signed_empty(shared))
    state = "SUCCESS" if payment.paid else "CLOSED" if payment.closed else "NOTPAY"
    transaction = wechat_transaction(WECHAT_APP_ID, WECHAT_MCH_ID, out_trade_no, payment.amount_fen, payment.trade_no,
                                     state)  # fmt: skip
    if payment.paid:
        transaction["success_time"] = payment.paid_at
    else:
        transaction.pop("success_time")
        transaction["trade_state_desc"] = "订单已关闭" if payment.closed else "订单未支付"
    return _answer(shared, transaction)


def _signed_empty(shared: GatewayState) -> dict[str, str]:
    return wechat_signed_headers(shared.keys.wechat_platform, shared.keys.wechat_platform_serial, b"")


def refund(shared: GatewayState, call: Request) -> Answer:
    fields = _authorized(shared, call)
    if fields is None:
        return json_answer({"code": "SIGN_ERROR", "message": "签名错误"}, 401)
    payment_id, refund_id = str(fields.get("out_trade_no", "")), str(fields.get("out_refund_no", ""))
    amount = (fields.get("amount") or {}).get("refund")
    outcome = ledger.refund(shared, CHANNEL, payment_id, refund_id, amount if type(amount) is int else 0)
    if outcome == "unknown":
        return json_answer({"code": "RESOURCE_NOT_EXISTS", "message": "订单不存在"}, 404)
    if outcome not in ("made", "again"):
        return json_answer({"code": "INVALID_REQUEST", "message": "申请退款金额超过订单可退金额"}, 400)
    with shared.lock:
        payment = shared.payments[(CHANNEL, payment_id)]
        answer = {
            "refund_id": "5030" + secrets.token_hex(10),
            "out_refund_no": refund_id,
            "transaction_id": payment.trade_no,
            "out_trade_no": payment_id,
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": datetime.now(CHINA).isoformat(timespec="seconds"),
            "status": "SUCCESS",
            "amount": {"total": payment.amount_fen, "refund": payment.refunds[refund_id], "currency": "CNY"},
        }
    return _answer(shared, answer)


def payer(shared: GatewayState, call: Request) -> Answer:
    status, text = pay(shared, call.form().get("out_trade_no", ""))
    return json_answer({"notify_status": status, "notify_answer": text})


# (method, path) -> (kind, route); "api" routes obey the failure switch, "page" routes are the payer's browser.
ROUTES: dict[tuple[str, str], tuple[str, Any]] = {
    ("POST", "/wechat/v3/pay/transactions/native"): ("api", native),
    ("POST", "/wechat/v3/pay/transactions/jsapi"): ("api", jsapi),
    ("POST", "/wechat/v3/pay/transactions/h5"): ("api", h5),
    ("POST", "/wechat/v3/refund/domestic/refunds"): ("api", refund),
    ("POST", "/wechat/pay"): ("page", payer),
    ("GET", "/wechat/h5/checkmweb"): ("page", h5_page),
}
TRADE_PREFIX = "/wechat/v3/pay/transactions/out-trade-no/"
# (method, path prefix) -> (kind, route): the routes with the out_trade_no in their path.
PREFIX_ROUTES: dict[tuple[str, str], tuple[str, Any]] = {
    ("GET", TRADE_PREFIX): ("api", trade),
    ("POST", TRADE_PREFIX): ("api", trade),
}
