//! Kyrgyz-like text with realistic entropy.
//!
//! About 30% of words come from [`COMMON_WORDS`], real common Kyrgyz words. The rest are
//! built from a fixed vocabulary of [`VOCABULARY_SIZE`] distinct stems made of Kyrgyz
//! syllables under vowel harmony (one to four syllables, often with a derivational suffix
//! such as -чы, -лык, -ган), to which a case ending (-да, -дын, -га, -ды, -дан, harmonised)
//! or a plural is sometimes attached when the word is used, as Kyrgyz does. Both the common
//! words and the stems are drawn with a Zipf-like frequency (weight `1 / (rank + offset)`),
//! so a few words are frequent and most are rare. A 40-word vocabulary would compress about
//! four times better than real text and flatter compression; this one lands whole records
//! at about 2.9× with zstd level 3, as WORKLOAD.md asks (the crate's calibration tests check
//! it).
//!
//! The vocabulary is the same for every workload seed (it is built from [`VOCABULARY_SEED`]);
//! the workload seed only decides which words are drawn.

use std::collections::BTreeSet;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Common Kyrgyz words (nouns, adjectives, verbs and function words of local-issue reports).
pub const COMMON_WORDS: &[&str] = &[
    "жана",
    "үчүн",
    "айыл",
    "жол",
    "суу",
    "өкмөт",
    "менен",
    "мектеп",
    "маселе",
    "жарандар",
    "керек",
    "бул",
    "көпүрө",
    "таштанды",
    "демилге",
    "бар",
    "жок",
    "эл",
    "жер",
    "көчө",
    "балдар",
    "бирок",
    "дагы",
    "абдан",
    "жаңы",
    "эски",
    "чоң",
    "кичине",
    "жакшы",
    "начар",
    "көп",
    "аз",
    "үй",
    "бала",
    "ата-энелер",
    "мугалим",
    "оорукана",
    "дарыгер",
    "бак",
    "талаа",
    "мал",
    "жайыт",
    "арык",
    "сугат",
    "түтүк",
    "электр",
    "жарык",
    "газ",
    "ичүүчү",
    "таза",
    "же",
    "тез",
    "кийин",
    "азыр",
    "быйыл",
    "жыл",
    "ай",
    "күн",
    "убакыт",
    "акча",
    "бюджет",
    "долбоор",
    "курулуш",
    "оңдоо",
    "жардам",
    "кеңеш",
    "депутат",
    "башчы",
    "аким",
    "аймак",
    "район",
    "облус",
    "шаар",
    "коомчулук",
    "тургундар",
    "аялдар",
    "жаштар",
    "спорт",
    "аянтча",
    "бакча",
    "китепкана",
    "маданият",
    "борбор",
    "дарак",
    "тоо",
    "дарыя",
    "кар",
    "жамгыр",
    "сел",
    "коопсуздук",
    "жумуш",
    "иш",
    "чечим",
    "чогулуш",
    "талкуу",
    "көйгөй",
    "сунуш",
    "мөөнөт",
    "уюм",
    "мамлекет",
    "кызмат",
    "шарт",
    "саламаттык",
    "билим",
    "нан",
    "сүт",
    "биз",
    "алар",
    "бардык",
    "эмес",
    "болот",
    "куруу",
    "тазалоо",
    "орнотуу",
    "жетишсиз",
    "бузулган",
    "муктаж",
    "айылдын",
    "өкмөтү",
    "суунун",
];

/// How many distinct syllable-made stems the vocabulary holds (each used bare or with one
/// of nine inflections: about 12,000 distinct word forms occur in the S workload).
pub const VOCABULARY_SIZE: usize = 2_000;

/// The seed the syllable-made vocabulary is built from (fixed: the language does not change
/// with the workload seed).
pub const VOCABULARY_SEED: u64 = 0x6b79_7267_797a_0001;

/// Syllables in a root, with weights.
const ROOT_SYLLABLES: &[(u32, u32)] = &[(1, 22), (2, 48), (3, 25), (4, 5)];
/// Probability that a stem takes a derivational suffix.
const SUFFIX_P: f64 = 0.4;
/// Probability that a stem is inflected (case ending or plural) where it is used.
const INFLECT_P: f64 = 0.9;
/// Zipf offset of the stems: stem `k` has weight `1 / (k + offset)`.
const VOCABULARY_OFFSET: f64 = 2.0;

/// Share of words drawn from [`COMMON_WORDS`], in percent.
pub const COMMON_PERCENT: u32 = 30;

// Vowels: back unrounded а ы, back rounded о у, front unrounded е и, front rounded ө ү.
// First vowels of a root, with rough frequencies.
const FIRST_VOWELS: &[(char, u32)] = &[
    ('а', 30),
    ('ы', 8),
    ('о', 12),
    ('у', 10),
    ('е', 12),
    ('и', 10),
    ('ө', 8),
    ('ү', 10),
];

