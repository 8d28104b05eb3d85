"""CX Review: customer-experience analytics for leadership reviews (see README: Architecture)."""
