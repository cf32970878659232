//! Postcodes and communes (La Poste's official file, embedded), and the distances between them.

use std::collections::HashMap;
use std::sync::LazyLock;

const COMMUNES_TSV: &str = include_str!("../../../../data/communes.tsv");

#[derive(Clone, Debug, PartialEq)]
pub struct Commune {
    pub insee: &'static str,
    /// The commune's own name, e.g. "Marseille 1er Arrondissement".
    pub name: &'static str,
    /// What other members see, e.g. "Marseille".
    pub city: &'static str,
    pub position: Option<Position>,
}

/// A point on Earth, kept in radians for the distance formula.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Position {
    lat: f64,
    lon: f64,
}

impl Position {
    pub fn from_degrees(lat: f64, lon: f64) -> Position {
        Position { lat: lat.to_radians(), lon: lon.to_radians() }
    }

    /// (latitude, longitude) in degrees.
    pub fn to_degrees(self) -> (f64, f64) {
        (self.lat.to_degrees(), self.lon.to_degrees())
    }

    /// Great-circle distance in kilometres (haversine).
    pub fn distance_km(self, other: Position) -> f64 {
        const EARTH_RADIUS_KM: f64 = 6371.0;
        let dlat = other.lat - self.lat;
        let dlon = other.lon - self.lon;
        let a = (dlat / 2.0).sin().powi(2) + self.lat.cos() * other.lat.cos() * (dlon / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
    }
}

/// Rounds a distance to what the member list shows, so that the exact distance never leaves the
/// server: `0` means "< 5 km"; then multiples of 5 up to 20 km, of 10 up to 100 km, of 50 up to
/// 1,000 km, of 100 beyond.
pub fn rounded_distance_km(km: f64) -> u32 {
    let km = km.max(0.0);
    let step = if km < 5.0 {
        return 0;
    } else if km < 20.0 {
        5.0
    } else if km < 100.0 {
        10.0
    } else if km < 1000.0 {
        50.0
    } else {
        100.0
    };
    ((km / step).round() * step).max(5.0) as u32
}

pub struct Communes {
    by_postcode: HashMap<&'static str, Vec<Commune>>,
}

static COMMUNES: LazyLock<Communes> = LazyLock::new(|| Communes::parse(COMMUNES_TSV));

impl Communes {
    pub fn get() -> &'static Communes {
        &COMMUNES
    }

    fn parse(tsv: &'static str) -> Communes {
        let mut by_postcode: HashMap<&'static str, Vec<Commune>> = HashMap::with_capacity(7000);
        for line in tsv.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
            let mut fields = line.split('\t');
            let (Some(postcode), Some(insee), Some(name), Some(city), Some(lat), Some(lon)) =
                (fields.next(), fields.next(), fields.next(), fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let position = match (lat.parse::<f64>(), lon.parse::<f64>()) {
                (Ok(lat), Ok(lon)) => Some(Position::from_degrees(lat, lon)),
                _ => None,
            };
            by_postcode.entry(postcode).or_default().push(Commune { insee, name, city, position });
        }
        for communes in by_postcode.values_mut() {
            communes.sort_by(|a, b| a.name.cmp(b.name));
        }
        Communes { by_postcode }
    }

    /// The communes of a postcode, by name; `None` for an unknown postcode.
    pub fn for_postcode(&self, postcode: &str) -> Option<&[Commune]> {
        self.by_postcode.get(postcode).map(Vec::as_slice)
    }

    pub fn postcode_count(&self) -> usize {
        self.by_postcode.len()
    }
}

/// Five digits, or Corsica's `2A`/`2B` forms are not postcodes (La Poste uses 20xxx): five ASCII
/// digits only.
pub fn is_valid_postcode(text: &str) -> bool {
    text.len() == 5 && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_file_knows_every_french_postcode_and_its_communes() {
        let communes = Communes::get();
        assert!(communes.postcode_count() > 6000, "{}", communes.postcode_count());
        let grande_synthe = communes.for_postcode("59760").expect("59760 exists");
        assert!(grande_synthe.iter().any(|c| c.name == "Grande-Synthe" && c.insee == "59271"));
        let marseille = communes.for_postcode("13001").expect("13001 exists");
        assert_eq!(marseille[0].city, "Marseille");
        assert!(communes.for_postcode("00000").is_none());
        // Postcodes shared by several communes list them all.
        assert!(communes.for_postcode("01400").expect("01400").len() > 3);
    }

    #[test]
    fn distances_are_haversine_and_rounded_to_buckets() {
        let paris = Position::from_degrees(48.8566, 2.3522);
        let lille = Position::from_degrees(50.6292, 3.0573);
        let d = paris.distance_km(lille);
        assert!((d - 204.0).abs() < 3.0, "{d}");
        assert_eq!(paris.distance_km(paris), 0.0);
        let cases = [
            (0.0, 0),
            (4.9, 0),
            (5.0, 5),
            (7.4, 5),
            (7.6, 10),
            (19.0, 20),
            (23.0, 20),
            (26.0, 30),
            (149.0, 150),
            (204.0, 200),
            (1040.0, 1000),
            (-3.0, 0),
        ];
        for (km, expected) in cases {
            assert_eq!(rounded_distance_km(km), expected, "{km}");
        }
    }

    #[test]
    fn postcodes_are_five_digits() {
        for good in ["59760", "01400", "97411"] {
            assert!(is_valid_postcode(good));
        }
        for bad in ["", "5976", "597600", "2A004", "5976a", "５９７６０"] {
            assert!(!is_valid_postcode(bad), "{bad}");
        }
    }
}