// Onsets and codas, repeated roughly by frequency.
const ONSETS: &[char] = &[
    'к', 'к', 'к', 'т', 'т', 'т', 'б', 'б', 'ж', 'ж', 'ж', 'с', 'с', 'м', 'м', 'ч', 'ч', 'д', 'ш',
    'л', 'л', 'р', 'н', 'н', 'й', 'г', 'з', 'п', 'к', 'т',
];
const CODAS: &[char] = &[
    'н', 'н', 'р', 'р', 'л', 'л', 'т', 'к', 'к', 'й', 'ш', 'з', 'ң', 'м', 'п', 'с', 'т', 'р',
];

/// The harmony class of a vowel: the low and the high vowel that may follow it.
fn harmony(v: char) -> (char, char) {
    match v {
        'е' | 'и' => ('е', 'и'),
        'о' => ('о', 'у'),
        'у' => ('а', 'у'),
        'ө' | 'ү' => ('ө', 'ү'),
        _ => ('а', 'ы'),
    }
}

fn is_vowel(c: char) -> bool {
    matches!(c, 'а' | 'ы' | 'о' | 'у' | 'е' | 'и' | 'ө' | 'ү' | 'э')
}

fn is_voiceless(c: char) -> bool {
    matches!(c, 'к' | 'п' | 'т' | 'с' | 'ш' | 'ч')
}

/// Derivational suffixes, part of a stem. In templates, `L` is the low harmonic vowel, `H`
/// the high one, `D` the initial consonant that assimilates (`л`/`д`/`т` for the plural,
/// `д`/`т` otherwise).
const SUFFIXES: &[(&str, u32)] = &[
    ("чH", 8),    // agent: -чы
    ("лHк", 8),   // quality: -лык
    ("сHз", 4),   // privative: -сыз
    ("Hп", 5),    // converb: -ып (-п after a vowel)
    ("DHр", 4),   // -дыр
    ("ган", 8),   // participle: -ган (harmonised below)
    ("мL", 4),    // nominaliser: -ма
    ("чHлHк", 3), // -чылык
];

/// Inflections attached to a stem where it is used (`N`: `н` after a vowel, else `д`/`т`).
const INFLECTIONS: &[(&str, u32)] = &[
    ("DL", 10),    // locative: -да
    ("NHн", 10),   // genitive: -дын, -нын
    ("гL", 8),     // dative: -га, -ка
    ("NH", 8),     // accusative: -ды, -ны
    ("DLн", 5),    // ablative: -дан
    ("DLр", 8),    // plural: -лар
    ("DLрдL", 3),  // plural locative: -ларда
    ("DLрдHн", 3), // plural genitive: -лардын
    ("DLргL", 2),  // plural dative: -ларга
];

fn push_suffix(word: &mut String, template: &str, plural: bool) {
    let mut last_vowel = word.chars().rev().find(|&c| is_vowel(c)).unwrap_or('а');
    let last = word.chars().last().unwrap_or('а');
    // A leading high vowel drops after a vowel (иште + ып = иштеп).
    let template = match template.strip_prefix('H') {
        Some(rest) if is_vowel(last) => rest,
        _ => template,
    };
    for c in template.chars() {
        // Each vowel harmonises with the vowel before it (уул + дар + дын = уулдардын).
        let (low, high) = harmony(last_vowel);
        let out = match c {
            'L' => low,
            'H' => high,
            'D' => {
                if plural && (is_vowel(last) || matches!(last, 'й' | 'р')) {
                    'л'
                } else if is_voiceless(last) {
                    'т'
                } else {
                    'д'
                }
            }
            'N' if is_vowel(last) => 'н',
            'N' if is_voiceless(last) => 'т',
            'N' => 'д',
            'а' => low,
            'г' if is_voiceless(last) => 'к',
            other => other,
        };
        if is_vowel(out) {
            last_vowel = out;
        }
        word.push(out);
    }
}

fn pick_weighted<T: Copy>(rng: &mut ChaCha8Rng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|&(_, w)| w).sum();
    let mut x = rng.random_range(0..total);
    for &(item, w) in items {
        if x < w {
            return item;
        }
        x -= w;
    }
    items[items.len() - 1].0
}

/// One syllable-made stem: a root of one to four syllables under vowel harmony, sometimes
/// a long vowel, and sometimes a derivational suffix.
fn make_word(rng: &mut ChaCha8Rng) -> String {
    let syllables = pick_weighted(rng, ROOT_SYLLABLES);
    let mut word = String::new();
    let mut vowel = pick_weighted(rng, FIRST_VOWELS);
    for i in 0..syllables {
        if i > 0 {
            let (low, high) = harmony(vowel);
            vowel = if rng.random_bool(0.55) { low } else { high };
        }
        // The first syllable may start with its vowel; later ones need a consonant.
        if i > 0 || rng.random_bool(0.8) {
            word.push(ONSETS[rng.random_range(0..ONSETS.len())]);
        }
        word.push(vowel);
        if rng.random_bool(0.08) && !matches!(vowel, 'ы' | 'и') {
            word.push(vowel);
        }
        let coda_p = if i + 1 == syllables { 0.55 } else { 0.3 };
        if rng.random_bool(coda_p) {
            word.push(CODAS[rng.random_range(0..CODAS.len())]);
        }
    }
    if rng.random_bool(SUFFIX_P) {
        let template = pick_weighted(rng, SUFFIXES);
        push_suffix(&mut word, template, false);
    }
    word
}

