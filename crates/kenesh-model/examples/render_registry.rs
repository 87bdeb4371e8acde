//! Prints the schema registry in the format of `registry.txt`.
//!
//! `cargo run -p kenesh-model --example render_registry`
fn main() {
    print!("{}", kenesh_model::schema::render_registry());
}
