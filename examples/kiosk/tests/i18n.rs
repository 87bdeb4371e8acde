//! Every message exists in Kyrgyz, Russian and English, and every key the pages use exists.

use std::collections::BTreeSet;

use fluent_syntax::ast::{Entry, Pattern, PatternElement};
use fluent_syntax::parser::parse;
use kenesh_kiosk::i18n::{I18n, Lang, SOURCES};
use kenesh_kiosk::web::dynamic_keys;

fn keys(source: &str, lang: &str) -> BTreeSet<String> {
    let res = parse(source).unwrap_or_else(|(_, errors)| panic!("{lang}.ftl: {errors:?}"));
    res.body
        .iter()
        .filter_map(|e| match e {
            Entry::Message(m) => {
                assert!(m.value.is_some(), "{lang}: {} has no value", m.id.name);
                assert!(
                    !m.value.as_ref().is_some_and(pattern_is_blank),
                    "{lang}: {} is empty",
                    m.id.name
                );
                Some(m.id.name.to_string())
            }
            _ => None,
        })
        .collect()
}

fn pattern_is_blank(p: &Pattern<&str>) -> bool {
    p.elements.iter().all(|e| match e {
        PatternElement::TextElement { value } => value.trim().is_empty(),
        PatternElement::Placeable { .. } => false,
    })
}

/// The message keys written as string literals in the pages' source: lowercase words joined
/// by hyphens (element ids and CSS classes there use underscores or sit inside markup).
/// Every text between two quotes is looked at, so escaped quotes in markup cannot hide one.
fn literal_keys(source: &str) -> BTreeSet<String> {
    source
        .split('"')
        .skip(1)
        .filter(|s| {
            s.contains('-')
                && s.starts_with(|c: char| c.is_ascii_lowercase())
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
        .map(String::from)
        .collect()
}

#[test]
fn the_three_files_have_the_same_keys() {
    let sets: Vec<_> = SOURCES
        .iter()
        .map(|(l, s)| (l.code(), keys(s, l.code())))
        .collect();
    let (_, ky) = &sets[0];
    assert!(ky.len() > 150, "{} keys", ky.len());
    for (code, set) in &sets[1..] {
        let missing: Vec<_> = ky.difference(set).collect();
        let extra: Vec<_> = set.difference(ky).collect();
        assert!(missing.is_empty(), "{code}.ftl lacks {missing:?}");
        assert!(
            extra.is_empty(),
            "{code}.ftl has keys Kyrgyz lacks: {extra:?}"
        );
    }
}

#[test]
fn every_key_the_pages_use_exists_in_every_language() {
    let (_, ky) = &SOURCES[0];
    let defined = keys(ky, "ky");
    let mut used = literal_keys(include_str!("../src/web.rs"));
    used.extend(dynamic_keys());
    assert!(used.len() > 150, "{} keys used", used.len());
    let missing: Vec<_> = used.difference(&defined).collect();
    assert!(missing.is_empty(), "used but not defined: {missing:?}");
    // And they format: no key falls back to itself in any language.
    let i18n = I18n::new().unwrap();
    for lang in Lang::ALL {
        for key in &used {
            assert_ne!(&i18n.tr(lang, key), key, "{key} in {}", lang.code());
        }
    }
}

#[test]
fn kyrgyz_is_kyrgyz() {
    let i18n = I18n::new().unwrap();
    assert_eq!(i18n.tr(Lang::Ky, "home-report"), "Көйгөй билдирүү");
    assert_eq!(i18n.tr(Lang::Ky, "receipt-title"), "Кабыл алынды");
    assert_eq!(i18n.tr(Lang::Ky, "home-legal"), "Юридикалык жардам");
    // The Kyrgyz letters are there, and the file is not Russian under another name.
    let (_, ky) = &SOURCES[0];
    assert!(ky.contains('ү') && ky.contains('ө') && ky.contains('ң'));
    assert_eq!(
        i18n.tra(Lang::Ru, "sync-waiting", &[("count", "3".into())]),
        "Записей ждут отправки: 3"
    );
}
