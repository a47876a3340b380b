"""The programme model, pure: agreements, posting rules, rating, reversals. No I/O here."""
