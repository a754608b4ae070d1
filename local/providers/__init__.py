"""Stand-ins for the third-party providers the app calls (sign-in, payments), each on a loopback port of its own and
speaking the provider's real requests, answers and signatures (local/loopback.py hosts them)."""
