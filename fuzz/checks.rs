//! What the fuzz targets check, shared with the corpus replay test in `tests/` (included
//! there with `#[path]`), so a committed corpus is re-checked by every `cargo test`.

use kenesh_model::indicators::Records;
use kenesh_model::*;

/// Decodes `data` as each entity (and a whole record set); whatever decodes must re-encode
/// and decode to the same value. Never panics on any input.
pub fn model_decode(data: &[u8]) {
    fn one<T>(data: &[u8])
    where
        T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + core::fmt::Debug + Record,
    {
        if let Ok(v) = postcard::from_bytes::<T>(data) {
            let bytes = postcard::to_allocvec(&v).expect("a decoded value encodes");
            let back: T = postcard::from_bytes(&bytes).expect("an encoded value decodes");
            assert_eq!(back, v);
            // Whatever decodes, validation answers without panicking.
            let _ = v.validate();
        }
    }
    fn records(data: &[u8]) {
        if let Ok(r) = postcard::from_bytes::<Records>(data) {
            // Any decoded record set: the report computes and publishes without panicking.
            for fy in [FiscalYear(2024), FiscalYear(i16::MIN), FiscalYear(i16::MAX)] {
                let _ =
                    indicators::compute(&r, fy, &indicators::IndicatorConfig::default()).publish();
            }
        }
    }
    let (tag, rest) = match data.split_first() {
        Some((t, r)) => (*t, r),
        None => return,
    };
    match tag % 16 {
        0 => one::<Municipality>(rest),
        1 => one::<Organisation>(rest),
        2 => one::<Person>(rest),
        3 => one::<Consent>(rest),
        4 => one::<InitiativeGroup>(rest),
        5 => one::<Membership>(rest),
        6 => one::<Issue>(rest),
        7 => one::<Recommendation>(rest),
        8 => one::<Event>(rest),
        9 => one::<Attendance>(rest),
        10 => one::<Campaign>(rest),
        11 => one::<LegalAidRequest>(rest),
        12 => one::<LegalCase>(rest),
        13 => one::<CaseStage>(rest),
        14 => records(rest),
        _ => {
            if let Ok(v) = postcard::from_bytes::<indicators::Report>(rest) {
                let bytes = postcard::to_allocvec(&v).expect("a decoded report encodes");
                assert_eq!(
                    postcard::from_bytes::<indicators::Report>(&bytes).ok(),
                    Some(v)
                );
            }
        }
    }
}

/// Parses `data` as text in every parser the model has: SOATE codes, ids, PINs, phones,
/// locales, the territory CSV, and the text keys. Never panics; what parses round-trips;
/// keys stay bounded.
pub fn text_parse(data: &[u8]) {
    let Ok(s) = core::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = s.parse::<SoateCode>() {
        assert_eq!(c.to_string().parse::<SoateCode>(), Ok(c));
        let _ = (c.level(), c.parent(), c.oblast());
    }
    if let Ok(id) = s.parse::<Id>() {
        assert_eq!(id.to_string().parse::<Id>(), Ok(id));
    }
    if let Ok(p) = s.parse::<Pin>() {
        assert_eq!(p.to_string().parse::<Pin>(), Ok(p));
    }
    if let Ok(p) = s.parse::<Phone>() {
        assert_eq!(p.as_str().parse::<Phone>(), Ok(p));
    }
    let _ = s.parse::<text::Locale>();
    let _ = TerritoryRegistry::from_csv(s);
    let bound = 8 * s.len() + 64;
    assert!(text::fold_case(s).len() <= bound);
    assert!(text::to_latin(s).len() <= bound);
    assert!(text::to_cyrillic(s).len() <= bound);
    assert!(text::search_key(s).len() <= bound);
    let k = text::dedup_key(s);
    assert_eq!(k, text::dedup_key(&text::fold_case(s)), "keys ignore case");
}
