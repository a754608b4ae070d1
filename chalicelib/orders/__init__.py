"""Orders: placing an order, its lifecycle on Step Functions, shipment, receipt and listings."""
