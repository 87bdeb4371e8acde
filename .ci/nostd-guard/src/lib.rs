//! Fails to build (E0152) if any dependency links `std`.
#![no_std]

/// Touches the crates so they are linked, not just named.
pub fn touch() -> usize {
    core::mem::size_of::<kenesh_model::Id>()
        + core::mem::size_of::<kenesh_model::Tier>()
        + core::mem::size_of::<kenesh_merge::Hlc>()
        + kenesh_proto::Limits::default().max_frame()
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
