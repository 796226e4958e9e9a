//! Per-backend packing of [`InvArray`](crate::InvArray) leaves for transfers.
