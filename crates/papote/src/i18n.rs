//! Every sentence the server says to a member, in French first and English second.
//!
//! Codes are stable identifiers shared with the client (`docs/protocol.md`); the texts here are
//! what a member reads when the client shows the server's message as is.

use axum::http::HeaderMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Fr,
    En,
}

impl Lang {
    /// French unless the browser prefers English over French (`Accept-Language` order, then q).
    pub fn from_headers(headers: &HeaderMap) -> Lang {
        headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|value| value.to_str().ok())
            .map(Lang::from_accept_language)
            .unwrap_or_default()
    }

    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',').take(16) {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let quality =
                pieces.find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok())).unwrap_or(1.0);
            let lang = if tag == "fr" || tag.starts_with("fr-") {
                Lang::Fr
            } else if tag == "en" || tag.starts_with("en-") {
                Lang::En
            } else {
                continue;
            };
            if best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, lang));
            }
        }
        best.map(|(_, lang)| lang).unwrap_or_default()
    }

    pub fn from_query(value: Option<&str>) -> Lang {
        match value {
            Some("en") => Lang::En,
            _ => Lang::Fr,
        }
    }
}

/// The member-facing text of an error or refusal code.
pub fn text(lang: Lang, code: &str) -> &'static str {
    let (fr, en) = match code {
        // Entry.
        "entry_locked" => (
            "Cet appareil ne peut pas entrer pendant 24 heures : un âge de moins de 18 ans y a été indiqué. Papote est réservé aux adultes. Si tu as moins de 18 ans et que tu as besoin de parler, appelle le 3018 (gratuit, anonyme).",
            "This device cannot enter for 24 hours: an age under 18 was given from it. Papote is for adults only. If you are under 18 and need to talk, call 3018 (free, anonymous, in France).",
        ),
        "underage" => (
            "Papote est réservé aux adultes (18 ans et plus). L'entrée est bloquée sur cet appareil pendant 24 heures. Si tu as moins de 18 ans et que quelque chose te pèse sur Internet, le 3018 t'écoute (gratuit, anonyme, 7j/7) ; en danger, appelle le 119.",
            "Papote is for adults (18 and over). Entry is blocked on this device for 24 hours. If you are under 18 and something online worries you, call 3018 (free, anonymous, every day); in danger, call 119.",
        ),
        "invalid_age" => ("Indique ton âge en chiffres (18 à 99 ans).", "Enter your age as a number (18 to 99)."),
        "invalid_nickname" => (
            "Le pseudo doit faire 3 à 20 caractères : lettres, chiffres, tiret, point ou tiret bas.",
            "The nickname must be 3 to 20 characters: letters, digits, dash, dot or underscore.",
        ),
        "nickname_minor" => (
            "Ce pseudo évoque un âge de moins de 18 ans. Papote est réservé aux adultes : choisis-en un autre.",
            "This nickname suggests an age under 18. Papote is for adults: choose another one.",
        ),
        "nickname_forbidden" => (
            "Ce pseudo contient un mot refusé. Choisis-en un autre.",
            "This nickname contains a refused word. Choose another one.",
        ),
        "nickname_taken" => (
            "Ce pseudo (ou un pseudo qui lui ressemble) est déjà utilisé en ce moment.",
            "This nickname (or one that looks like it) is in use right now.",
        ),
        "invalid_gender" => ("Choisis homme, femme ou autre.", "Choose man, woman or other."),
        "invalid_postcode" => ("Le code postal doit avoir 5 chiffres.", "The postcode must have 5 digits."),
        "unknown_postcode" => ("Ce code postal n'existe pas.", "This postcode does not exist."),
        "invalid_commune" => {
            ("Choisis ta commune dans la liste de ce code postal.", "Choose your town from this postcode's list.")
        }
        "charter_required" => ("Pour entrer, accepte la charte de sécurité.", "To enter, accept the safety charter."),
        "pow_invalid" => (
            "La vérification anti-robots a échoué ou a expiré. Réessaie.",
            "The anti-bot check failed or expired. Please try again.",
        ),
        "too_many_entries" => (
            "Trop d'entrées depuis cette connexion. Réessaie dans une minute.",
            "Too many entries from this connection. Try again in a minute.",
        ),
        "no_session" => ("Ta session a pris fin. Entre à nouveau.", "Your session has ended. Please enter again."),
        "bad_request" => ("Requête invalide.", "Invalid request."),
        // Messages.
        "rate_limited" => (
            "Doucement : pas plus de 5 messages en 10 secondes ici.",
            "Slow down: no more than 5 messages in 10 seconds here.",
        ),
        "flood" => (
            "Tu viens d'envoyer ce message : évite les répétitions.",
            "You just sent this message: please don't repeat yourself.",
        ),
        "too_long" => ("Message trop long (500 caractères au plus).", "Message too long (500 characters at most)."),
        "empty" => ("Message vide.", "Empty message."),
        "held" => ("Contraire à la charte de Papote.", "Against Papote's charter."),
        "held_sexual" => (
            "Les propos sexuels ne sont pas admis dans les salons publics.",
            "Sexual talk is not allowed in public rooms.",
        ),
        "held_hate" => (
            "Les propos haineux ou insultants envers un groupe sont interdits.",
            "Hateful or insulting talk about a group is forbidden.",
        ),
        "flagged" => ("Transmis à l'équipe de modération.", "Passed to the moderation team."),
        "flagged_minor" => (
            "Papote est réservé aux adultes (18 ans et plus). Ton message n'a pas été envoyé et tes messages privés sont suspendus. Si tu as moins de 18 ans et que quelqu'un te met mal à l'aise, parle-en : 3018 (gratuit, anonyme).",
            "Papote is for adults (18 and over). Your message was not sent and your private messages are suspended. If you are under 18 and someone makes you uncomfortable, talk about it: 3018 (free, anonymous).",
        ),
        "not_in_room" => ("Rejoins d'abord ce salon.", "Join this room first."),
        "unknown_room" => ("Ce salon n'existe pas.", "This room does not exist."),
        "unknown_member" => ("Ce membre n'est plus connecté.", "This member is no longer online."),
        "blocked" => ("Impossible : l'un de vous a bloqué l'autre.", "Not possible: one of you blocked the other."),
        "request_pending" => (
            "Ta demande de conversation attend sa réponse : tu pourras écrire à nouveau quand elle sera acceptée.",
            "Your conversation request is waiting for an answer: you can write again once it is accepted.",
        ),
        "declined" => {
            ("Ce membre a refusé ta demande de conversation.", "This member declined your conversation request.")
        }
        "dm_suspended" => (
            "Tes messages privés sont suspendus : Papote est réservé aux adultes.",
            "Your private messages are suspended: Papote is for adults.",
        ),
        "too_many_conversations" => (
            "Tu as ouvert beaucoup de nouvelles conversations : attends quelques minutes.",
            "You opened many new conversations: wait a few minutes.",
        ),
        "self" => ("Tu ne peux pas faire ça avec toi-même.", "You cannot do that with yourself."),
        "bad_frame" => ("Message illisible pour le serveur.", "The server could not read this message."),
        "binary_not_supported" => ("Les trames binaires ne sont pas acceptées.", "Binary frames are not accepted."),
        "bad_ref" => ("Référence trop longue (32 octets au plus).", "Reference too long (32 bytes at most)."),
        "report_received" => (
            "Signalement reçu. Merci : l'équipe de modération va l'examiner.",
            "Report received. Thank you: the moderation team will review it.",
        ),
        "muted" => (
            "Un modérateur t'a mis en silence : tu pourras écrire à nouveau dans quelques minutes.",
            "A moderator muted you: you can write again in a few minutes.",
        ),
        "panic_mode" => (
            "Papote est en mode protection : les nouveaux arrivants pourront écrire dans quelques minutes.",
            "Papote is in protection mode: newcomers can write in a few minutes.",
        ),
        "banned" => (
            "L'accès à Papote t'est fermé suite à une décision de modération. Tu peux la contester sur /appel avec ton code de recours.",
            "Access to Papote is closed to you after a moderation decision. You can appeal at /appel with your appeal code.",
        ),
        "nickname_banned" => (
            "Ce pseudo ne peut pas être utilisé suite à une décision de modération.",
            "This nickname cannot be used after a moderation decision.",
        ),
        "invalid_room_name" => {
            ("Le nom du salon doit faire 3 à 40 caractères.", "The room name must be 3 to 40 characters.")
        }
        "room_name_refused" => (
            "Ce nom de salon est refusé : il enfreint la charte de Papote.",
            "This room name is refused: it breaks Papote's charter.",
        ),
        "not_invited" => ("Ce salon privé est sur invitation.", "This private room is by invitation only."),
        "room_full" => ("Ce salon privé est complet.", "This private room is full."),
        "not_private" => ("Ce salon n'est pas un salon privé.", "This is not a private room."),
        "already_invited" => {
            ("Ce membre est déjà invité ou dans le salon.", "This member is already invited or in the room.")
        }
        "not_owner" => ("Seul le propriétaire du salon peut faire ça.", "Only the room's owner can do that."),
        "too_slow" => ("Connexion trop lente : reconnexion.", "Connection too slow: reconnecting."),
        "session_ended" => ("Ta session a pris fin.", "Your session has ended."),
        "too_much_garbage" => ("Trop de messages invalides.", "Too many invalid messages."),
        _ => ("Erreur interne. Réessaie.", "Internal error. Please try again."),
    };
    match lang {
        Lang::Fr => fr,
        Lang::En => en,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_prefers_the_first_known_language_by_quality() {
        let cases = [
            ("", Lang::Fr),
            ("en-US,en;q=0.9", Lang::En),
            ("fr-FR,fr;q=0.9,en;q=0.8", Lang::Fr),
            ("de-DE,en;q=0.5,fr;q=0.4", Lang::En),
            ("de-DE,fr;q=0.5,en;q=0.4", Lang::Fr),
            ("en;q=0.2,fr;q=0.9", Lang::Fr),
            ("*", Lang::Fr),
            ("garbage;;;q=zz", Lang::Fr),
        ];
        for (header, expected) in cases {
            assert_eq!(Lang::from_accept_language(header), expected, "{header}");
        }
    }

    #[test]
    fn every_code_has_a_text_in_both_languages() {
        let codes = [
            "entry_locked",
            "underage",
            "invalid_age",
            "invalid_nickname",
            "nickname_minor",
            "nickname_forbidden",
            "nickname_taken",
            "invalid_gender",
            "invalid_postcode",
            "unknown_postcode",
            "charter_required",
            "pow_invalid",
            "too_many_entries",
            "no_session",
            "bad_request",
            "rate_limited",
            "flood",
            "too_long",
            "empty",
            "held",
            "held_sexual",
            "held_hate",
            "flagged",
            "flagged_minor",
            "not_in_room",
            "unknown_room",
            "unknown_member",
            "blocked",
            "request_pending",
            "dm_suspended",
            "too_many_conversations",
            "self",
            "bad_frame",
            "binary_not_supported",
            "bad_ref",
            "report_received",
            "muted",
            "panic_mode",
            "banned",
            "nickname_banned",
            "invalid_room_name",
            "room_name_refused",
            "not_invited",
            "room_full",
            "not_private",
            "already_invited",
            "not_owner",
            "too_slow",
            "session_ended",
            "too_much_garbage",
        ];
        for code in codes {
            let fr = text(Lang::Fr, code);
            let en = text(Lang::En, code);
            assert_ne!(fr, text(Lang::Fr, "no such code"), "{code} has no French text");
            assert_ne!(en, text(Lang::En, "no such code"), "{code} has no English text");
            assert_ne!(fr, en, "{code}");
        }
    }
}
