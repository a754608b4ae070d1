"""Alipay's gateway: one URL where a GET with page/WAP pay parameters opens the cashier and a POSTed form calls the
OpenAPI (refunds); async notifies and answers signed with Alipay's RSA2 key, requests checked with the shop's."""

from __future__ import annotations

import html
import json
import secrets
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from cryptography.hazmat.primitives.asymmetric import rsa

from local.loopback import Answer, Request, json_answer
from local.providers.payments import ledger
from local.providers.payments.keys import GatewayKeys, private_pem, public_pem, sha256_rsa, sha256_rsa_ok
from local.providers.payments.ledger import CHINA, EmulatedPayment, GatewayState

CHANNEL = "alipay"
TRADE_NO_PREFIX = "2026"
ALIPAY_APP_ID = "2021000000000001"
ALIPAY_SELLER_ID = "2088000000000001"
ALIPAY_REFUND_ERRORS = {"unknown": "ACQ.TRADE_NOT_EXIST", "unpaid": "ACQ.TRADE_STATUS_ERROR"}


def settings(keys: GatewayKeys, url: str) -> dict[str, str]:
    """The app's ALIPAY_* settings for this gateway."""
    return {
        "ALIPAY_APP_ID": ALIPAY_APP_ID,
        "ALIPAY_SELLER_ID": ALIPAY_SELLER_ID,
        "ALIPAY_PRIVATE_KEY": private_pem(keys.alipay_app),
        "ALIPAY_PUBLIC_KEY": public_pem(keys.alipay),
        "ALIPAY_GATEWAY": f"{url}/alipay/gateway.do",
    }


# ---- signing exactly as Alipay does (written here independently of the app's verifying code) ----


def alipay_notify_body(alipay_key: rsa.RSAPrivateKey, fields: dict[str, str]) -> bytes:
    """An Alipay async notify: sign the sorted k=v of all fields but sign/sign_type, then form-encode everything."""
    content = "&".join(f"{k}={v}" for k, v in sorted(fields.items()) if k not in ("sign", "sign_type"))
    return urlencode({**fields, "sign_type": "RSA2", "sign": sha256_rsa(alipay_key, content.encode())}).encode()


def alipay_notify_fields(
    app_id: str, out_trade_no: str, amount_fen: int, trade_no: str, status: str = "TRADE_SUCCESS"
) -> dict[str, str]:
    """The fields of a page/WAP pay notify, as Alipay sends them."""
    now = datetime.now(CHINA).strftime("%Y-%m-%d %H:%M:%S")
    total = f"{amount_fen // 100}.{amount_fen % 100:02d}"
    return {
        "gmt_create": now,
        "charset": "utf-8",
        "seller_email": "seller@emulated.example",
        "subject": "emulated",
        "buyer_id": "2088102177846880",
        "invoice_amount": total,
        "notify_id": secrets.token_hex(16),
        "fund_bill_list": json.dumps([{"amount": total, "fundChannel": "ALIPAYACCOUNT"}]),
        "notify_type": "trade_status_sync",
        "trade_status": status,
        "receipt_amount": total,
        "app_id": app_id,
        "buyer_pay_amount": total,
        "seller_id": ALIPAY_SELLER_ID,
        "gmt_payment": now,
        "notify_time": now,
        "version": "1.0",
        "out_trade_no": out_trade_no,
        "total_amount": total,
        "trade_no": trade_no,
        "auth_app_id": app_id,
        "point_amount": "0.00",
    }


def alipay_answer(alipay_key: rsa.RSAPrivateKey, method: str, value: dict[str, Any]) -> str:
    """An OpenAPI answer: Alipay signs the exact text of the <method>_response object."""
    content = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    key = method.replace(".", "_") + "_response"
    return f'{{"{key}":{content},"sign":"{sha256_rsa(alipay_key, content.encode())}"}}'


def signed_notify(
    keys: GatewayKeys, payment: EmulatedPayment, amount_fen: int, success: bool
) -> tuple[dict[str, str], bytes]:
    status = "TRADE_SUCCESS" if success else "TRADE_CLOSED"
    fields = alipay_notify_fields(ALIPAY_APP_ID, payment.payment_id, amount_fen, payment.trade_no, status)
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    return headers, alipay_notify_body(keys.alipay, fields)


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


def _params_ok(shared: GatewayState, params: dict[str, str]) -> bool:
    content = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign" and v != "")
    app_key = shared.keys.alipay_app.public_key()
    return params.get("app_id") == ALIPAY_APP_ID and sha256_rsa_ok(app_key, content.encode(), params.get("sign", ""))


