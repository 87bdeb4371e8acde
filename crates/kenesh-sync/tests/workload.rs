//! WORKLOAD.md's scenarios through the real sessions (secure channel included): bytes each
//! way, messages, round trips. Bytes are exact and repeatable, so the targets are asserted.

#[path = "common/workload.rs"]
#[allow(dead_code, unreachable_pub)]
mod workload_adapter;

use kenesh_sync::ServerConfig;
use kenesh_workload::{DEFAULT_SEED, Floors, Model, Size, Workload};
use workload_adapter::*;

#[test]
fn incremental_s_is_within_the_field_floor_target_in_one_round_trip() {
    let w = Workload::new(Size::S, DEFAULT_SEED);
    let (mut s, mut d, mut t) = world(&w.initial, ServerConfig::default());
    let initial = sync(
        &mut d,
        &mut s,
        1,
        kenesh_workload::EPOCH_MS + kenesh_workload::CREATION_SPAN_MS,
    );
    assert_eq!(
        d.state()
            .records(kenesh_model::schema::EntityKind::Issue)
            .count(),
        w.initial.len()
    );
    assert_eq!(d.state().state_hashes(), s.state().state_hashes());
    let mut kt = t.clone();
    edit_kiosk(&mut d, &mut kt, &w.incremental.kiosk);
    edit_server(&mut s, &mut t, &w.incremental.server);
    let now = w
        .incremental
        .server
        .last()
        .unwrap()
        .at
        .max(w.incremental.kiosk.last().unwrap().at);
    let inc = sync(&mut d, &mut s, 2, now);
    assert_eq!(d.state().state_hashes(), s.state().state_hashes());
    // Every op went through sealing; the workload's only personal values are supporters,
    // bare references to the person the envelope names, which stay clear: no key was made
    // or sent, so these bytes are what a sealing app sends.
    assert!(d.keys().ids().is_empty() && s.keys().ids().is_empty());
    let floors = Floors::of(&Model::new(&w.initial), &w.incremental);
    let floor = floors.field.total() as f64;
    let ratio = (inc.up + inc.down) as f64 / floor;
    println!(
        "initial S (snapshot): {initial:?} ({:.3}× Automerge 626,770)",
        (initial.up + initial.down) as f64 / 626_770.0
    );
    println!(
        "incremental S: up {} + down {} = {} bytes (field floor {} + {} = {}): {:.3}× floor, {} round trip(s), messages {} up {} down",
        inc.up,
        inc.down,
        inc.up + inc.down,
        floors.field.up,
        floors.field.down,
        floors.field.total(),
        ratio,
        inc.round_trips,
        inc.messages_up,
        inc.messages_down
    );
    assert_eq!(inc.round_trips, 1);
    assert!(ratio <= 1.10, "{ratio:.3}× the field floor");
    let initial_bytes = initial.up + initial.down;
    assert!(
        initial_bytes as f64 <= 0.9 * 626_770.0,
        "initial sync {initial_bytes} bytes against 0.9× Automerge's 626,770"
    );
}

#[test]
fn conflicting_s_converges_in_one_round_trip() {
    let w = Workload::new(Size::S, DEFAULT_SEED);
    let (mut s, mut d, mut t) = world(&w.initial, ServerConfig::default());
    sync(
        &mut d,
        &mut s,
        1,
        kenesh_workload::EPOCH_MS + kenesh_workload::CREATION_SPAN_MS,
    );
    let mut kt = t.clone();
    edit_kiosk(&mut d, &mut kt, &w.conflicting.kiosk);
    edit_server(&mut s, &mut t, &w.conflicting.server);
    let now = w
        .conflicting
        .server
        .last()
        .unwrap()
        .at
        .max(w.conflicting.kiosk.last().unwrap().at);
    let c = sync(&mut d, &mut s, 2, now);
    assert_eq!(d.state().state_hashes(), s.state().state_hashes());
    assert_eq!(
        d.state().snapshot(),
        s.state().snapshot(),
        "identical state, flags included"
    );
    let floors = Floors::of(&Model::new(&w.initial), &w.conflicting);
    println!(
        "conflicting S: up {} + down {} = {} bytes ({:.3}× field floor {}), {} round trip(s); {} workflow flags",
        c.up,
        c.down,
        c.up + c.down,
        (c.up + c.down) as f64 / floors.field.total() as f64,
        floors.field.total(),
        c.round_trips,
        s.state().flags().len()
    );
    assert_eq!(c.round_trips, 1);
}
