"""The embedded local runtime: moto server, provisioning, dispatch, pollers, scheduler, demo data."""
