//! Create, read, update, archive and list for every record type; validation; audit rows.
