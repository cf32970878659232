/// Eight realistic ~110-character French chat lines (benign, traps, and lines with contact,
/// meeting, minor, image cues: the expensive kind); shared by `benches/check.rs` and
/// `examples/count.rs`.
pub const LINES: &[&str] = &[
    "slt tout le monde, qqn a vu le match hier soir ? jsuis degoute on a perdu 3-0 a domicile, l'arbitre etait nul",
    "bjr a tous, je cherche une bonne recette de gratin dauphinois pour ce soir, vous mettez de l'ail ou pas ?? merci",
    "wesh t'as snap ou insta ? on pourrait parler en prive c'est plus simple, et on se voit ce soir si tu veux hein",
    "cc jai 45 ans et je suis prof au lycee a cote de lyon, je passe ici le soir apres les copies, c'est calme ici",
    "mdr t'es trop drole toi, franchement le parking du cinema est payant maintenant, 4 euros la soiree c'est abuse",
    "jsuis en 3eme et ma mere veut pas que je sorte ce soir, trop relou, quelqu'un veut parler un peu ? je m'ennuie",
    "envoie moi une ptite photo de toi stp, t'es ou exactement ? je peux passer te prendre en voiture vers 22h ce soir",
    "la cocaine est un fleau, aide moi a arreter svp, ca fait 3 ans que je galere et j'en ai parle a personne encore",
];
