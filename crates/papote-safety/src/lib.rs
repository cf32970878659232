//! Papote's safety engine: text analysis and policy, pure and deterministic.
//!
//! No I/O, no clock of its own, nothing of the server: callers pass the text, the context and,
//! where a rule needs it, the current year.
//!
//! This is the contract the server relies on; the analysis behind it lives in the modules below:
//!
//! - [`normalize`]: folding a text into ASCII views (case, accents, homoglyphs, invisibles,
//!   leetspeak, separators, repeats, numbers in words, emoji) with offsets to the original.
//! - [`rules`]: rules as data (`data/safety/*.toml`, embedded), compiled into Aho-Corasick
//!   automatons and regex sets.
//! - [`gate`]: prefilters: literals any match of a regex must contain, so most regexes are
//!   skipped on most texts.
//! - [`detect`]: running the rules over the views; exceptions and negative context.
//! - [`nickname`]: nickname and room-name policy (`data/nickname/*.toml`).
//! - [`Engine`] and [`policy`]: verdicts, category × context → action.

pub mod detect;
pub mod gate;
pub mod nickname;
pub mod normalize;
pub mod rules;

use serde::{Deserialize, Serialize};

/// What a text is about, as far as safety is concerned. Names are part of the wire format
/// (`papote safety check`) and of the stored cases: do not rename.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Meeting,
    Contact,
    MinorClaim,
    ImageRequest,
    Sexual,
    Drugs,
    PaidSex,
    Hate,
    Threat,
}

impl Category {
    pub const ALL: [Category; 9] = [
        Category::Meeting,
        Category::Contact,
        Category::MinorClaim,
        Category::ImageRequest,
        Category::Sexual,
        Category::Drugs,
        Category::PaidSex,
        Category::Hate,
        Category::Threat,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Meeting => "meeting",
            Category::Contact => "contact",
            Category::MinorClaim => "minor_claim",
            Category::ImageRequest => "image_request",
            Category::Sexual => "sexual",
            Category::Drugs => "drugs",
            Category::PaidSex => "paid_sex",
            Category::Hate => "hate",
            Category::Threat => "threat",
        }
    }
}

/// Where a text is said: a public room (or private room) or a private conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Context {
    Room,
    Dm,
}

/// What the server does with a message. Ordered: the strongest action wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Deliver.
    #[default]
    Allow,
    /// Deliver, and show a safety card.
    Notice,
    /// Do not deliver; tell the sender why.
    Hold,
    /// Do not deliver, and open a moderation case.
    Flag,
}

/// One rule that matched, with the byte span in the *original* text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Match {
    pub rule: String,
    pub category: Category,
    pub start: usize,
    pub end: usize,
}

/// The engine's answer for one text.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub action: Action,
    /// Every detected category, sorted, without duplicates, even when the action is `allow`.
    pub categories: Vec<Category>,
    /// Ids of the rules that matched, sorted, without duplicates.
    pub rules: Vec<String>,
    pub matches: Vec<Match>,
}

impl Verdict {
    pub fn has(&self, category: Category) -> bool {
        self.categories.contains(&category)
    }
}

/// Why a nickname or room name was refused; `part` is the offending piece as the member typed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NameRefusal {
    pub reason: NameReason,
    pub part: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NameReason {
    /// Advertises an age under 18 ("Lola15", "lea_14", "ado13", a recent birth year).
    MinorAge,
    /// Minor-coded word ("lycéenne", "collégienne", "ado", "petite").
    MinorWord,
    /// Sexual term.
    Sexual,
    /// Any other category of the engine (hate, contact details, drugs...).
    Other(Category),
}

#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("rule file {file}: {message}")]
    Invalid { file: String, message: String },
}

/// The compiled rule set. Cheap to share (`Arc<Engine>`), `Send + Sync`.
#[derive(Debug)]
pub struct Engine {
    rules: rules::RuleSet,
    names: nickname::NameTables,
}

/// Everything the engine saw in one text, for `papote safety explain`.
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    pub original: String,
    /// Each folded view, by name (`text`, `numbers`, `letters`, `letters_l`, `dedup`).
    pub views: Vec<ExplainedView>,
    pub matches: Vec<ExplainedMatch>,
    /// Whether a minor-coded word or claim was seen (raises image requests and sexual texts).
    pub minor_cue: bool,
    pub room: Verdict,
    pub dm: Verdict,
}

