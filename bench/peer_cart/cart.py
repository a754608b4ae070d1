# Copyright 2019 Amazon.com, Inc. or its affiliates. All Rights Reserved.
# SPDX-License-Identifier: MIT-0
#
# Adapted from aws-samples/aws-serverless-shopping-cart (commit 66a863f): backend/shopping-cart-service/
# add_to_cart.py, list_cart.py, update_cart.py and backend/layers/shared.py. The DynamoDB calls, their expressions
# and the item shapes are theirs, unchanged; kept out: API Gateway event parsing, the cookie and CORS headers, the
# Cognito JWT check, and the HTTP call to the product service (a separate Lambda; here its product_list.json
# lookup runs in process). The peer has no call that deletes a line (delete_from_cart empties carts after checkout,
# from SQS): its front end's quantity editor sets the quantity (PUT /cart/{id}, update_cart), here to 0, and
# list_cart leaves out lines at 0. The handlers return their response body (json.dumps), as theirs do. The bench may
# give the boto3 resource a botocore Config (the same client settings as ours).
"""The peer cart's operations on a signed-in user's cart (pk `user#<sub>`, sk `product#<id>`), in process."""

from __future__ import annotations

import calendar
import datetime
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
from aws_lambda_powertools import Tracer
from boto3.dynamodb.conditions import Key

tracer = Tracer()

with open(Path(__file__).with_name("product_list.json")) as product_list:
    product_list = json.load(product_list)


@tracer.capture_method
def handle_decimal_type(obj: Any) -> Any:
    """
    json serializer which works with Decimal types returned from DynamoDB.
    """
    if isinstance(obj, Decimal):
        if float(obj).is_integer():
            return int(obj)
        else:
            return float(obj)
    raise TypeError


@tracer.capture_method
def generate_ttl(days: int = 1) -> int:
    """
    Generate epoch timestamp for number days in future
    """
    future = datetime.datetime.utcnow() + datetime.timedelta(days=days)
    return calendar.timegm(future.utctimetuple())


def get_product(product_id: str) -> dict[str, Any]:
    """What the product mock service's get_product returns (there: behind an HTTP call)."""
    return next(item for item in product_list if item["productId"] == product_id)


def create_table(name: str) -> None:
    """The peer's DynamoDBShoppingCartTable (shoppingcart-service.yaml): pk/sk strings, on demand, TTL."""
    client = boto3.client("dynamodb")
    client.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )


class PeerCart:
    """The peer's handlers' bodies for a logged-in user (`user_sub`), on one table as their module globals hold it."""

    def __init__(self, table_name: str, config: Any = None) -> None:
        dynamodb = boto3.resource("dynamodb", config=config)
        self.table = dynamodb.Table(table_name)

    def add_to_cart(self, user_sub: str, product_id: str, quantity: int = 1) -> str:
        """add_to_cart.lambda_handler: ADD the quantity to the line (created if absent), one UpdateItem."""
        table = self.table
        product = get_product(product_id)
        pk = f"user#{user_sub}"
        ttl = generate_ttl(7)  # Set a longer ttl for logged in users - we want to keep their cart for longer.

        if int(quantity) < 0:
            table.update_item(
                Key={"pk": pk, "sk": f"product#{product_id}"},
                ExpressionAttributeNames={
                    "#quantity": "quantity",
                    "#expirationTime": "expirationTime",
                    "#productDetail": "productDetail",
                },
                ExpressionAttributeValues={
                    ":val": quantity,
                    ":ttl": ttl,
                    ":productDetail": product,
                    ":limit": abs(quantity),
                },
                UpdateExpression="ADD #quantity :val SET #expirationTime = :ttl, #productDetail = :productDetail",
                # Prevent quantity less than 0
                ConditionExpression="quantity >= :limit",
            )
        else:
            table.update_item(
                Key={"pk": pk, "sk": f"product#{product_id}"},
                ExpressionAttributeNames={
                    "#quantity": "quantity",
                    "#expirationTime": "expirationTime",
                    "#productDetail": "productDetail",
                },
                ExpressionAttributeValues={
                    ":val": quantity,
                    ":ttl": generate_ttl(),
                    ":productDetail": product,
                },
                UpdateExpression="ADD #quantity :val SET #expirationTime = :ttl, #productDetail = :productDetail",
            )
        return json.dumps({"productId": product_id, "message": "product added to cart"})

    def list_cart(self, user_sub: str) -> str:
        """list_cart.lambda_handler: one Query of the user's lines with a quantity above 0."""
        key_string = f"user#{user_sub}"
        response = self.table.query(
            KeyConditionExpression=Key("pk").eq(key_string) & Key("sk").begins_with("product#"),
            ProjectionExpression="sk,quantity,productDetail",
            FilterExpression="quantity > :val",  # Only return items with more than 0 quantity
            ExpressionAttributeValues={":val": 0},
        )
        product_list = response.get("Items", [])

        for product in product_list:
            product.update((k, v.replace("product#", "")) for k, v in product.items() if k == "sk")
        return json.dumps({"products": product_list}, default=handle_decimal_type)

    def update_cart(self, user_sub: str, product_id: str, quantity: int) -> str:
        """update_cart.lambda_handler: overwrite the line with this quantity, one PutItem."""
        product = get_product(product_id)
        if quantity < 0:
            return json.dumps({"productId": product_id, "message": "Quantity must not be lower than 0"})
        pk = f"user#{user_sub}"
        ttl = generate_ttl(7)  # Set a longer ttl for logged in users - we want to keep their cart for longer.

        self.table.put_item(
            Item={
                "pk": pk,
                "sk": f"product#{product_id}",
                "quantity": quantity,
                "expirationTime": ttl,
                "productDetail": product,
            }
        )
        return json.dumps({"productId": product_id, "quantity": quantity, "message": "cart updated"})