/// A Zipf-like sampler over `n` ranks: rank `k` has weight `1 / (k + offset)`.
#[derive(Clone, Debug)]
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, offset: f64) -> Self {
        let mut total = 0.0;
        let cumulative = (0..n)
            .map(|k| {
                // Exact IEEE division: the same weights on every platform.
                total += 1.0 / (k as f64 + offset);
                total
            })
            .collect();
        Zipf { cumulative }
    }

    fn sample(&self, rng: &mut ChaCha8Rng) -> usize {
        let total = self.cumulative[self.cumulative.len() - 1];
        let x = rng.random::<f64>() * total;
        self.cumulative
            .partition_point(|&c| c <= x)
            .min(self.cumulative.len() - 1)
    }
}

/// The word source: the common words, the syllable-made vocabulary and their samplers.
#[derive(Clone, Debug)]
pub struct Text {
    vocabulary: Vec<String>,
    common: Zipf,
    rare: Zipf,
}

impl Default for Text {
    fn default() -> Self {
        Self::new()
    }
}

impl Text {
    /// Builds the vocabulary (deterministic: from [`VOCABULARY_SEED`]).
    pub fn new() -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(VOCABULARY_SEED);
        let common: BTreeSet<&str> = COMMON_WORDS.iter().copied().collect();
        let mut seen = BTreeSet::new();
        let mut vocabulary = Vec::with_capacity(VOCABULARY_SIZE);
        while vocabulary.len() < VOCABULARY_SIZE {
            let word = make_word(&mut rng);
            if word.chars().count() >= 2
                && !common.contains(word.as_str())
                && seen.insert(word.clone())
            {
                vocabulary.push(word);
            }
        }
        Text {
            vocabulary,
            common: Zipf::new(COMMON_WORDS.len(), 1.0),
            rare: Zipf::new(VOCABULARY_SIZE, VOCABULARY_OFFSET),
        }
    }

    /// The syllable-made stems, most frequent first.
    pub fn vocabulary(&self) -> &[String] {
        &self.vocabulary
    }

    /// Appends one word to `out`: a common word with probability [`COMMON_PERCENT`], else a
    /// vocabulary stem, inflected with probability 0.9.
    pub fn push_word(&self, rng: &mut ChaCha8Rng, out: &mut String) {
        if rng.random_range(0..100) < COMMON_PERCENT {
            out.push_str(COMMON_WORDS[self.common.sample(rng)]);
        } else {
            let start = out.len();
            out.push_str(&self.vocabulary[self.rare.sample(rng)]);
            if rng.random_bool(INFLECT_P) {
                let template = pick_weighted(rng, INFLECTIONS);
                let mut word = out.split_off(start);
                push_suffix(&mut word, template, template.starts_with("DLр"));
                out.push_str(&word);
            }
        }
    }

    /// `words` words separated by spaces; the first letter is capitalised and, when
    /// `sentences` is set, the text is cut into sentences of 6 to 12 words ending in `.`.
    pub fn phrase(&self, rng: &mut ChaCha8Rng, words: usize, sentences: bool) -> String {
        let mut out = String::new();
        let mut until_stop = rng.random_range(6..=12);
        let mut capital = true;
        for i in 0..words {
            if i > 0 {
                out.push(' ');
            }
            let start = out.len();
            self.push_word(rng, &mut out);
            if capital {
                let word = out.split_off(start);
                let mut chars = word.chars();
                if let Some(first) = chars.next() {
                    out.extend(first.to_uppercase());
                    out.push_str(chars.as_str());
                }
                capital = false;
            }
            if sentences {
                until_stop -= 1;
                if until_stop == 0 || i + 1 == words {
                    out.push('.');
                    capital = true;
                    until_stop = rng.random_range(6..=12);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_is_distinct_cyrillic_and_harmonic_suffixes_apply() {
        let text = Text::new();
        let set: BTreeSet<_> = text.vocabulary().iter().collect();
        assert_eq!(set.len(), VOCABULARY_SIZE);
        for w in text.vocabulary() {
            assert!(
                w.chars()
                    .all(|c| ('а'..='я').contains(&c) || "өүң".contains(c)),
                "{w}"
            );
        }
        let mut w = String::from("көл");
        push_suffix(&mut w, "DLр", true);
        assert_eq!(w, "көлдөр");
        let mut w = String::from("тоо");
        push_suffix(&mut w, "DLр", true);
        assert_eq!(w, "тоолор");
        let mut w = String::from("уул");
        push_suffix(&mut w, "DLрдHн", true);
        assert_eq!(w, "уулдардын");
        let mut w = String::from("иште");
        push_suffix(&mut w, "Hп", false);
        assert_eq!(w, "иштеп");
        let mut w = String::from("мектеп");
        push_suffix(&mut w, "DL", false);
        assert_eq!(w, "мектепте");
    }
}