#[derive(Clone, Debug, Serialize)]
pub struct ExplainedView {
    pub name: &'static str,
    pub text: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ExplainedMatch {
    pub rule: String,
    /// Empty for a cue-only rule.
    pub categories: Vec<Category>,
    pub view: &'static str,
    pub start: usize,
    pub end: usize,
    /// The original text of the span, as typed.
    pub matched: String,
}

impl Engine {
    /// The rules shipped in `data/safety/` and `data/nickname/`.
    pub fn builtin() -> Engine {
        #[allow(clippy::expect_used)]
        Engine::compile(&[]).expect("built-in rule files in data/ must compile (a data bug)")
    }

    /// The built-in rules plus extra rule files given as `(name, toml text)`.
    pub fn with_extra(sources: &[(&str, &str)]) -> Result<Engine, RuleError> {
        Engine::compile(sources)
    }

    fn compile(extra: &[(&str, &str)]) -> Result<Engine, RuleError> {
        let mut all: Vec<(&str, &str)> = rules::BUILTIN.to_vec();
        all.extend_from_slice(extra);
        Ok(Engine {
            rules: rules::RuleSet::compile(&all)?,
            names: nickname::NameTables::compile(nickname::BUILTIN, nickname::AGE)?,
        })
    }

    /// The compiled rules (for tools and tests).
    #[doc(hidden)]
    pub fn rule_set(&self) -> &rules::RuleSet {
        &self.rules
    }

    /// Number of compiled rules.
    pub fn rule_count(&self) -> usize {
        self.rules.rules.len()
    }

    pub fn check(&self, text: &str, context: Context) -> Verdict {
        // The views and the scan buffers are reused from one check to the next on this thread.
        thread_local! {
            static SCRATCH: std::cell::RefCell<(normalize::Folded, detect::Scratch)> = Default::default();
        }
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut guard) => {
                let (folded, scratch) = &mut *guard;
                normalize::fold_into(text, folded);
                detect::scan_into(&self.rules, folded, Some(context), scratch);
                self.verdict(&scratch.hits, context)
            }
            // Re-entered (cannot happen today): use fresh buffers.
            Err(_) => {
                let folded = normalize::fold(text);
                let hits = detect::scan(&self.rules, &folded, Some(context));
                self.verdict(&hits, context)
            }
        })
    }

    fn verdict(&self, hits: &[detect::Hit], context: Context) -> Verdict {
        let mut verdict = Verdict::default();
        if hits.is_empty() {
            return verdict;
        }
        let mut minor_cue = false;
        for h in hits {
            let rule = &self.rules.rules[h.rule as usize];
            if rule.cue == Some(rules::Cue::Minor) {
                minor_cue = true;
            }
            for &category in &rule.categories {
                verdict.matches.push(Match { rule: rule.id.clone(), category, start: h.start, end: h.end });
                verdict.categories.push(category);
                let action = rule.action.unwrap_or_else(|| policy(category, context));
                verdict.action = verdict.action.max(action);
            }
            if !rule.categories.is_empty() {
                verdict.rules.push(rule.id.clone());
            }
        }
        verdict.categories.sort();
        verdict.categories.dedup();
        verdict.rules.sort();
        verdict.rules.dedup();
        verdict
            .matches
            .sort_by(|a, b| (a.start, a.end, &a.rule, a.category).cmp(&(b.start, b.end, &b.rule, b.category)));
        minor_cue |= verdict.has(Category::MinorClaim);
        // An image request or a sexual text next to a minor cue is a child-safety case.
        let overridden = hits.iter().any(|h| self.rules.rules[h.rule as usize].action.is_some());
        if minor_cue && !overridden && (verdict.has(Category::ImageRequest) || verdict.has(Category::Sexual)) {
            verdict.action = Action::Flag;
        }
        verdict
    }

    /// The original, every folded view, and every match with its span, for moderators.
    pub fn explain(&self, text: &str) -> Explanation {
        let folded = normalize::fold(text);
        let hits = detect::scan(&self.rules, &folded, None);
        let mut views = vec![
            ExplainedView { name: "text", text: folded.text.as_str().to_owned() },
            ExplainedView { name: "numbers", text: folded.numbers().as_str().to_owned() },
            ExplainedView { name: "letters", text: folded.letters.as_str().to_owned() },
        ];
        if let Some(l) = folded.letters_l() {
            views.push(ExplainedView { name: "letters_l", text: l.as_str().to_owned() });
        }
        views.push(ExplainedView { name: "dedup", text: folded.dedup.as_str().to_owned() });
        let mut minor_cue = false;
        let matches = hits
            .iter()
            .map(|h| {
                let rule = &self.rules.rules[h.rule as usize];
                minor_cue |= rule.cue.is_some() || rule.categories.contains(&Category::MinorClaim);
                ExplainedMatch {
                    rule: rule.id.clone(),
                    categories: rule.categories.clone(),
                    view: rules::ViewName::ALL.get(h.view as usize).map_or("", |v| v.as_str()),
                    start: h.start,
                    end: h.end,
                    matched: text.get(h.start..h.end).unwrap_or("").to_owned(),
                }
            })
            .collect();
        let room_hits = detect::scan(&self.rules, &folded, Some(Context::Room));
        let dm_hits = detect::scan(&self.rules, &folded, Some(Context::Dm));
        Explanation {
            original: text.to_owned(),
            views,
            matches,
            minor_cue,
            room: self.verdict(&room_hits, Context::Room),
            dm: self.verdict(&dm_hits, Context::Dm),
        }
    }

    /// Refuses a nickname that advertises an age under 18, uses a minor-coded or sexual word, or
    /// carries anything else the engine holds (hate, contact details, drugs...).
    pub fn check_nickname(&self, nickname: &str, current_year: i32) -> Result<(), NameRefusal> {
        if let Some(r) = self.names.nickname_age(nickname, current_year) {
            return Err(r);
        }
        self.check_name(nickname)
    }

    /// The same filters for a private room's name; a number is an age there only with a unit
    /// ("13-17 ans").
    pub fn check_room_name(&self, name: &str) -> Result<(), NameRefusal> {
        if let Some(r) = self.names.room_age(name) {
            return Err(r);
        }
        self.check_name(name)
    }

    fn check_name(&self, name: &str) -> Result<(), NameRefusal> {
        if let Some(r) = self.names.words(name) {
            return Err(r);
        }
        let verdict = self.check(name, Context::Room);
        let refused = verdict
            .matches
            .iter()
            .filter(|m| !matches!(m.category, Category::Meeting))
            .min_by_key(|m| name_rank(m.category));
        match refused {
            Some(m) => Err(NameRefusal {
                reason: match m.category {
                    Category::MinorClaim => NameReason::MinorAge,
                    Category::Sexual => NameReason::Sexual,
                    other => NameReason::Other(other),
                },
                part: name.get(m.start..m.end).unwrap_or(name).to_owned(),
            }),
            None => Ok(()),
        }
    }
}

