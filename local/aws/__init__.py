"""The AWS emulation `make run` runs on: the moto server, the stage provisioned from infra/, Lambda dispatch to the
in-process Chalice functions, the SQS and stream pollers, the scheduler, the API Gateway and CDN stand-ins."""
