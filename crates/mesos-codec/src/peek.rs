//! Fast peeks (being written).
