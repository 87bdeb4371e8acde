//! proptest strategies for the types whose values have invariants (tests only).

use alloc::string::String;
use proptest::prelude::*;

use crate::text::{DedupKey, Locale, LocalizedText, dedup_key};

impl Arbitrary for Locale {
    type Parameters = ();
    type Strategy = BoxedStrategy<Locale>;
    fn arbitrary_with((): ()) -> Self::Strategy {
        proptest::sample::select(Locale::ALL.to_vec()).boxed()
    }
}

/// Text with Kyrgyz and Russian letters, Latin, digits, punctuation and some of anything.
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => "[А-Яа-яЁёҢңӨөҮү ,.!?0-9-]{1,40}",
        1 => "[A-Za-z ]{1,20}",
        1 => "\\PC{1,20}",
    ]
    .prop_filter("not blank", |s| !s.trim().is_empty())
    .boxed()
}

impl Arbitrary for LocalizedText {
    type Parameters = ();
    type Strategy = BoxedStrategy<LocalizedText>;
    fn arbitrary_with((): ()) -> Self::Strategy {
        (
            text(),
            proptest::option::of(text()),
            proptest::option::of(text()),
            any::<Locale>(),
        )
            .prop_map(|(first, ru, en, locale)| {
                let mut t = LocalizedText::new(locale, first);
                if let Some(ru) = ru.filter(|_| locale != Locale::Ru) {
                    t.set(Locale::Ru, ru);
                }
                if let Some(en) = en.filter(|_| locale != Locale::En) {
                    t.set(Locale::En, en);
                }
                t
            })
            .boxed()
    }
}

impl Arbitrary for DedupKey {
    type Parameters = ();
    type Strategy = BoxedStrategy<DedupKey>;
    fn arbitrary_with((): ()) -> Self::Strategy {
        text().prop_map(|s| dedup_key(&s)).boxed()
    }
}
