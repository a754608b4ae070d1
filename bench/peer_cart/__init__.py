"""A minimal copy of the DynamoDB logic of the aws-samples serverless shopping cart, for bench/cart.py only.

Source: https://github.com/aws-samples/aws-serverless-shopping-cart (backend/shopping-cart-service and
backend/layers/shared.py, commit 66a863f), Copyright 2019 Amazon.com, Inc. or its affiliates, MIT-0 (see LICENSE
in this folder). Never imported by the app.
"""
