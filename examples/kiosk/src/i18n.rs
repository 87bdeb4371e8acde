//! Localised text: one Fluent file per language, embedded in the binary, Kyrgyz first.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use kenesh_model::text::Locale;

/// The message files, embedded: `(language, Fluent source)`, Kyrgyz first.
pub const SOURCES: [(Lang, &str); 3] = [
    (Lang::Ky, include_str!("../i18n/ky.ftl")),
    (Lang::Ru, include_str!("../i18n/ru.ftl")),
    (Lang::En, include_str!("../i18n/en.ftl")),
];

/// A language of the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lang {
    /// Kyrgyz, the state language: the default.
    Ky,
    /// Russian.
    Ru,
    /// English.
    En,
}

impl Lang {
    /// Every language, in the order the switch shows them.
    pub const ALL: [Lang; 3] = [Lang::Ky, Lang::Ru, Lang::En];

    /// The language's code in paths (`ky`, `ru`, `en`).
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ky => "ky",
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    /// The language from its path code.
    #[must_use]
    pub fn from_code(code: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.code() == code)
    }

    /// The model's locale for text written in this language.
    #[must_use]
    pub fn locale(self) -> Locale {
        match self {
            Lang::Ky => Locale::Ky,
            Lang::Ru => Locale::Ru,
            Lang::En => Locale::En,
        }
    }

    /// The language's own name (shown on the switch).
    #[must_use]
    pub fn own_name(self) -> &'static str {
        match self {
            Lang::Ky => "Кыргызча",
            Lang::Ru => "Русский",
            Lang::En => "English",
        }
    }
}

/// The three bundles.
pub struct I18n {
    bundles: Vec<(Lang, FluentBundle<FluentResource>)>,
}

impl std::fmt::Debug for I18n {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("I18n").finish_non_exhaustive()
    }
}

/// A message file did not parse (a build of the kiosk with a broken file: the key test
/// catches it first).
#[derive(Debug, thiserror::Error)]
#[error("the {0} message file does not parse")]
pub struct I18nError(pub &'static str);

impl I18n {
    /// Loads the embedded files.
    ///
    /// # Errors
    /// [`I18nError`] when a file does not parse.
    pub fn new() -> Result<I18n, I18nError> {
        let mut bundles = Vec::new();
        for (lang, source) in SOURCES {
            let res =
                FluentResource::try_new(source.to_string()).map_err(|_| I18nError(lang.code()))?;
            let id: unic_langid::LanguageIdentifier =
                lang.code().parse().map_err(|_| I18nError(lang.code()))?;
            let mut bundle = FluentBundle::new_concurrent(vec![id]);
            // Plain text into HTML: no bidi isolation marks around arguments.
            bundle.set_use_isolating(false);
            bundle
                .add_resource(res)
                .map_err(|_| I18nError(lang.code()))?;
            bundles.push((lang, bundle));
        }
        Ok(I18n { bundles })
    }

    fn bundle(&self, lang: Lang) -> &FluentBundle<FluentResource> {
        // The three bundles always load together (`new`), so one of each is present.
        &self
            .bundles
            .iter()
            .find(|(l, _)| *l == lang)
            .unwrap_or(&self.bundles[0])
            .1
    }

    /// The message `key` in `lang`, or the key itself when missing (a test checks that
    /// none is).
    #[must_use]
    pub fn tr(&self, lang: Lang, key: &str) -> String {
        self.format(lang, key, None)
    }

    /// The message `key` with arguments.
    #[must_use]
    pub fn tra(&self, lang: Lang, key: &str, args: &[(&str, String)]) -> String {
        let mut a = FluentArgs::new();
        for (k, v) in args {
            a.set(*k, FluentValue::from(v.clone()));
        }
        self.format(lang, key, Some(&a))
    }

    fn format(&self, lang: Lang, key: &str, args: Option<&FluentArgs<'_>>) -> String {
        let bundle = self.bundle(lang);
        let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
            return key.to_string();
        };
        let mut errors = Vec::new();
        bundle
            .format_pattern(pattern, args, &mut errors)
            .into_owned()
    }
}
