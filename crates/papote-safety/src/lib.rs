//! Papote's safety engine: text analysis and policy, pure and deterministic.
//!
//! No I/O, no clock of its own, nothing of the server: callers pass the text, the context and,
//! where a rule needs it, the current year.
//!
//! This is the contract the server relies on; the analysis behind it lives in the modules below.

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
#[derive(Debug, Default)]
pub struct Engine {
    extra: Vec<(String, Category, String, Option<Action>)>,
}

#[derive(Deserialize)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<RuleDef>,
}

#[derive(Deserialize)]
struct RuleDef {
    id: String,
    categories: Vec<Category>,
    #[serde(default)]
    literals: Vec<String>,
    #[serde(default)]
    action: Option<Action>,
}

impl Engine {
    /// The rules shipped in `data/safety/`.
    pub fn builtin() -> Engine {
        Engine::default()
    }

    /// The built-in rules plus extra rule files given as `(name, toml text)`.
    pub fn with_extra(sources: &[(&str, &str)]) -> Result<Engine, RuleError> {
        let mut engine = Engine::builtin();
        for (file, text) in sources {
            let parsed: RuleFile = toml::from_str(text)
                .map_err(|e| RuleError::Invalid { file: (*file).to_owned(), message: e.to_string() })?;
            for rule in parsed.rule {
                for literal in &rule.literals {
                    for category in &rule.categories {
                        engine.extra.push((rule.id.clone(), *category, literal.to_lowercase(), rule.action));
                    }
                }
            }
        }
        Ok(engine)
    }

    pub fn check(&self, text: &str, context: Context) -> Verdict {
        let lower = text.to_lowercase();
        let mut verdict = Verdict::default();
        for (id, category, literal, action) in &self.extra {
            if let Some(start) = lower.find(literal.as_str()) {
                verdict.matches.push(Match {
                    rule: id.clone(),
                    category: *category,
                    start,
                    end: start + literal.len(),
                });
                verdict.categories.push(*category);
                verdict.rules.push(id.clone());
                let a = action.unwrap_or_else(|| policy(*category, context));
                verdict.action = verdict.action.max(a);
            }
        }
        verdict.categories.sort();
        verdict.categories.dedup();
        verdict.rules.sort();
        verdict.rules.dedup();
        verdict
    }

    pub fn check_nickname(&self, nickname: &str, _current_year: i32) -> Result<(), NameRefusal> {
        self.check_name(nickname)
    }

    pub fn check_room_name(&self, name: &str) -> Result<(), NameRefusal> {
        self.check_name(name)
    }

    fn check_name(&self, name: &str) -> Result<(), NameRefusal> {
        let verdict = self.check(name, Context::Room);
        match verdict.matches.first() {
            Some(m) => {
                Err(NameRefusal { reason: NameReason::Other(m.category), part: name[m.start..m.end].to_owned() })
            }
            None => Ok(()),
        }
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

/// The key that makes two nicknames "the same" for uniqueness: `L0la`, `Lola` and `LOLA` share it.
pub fn nickname_skeleton(nickname: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let lowered: String = nickname.nfkc().collect::<String>().to_lowercase();
    let skeleton: String = unicode_security::skeleton(&lowered).collect();
    skeleton.to_lowercase()
}
