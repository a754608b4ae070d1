"""The embedded local runtime (`python -m local`, runtime.py): the AWS emulation it runs on (aws/), the third-party
provider emulators (providers/, hosted by loopback.py), the demo shop it seeds (demo/), the browser clients' build
(clients.py)."""
