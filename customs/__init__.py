"""Customs: CEB declarations, validation, receipts and the clearance state machine."""
