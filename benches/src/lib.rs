//! criterion benchmarks of kenesh live in `benches/`; this library is empty.