def cashier(shared: GatewayState, call: Request) -> Answer:
    params = call.query
    if not _params_ok(shared, params):
        return ledger.page("支付宝 - 错误", "<p>错误代码 invalid-signature 错误原因: 验签出错</p>", 400)
    if params.get("method") not in ("alipay.trade.page.pay", "alipay.trade.wap.pay"):
        return ledger.page("支付宝 - 错误", "<p>错误代码 invalid-method</p>", 400)
    try:
        biz = json.loads(params.get("biz_content", ""))
        amount = int(Decimal(str(biz["total_amount"])) * 100)
        out_trade_no = str(biz["out_trade_no"])
    except (ValueError, KeyError, TypeError, ArithmeticError):
        return ledger.page("支付宝 - 错误", "<p>错误代码 invalid-parameter</p>", 400)
    ledger.record(shared, CHANNEL, out_trade_no, amount, params.get("notify_url", ""), TRADE_NO_PREFIX)
    hidden = f"<input type='hidden' name='out_trade_no' value='{html.escape(out_trade_no)}'>"
    form = f"<form method='post' action='/alipay/pay'>{hidden}"
    return ledger.page(
        "支付宝 - 网上支付",
        f"<h1>¥{biz['total_amount']}</h1><p>{html.escape(str(biz.get('subject')))}</p>{form}<button>确认付款</button></form>",
    )


def api(shared: GatewayState, call: Request) -> Answer:
    params = call.form()
    method = params.get("method", "")
    if not _params_ok(shared, params):
        body = {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature", "sub_msg": "验签出错"}
        key = method.replace(".", "_") + "_response"
        return Answer(200, json.dumps({key: body}, ensure_ascii=False), "text/html;charset=utf-8")
    if method in ("alipay.trade.query", "alipay.trade.close"):
        return _trade_call(shared, method, params)
    if method != "alipay.trade.refund":
        value = {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.INVALID_METHOD"}
        return Answer(200, alipay_answer(shared.keys.alipay, method, value), "text/html;charset=utf-8")
    try:
        biz = json.loads(params.get("biz_content") or "{}")
        amount = int(Decimal(str(biz.get("refund_amount") or 0)) * 100)
    except (ValueError, ArithmeticError, AttributeError):
        value = {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.INVALID_PARAMETER"}
        return Answer(200, alipay_answer(shared.keys.alipay, method, value), "text/html;charset=utf-8")
    payment_id, refund_id = str(biz.get("out_trade_no", "")), str(biz.get("out_request_no", ""))
    outcome = ledger.refund(shared, CHANNEL, payment_id, refund_id, amount)
    if outcome in ("made", "again"):
        value = {"code": "10000", "msg": "Success", "trade_no": shared.payments[(CHANNEL, payment_id)].trade_no}
        value |= {"out_trade_no": payment_id, "buyer_logon_id": "159****5620", "refund_fee": biz.get("refund_amount")}
        value["fund_change"] = "Y" if outcome == "made" else "N"
    else:
        sub_code = ALIPAY_REFUND_ERRORS.get(outcome, "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL")
        value = {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_code}
    return Answer(200, alipay_answer(shared.keys.alipay, method, value), "text/html;charset=utf-8")


def _trade_call(shared: GatewayState, method: str, params: dict[str, str]) -> Answer:
    """alipay.trade.query and alipay.trade.close, answered as Alipay answers them (signed)."""
    try:
        out_trade_no = str(json.loads(params.get("biz_content") or "{}").get("out_trade_no", ""))
    except (ValueError, AttributeError):
        out_trade_no = ""
    payment = ledger.found(shared, CHANNEL, out_trade_no)
    failed = {"code": "40004", "msg": "Business Failed"}
    if payment is None:
        value = failed | {"sub_code": "ACQ.TRADE_NOT_EXIST", "sub_msg": "交易不存在"}
    elif method == "alipay.trade.close":
        if ledger.close(shared, CHANNEL, out_trade_no) == "paid":
            value = failed | {"sub_code": "ACQ.TRADE_STATUS_ERROR", "sub_msg": "交易状态不合法"}
        else:
            value = {"code": "10000", "msg": "Success", "trade_no": payment.trade_no, "out_trade_no": out_trade_no}
    else:
        status = "TRADE_SUCCESS" if payment.paid else "TRADE_CLOSED" if payment.closed else "WAIT_BUYER_PAY"
        total = f"{payment.amount_fen // 100}.{payment.amount_fen % 100:02d}"
        value = {"code": "10000", "msg": "Success", "trade_no": payment.trade_no, "out_trade_no": out_trade_no,
                 "buyer_logon_id": "159****5620", "trade_status": status, "total_amount": total}  # fmt: skip
        if payment.paid:
            value["send_pay_date"] = datetime.fromisoformat(payment.paid_at).strftime("%Y-%m-%d %H:%M:%S")
    return Answer(200, alipay_answer(shared.keys.alipay, method, value), "text/html;charset=utf-8")


def payer(shared: GatewayState, call: Request) -> Answer:
    status, text = pay(shared, call.form().get("out_trade_no", ""))
    return json_answer({"notify_status": status, "notify_answer": text})


# (method, path) -> (kind, route); "api" routes obey the failure switch, "page" routes are the payer's browser.
ROUTES: dict[tuple[str, str], tuple[str, Any]] = {
    ("GET", "/alipay/gateway.do"): ("page", cashier),
    ("POST", "/alipay/gateway.do"): ("api", api),
    ("POST", "/alipay/pay"): ("page", payer),
}
