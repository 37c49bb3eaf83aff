"""Contracts shared by the Clearway services: the event envelope, versioned events and topics."""
