//! Content negotiation (being written).
