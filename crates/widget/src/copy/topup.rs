//! The auto top-up panel's sentences (its own group: `lazy::topup`), English and
//! French, chosen like the rest of the widget's words.

use super::{locale, Locale};

pub struct TopUpWords {
    pub title: &'static str,
    pub off_by_operator: &'static str,
    /// "On: when fewer than {below} are left, buy {pack} ({credits}, {price})."
    pub on: fn(below: &str, pack: &str, credits: &str, price: &str) -> String,
    pub this_month: fn(count: u32, max: u32) -> String,
    pub needs_card: &'static str,
    pub save_card: fn(pack: &str, price: &str) -> String,
    pub failed: &'static str,
    pub retry_at: fn(when: &str) -> String,
    pub paused: &'static str,
    pub update_card: fn(pack: &str, price: &str) -> String,
    pub below_label: &'static str,
    pub pack_label: &'static str,
    pub times_label: &'static str,
    pub save: &'static str,
    pub saved: &'static str,
    pub turn_off: &'static str,
    pub turned_off: &'static str,
    pub invalid_below: &'static str,
    pub invalid_times: fn(max: u32) -> String,
    pub no_pack: &'static str,
    pub card_note: &'static str,
}

pub fn topup_words() -> &'static TopUpWords {
    match locale() {
        Locale::En => &EN,
        Locale::Fr => &FR,
    }
}

static EN: TopUpWords = TopUpWords {
    title: "Automatic top-up",
    off_by_operator: "Automatic top-up is not available for this account.",
    on: |b, p, c, m| {
        format!("On: when fewer than {b} are left, we buy {p} ({c}, {m}) with your saved card.")
    },
    this_month: |n, max| format!("{n} of at most {max} this month."),
    needs_card: "Save a card to turn it on: buy a pack once with the card saved.",
    save_card: |p, m| format!("Buy {p} ({m}) and save my card"),
    failed: "Auto top-up failed — update your card.",
    retry_at: |w| format!("We try again {w}."),
    paused: "It is paused until you update your card.",
    update_card: |p, m| format!("Update my card (buys {p}, {m})"),
    below_label: "When fewer than (credits) ",
    pack_label: "buy ",
    times_label: "at most (times a month) ",
    save: "Save automatic top-up",
    saved: "Automatic top-up saved.",
    turn_off: "Turn off",
    turned_off: "Automatic top-up is off.",
    invalid_below: "Enter a whole number of credits, for example 100.",
    invalid_times: |max| format!("Enter how many times a month, from 1 to {max}."),
    no_pack: "Nothing on sale can top up automatically.",
    card_note:
        "Your card is charged only when your credits run low, never more often than you allow.",
};

static FR: TopUpWords = TopUpWords {
    title: "Recharge automatique",
    off_by_operator: "La recharge automatique n’est pas proposée pour ce compte.",
    on: |b, p, c, m| format!("Activée : quand il reste moins de {b}, nous achetons {p} ({c}, {m}) avec votre carte enregistrée."),
    this_month: |n, max| format!("{n} sur {max} au plus ce mois-ci."),
    needs_card: "Enregistrez une carte pour l’activer : achetez un pack une fois en enregistrant la carte.",
    save_card: |p, m| format!("Acheter {p} ({m}) et enregistrer ma carte"),
    failed: "La recharge automatique a échoué — mettez à jour votre carte.",
    retry_at: |w| format!("Nouvel essai {w}."),
    paused: "Elle est suspendue jusqu’à la mise à jour de votre carte.",
    update_card: |p, m| format!("Mettre à jour ma carte (achète {p}, {m})"),
    below_label: "Quand il reste moins de (crédits) ",
    pack_label: "acheter ",
    times_label: "au plus (fois par mois) ",
    save: "Enregistrer la recharge automatique",
    saved: "Recharge automatique enregistrée.",
    turn_off: "Désactiver",
    turned_off: "La recharge automatique est désactivée.",
    invalid_below: "Indiquez un nombre entier de crédits, par exemple 100.",
    invalid_times: |max| format!("Indiquez combien de fois par mois, de 1 à {max}."),
    no_pack: "Aucun pack en vente ne peut servir à la recharge automatique.",
    card_note: "Votre carte n’est débitée que quand vos crédits baissent, jamais plus souvent que vous ne l’autorisez.",
};