fn name_rank(c: Category) -> u8 {
    match c {
        Category::MinorClaim => 0,
        Category::Sexual => 1,
        Category::Hate | Category::Threat => 2,
        _ => 3,
    }
}

/// The policy table: category × context → action.
pub fn policy(category: Category, context: Context) -> Action {
    match (category, context) {
        (Category::Meeting | Category::Contact, _) => Action::Notice,
        (Category::MinorClaim, _) => Action::Flag,
        (Category::ImageRequest, _) => Action::Allow,
        (Category::Sexual, Context::Room) => Action::Hold,
        (Category::Sexual, Context::Dm) => Action::Allow,
        (Category::Drugs | Category::PaidSex | Category::Threat, _) => Action::Flag,
        (Category::Hate, _) => Action::Hold,
    }
}

/// The key that makes two nicknames "the same" for uniqueness: `L0la`, `Lola`, `LOLA` and `IoIa`
/// share it. Unicode compatibility forms, invisible characters and accents are ignored, and
/// confusable characters (UTS #39 skeleton) are read as their prototype, before lower-casing so
/// that a capital `I` reads as `l`.
pub fn nickname_skeleton(nickname: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    let clean = |s: &str| -> String {
        s.nfd().filter(|c| !is_combining_mark(*c) && !normalize::is_invisible_char(*c)).collect()
    };
    let compat: String = clean(&nickname.nfkc().collect::<String>());
    let first: String = unicode_security::skeleton(&compat).collect();
    let lowered = clean(&first).to_lowercase();
    let second: String = unicode_security::skeleton(&lowered).collect();
    clean(&second).to_lowercase()
}
