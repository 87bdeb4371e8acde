//! Integration tests of kenesh across crates live in `tests/`; this library is empty.
