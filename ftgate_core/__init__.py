"""What every ftgate package shares and nothing else: the root error, and a few file helpers.

`gateway/`, `audit/` and `trainer/` all import it; it imports none of them (an import-linter contract),
so the audit package and the trainer keep standing on their own.
"""
