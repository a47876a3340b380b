"""The call-centre console: server-rendered pages over the single customer view.

`console_router(engine)` is a FastAPI router (prefix /console) that the customer_profile
HTTP API mounts; agents and supervisors log in, find a customer, read the customer's view in
the customer's language, and act (adjust, cancel a redemption, decide a vendor review)
through the service's outbox, every action audited with their identity.
"""
