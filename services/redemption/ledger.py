"""Names of the ledger's accounts. Programme accounts get entries, never a balance row."""

ISSUED = "programme:issued:{currency}"
REDEEMED = "programme:redeemed:{currency}"
BREAKAGE = "programme:breakage:{currency}"
# Clawed-back points the lots no longer had, under the cap policy: the programme's loss.
SHORTFALL = "programme:shortfall:{currency}"


def customer_account(customer_no: str, currency: str) -> str:
    return f"customer:{customer_no}:{currency}"
