//! Human-readable quantities used in scenario files: durations (`30s`, `1m30s`,
//! `500ms`), byte sizes (`512KiB`, `8MiB`, `1GB`) and percentages (`99.9%`).

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::time::Duration;

/// A duration written like `30s`, `1m30s` or `250ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Span(pub Duration);

impl Span {
    pub fn parse(s: &str) -> Result<Span, String> {
        humantime::parse_duration(s.trim())
            .map(Span)
            .map_err(|e| format!("invalid duration '{s}' ({e}); write e.g. 500ms, 30s or 1m30s"))
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Span::parse(&s).map_err(de::Error::custom)
    }
}

impl schemars::JsonSchema for Span {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Span".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A duration: 500ms, 30s, 1m 30s, 30days.",
        })
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// Largest layer drill will generate: beyond this a scenario is almost surely a typo.
pub const MAX_LAYER_BYTES: u64 = 4 << 30;

/// A whole number a scenario counts with, from `MIN` to `MAX`: the bounds travel with
/// the type, so a value out of them (or out of any integer type, `1e30`, `-1`) gets
/// the same message naming them, and the JSON Schema carries them too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Count<const MIN: u64, const MAX: u64>(u64);

impl<const MIN: u64, const MAX: u64> Count<MIN, MAX> {
    /// A count known to be within bounds (defaults, tests).
    pub const fn new(n: u64) -> Self {
        assert!(n >= MIN && n <= MAX, "count out of its bounds");
        Count(n)
    }

    pub const fn get(self) -> u64 {
        self.0
    }

    fn bounds() -> String {
        if MAX == u64::MAX {
            format!("a whole number, {MIN} or more")
        } else {
            format!("a whole number from {MIN} to {MAX}")
        }
    }
}

impl<const MIN: u64, const MAX: u64> fmt::Display for Count<MIN, MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl<'de, const MIN: u64, const MAX: u64> Deserialize<'de> for Count<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor<const MIN: u64, const MAX: u64>;
        impl<const MIN: u64, const MAX: u64> Visitor<MIN, MAX> {
            fn out<E: de::Error>(shown: impl fmt::Display) -> E {
                E::custom(format!(
                    "{shown} is out of range: expected {}",
                    Count::<MIN, MAX>::bounds()
                ))
            }
        }
        impl<const MIN: u64, const MAX: u64> de::Visitor<'_> for Visitor<MIN, MAX> {
            type Value = Count<MIN, MAX>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(&Count::<MIN, MAX>::bounds())
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                if (MIN..=MAX).contains(&v) {
                    Ok(Count(v))
                } else {
                    Err(Self::out(v))
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                u64::try_from(v).map_or_else(|_| Err(Self::out(v)), |v| self.visit_u64(v))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Self::Value, E> {
                u64::try_from(v).map_or_else(|_| Err(Self::out(v)), |v| self.visit_u64(v))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Self::Value, E> {
                u64::try_from(v).map_or_else(|_| Err(Self::out(v)), |v| self.visit_u64(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                if v.fract() != 0.0 || !v.is_finite() {
                    return Err(E::custom(format!(
                        "{v} is not a whole number: expected {}",
                        Count::<MIN, MAX>::bounds()
                    )));
                }
                Err(Self::out(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                match v.trim().parse::<u128>() {
                    Ok(n) => self.visit_u128(n),
                    Err(_) => Err(E::custom(format!(
                        "'{v}' is not a whole number: expected {}",
                        Count::<MIN, MAX>::bounds()
                    ))),
                }
            }
        }
        d.deserialize_any(Visitor::<MIN, MAX>)
    }
}

impl<const MIN: u64, const MAX: u64> Serialize for Count<MIN, MAX> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<const MIN: u64, const MAX: u64> schemars::JsonSchema for Count<MIN, MAX> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("Count_{MIN}_{MAX}").into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        if MAX == u64::MAX {
            schemars::json_schema!({ "type": "integer", "minimum": MIN })
        } else {
            schemars::json_schema!({ "type": "integer", "minimum": MIN, "maximum": MAX })
        }
    }
}

/// A byte size written like `4MiB`, `512KiB`, `1GB` or a plain number of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Size(pub u64);

impl Size {
    /// Any size from 0 bytes up; each field that takes one checks its own bounds.
    pub fn parse(s: &str) -> Result<Size, String> {
        let t = s.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let mult: u64 = match unit.trim() {
            "" | "B" => 1,
            "KiB" => 1 << 10,
            "MiB" => 1 << 20,
            "GiB" => 1 << 30,
            "KB" | "kB" => 1_000,
            "MB" => 1_000_000,
            "GB" => 1_000_000_000,
            other => {
                return Err(format!(
                    "invalid size '{s}': unknown unit '{other}'; use B, KiB, MiB, GiB, KB, MB or GB"
                ))
            }
        };
        let n: f64 = num
            .parse()
            .map_err(|_| format!("invalid size '{s}'; write e.g. 512KiB or 8MiB"))?;
        let bytes = n * mult as f64;
        if !bytes.is_finite() || bytes < 0.0 {
            return Err(format!("invalid size '{s}': a size is 0 bytes or more"));
        }
        // 2^64 itself rounds to u64::MAX + 1 as a float.
        if bytes >= u64::MAX as f64 {
            return Err(format!(
                "size '{s}' is larger than any size a scenario takes"
            ));
        }
        Ok(Size(bytes as u64))
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        if b >= 1 << 30 && b.is_multiple_of(1 << 30) {
            write!(f, "{}GiB", b >> 30)
        } else if b >= 1 << 20 && b.is_multiple_of(1 << 20) {
            write!(f, "{}MiB", b >> 20)
        } else if b >= 1 << 10 && b.is_multiple_of(1 << 10) {
            write!(f, "{}KiB", b >> 10)
        } else {
            write!(f, "{b}B")
        }
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Every number form goes through `Size::parse`, so 2^64, -1 or 1e30 get the
        // same "out of range" message as `9999GiB`, not a type error.
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a size: a number of bytes, or 512KiB, 8MiB, 1GB")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Size, E> {
                Size::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Size, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Size, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Size, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Size, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Size, E> {
                self.visit_str(&v.to_string())
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl schemars::JsonSchema for Size {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Size".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": ["string", "integer"],
            "description": "A size in bytes: a number, or with a unit: 512KiB, 8MiB, 1GB.",
        })
    }
}

impl Serialize for Size {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

/// A percentage written like `99.9%`, stored as a fraction (0.999).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Percent(pub f64);

impl Percent {
    pub fn parse(s: &str) -> Result<Percent, String> {
        parse_percent(s, 100.0).map(Percent)
    }
}

/// A fraction written as a percentage between 0% and `max`%.
fn parse_percent(s: &str, max: f64) -> Result<f64, String> {
    let t = s.trim();
    let Some(num) = t.strip_suffix('%') else {
        return Err(format!(
            "invalid percentage '{s}': write it with a percent sign, e.g. 99.9%"
        ));
    };
    match num.trim().parse::<f64>() {
        Ok(p) if (0.0..=max).contains(&p) => Ok(p / 100.0),
        _ => Err(format!(
            "invalid percentage '{s}': must be between 0% and {}%",
            format_percent(max / 100.0)
        )),
    }
}

/// A relative increase written like `50%` or `300%`, stored as a fraction (3.0 for
/// 300%); at most 10000%.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Growth(pub f64);

impl fmt::Display for Growth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", format_percent(self.0))
    }
}

impl<'de> Deserialize<'de> for Growth {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_percent(&s, 10_000.0)
            .map(Growth)
            .map_err(de::Error::custom)
    }
}

impl schemars::JsonSchema for Growth {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Growth".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A relative increase with its percent sign, 0% to 10000%, e.g. 50% or 300%.",
        })
    }
}

impl Serialize for Growth {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", format_percent(self.0))
    }
}

/// Formats a fraction as a percentage with only the digits that matter (99.95, 100, 12.5).
/// `1 pull`, `3 pulls`.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub fn format_percent(fraction: f64) -> String {
    let s = format!("{:.3}", fraction * 100.0);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Percent::parse(&s).map_err(de::Error::custom)
    }
}

impl schemars::JsonSchema for Percent {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Percent".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A percentage between 0% and 100% with its sign, e.g. 99.9%.",
        })
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// Formats a duration in seconds for summaries: `0.412s`, `12.3s`.
pub fn format_secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 10.0 {
        format!("{s:.3}s")
    } else {
        format!("{s:.1}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(Span::parse("30s").unwrap().0, Duration::from_secs(30));
        assert_eq!(Span::parse("1m30s").unwrap().0, Duration::from_secs(90));
        assert_eq!(Span::parse("250ms").unwrap().0, Duration::from_millis(250));
        assert!(Span::parse("30").unwrap_err().contains("e.g. 500ms"));
    }

    #[test]
    fn sizes() {
        assert_eq!(Size::parse("2MiB").unwrap().0, 2 << 20);
        assert_eq!(Size::parse("512KiB").unwrap().0, 512 << 10);
        assert_eq!(Size::parse("1.5MB").unwrap().0, 1_500_000);
        assert_eq!(Size::parse("4096").unwrap().0, 4096);
        assert!(Size::parse("2 parsecs")
            .unwrap_err()
            .contains("unknown unit"));
        assert_eq!(Size::parse("0").unwrap().0, 0);
        assert!(Size::parse("-1").unwrap_err().contains("0 bytes or more"));
        assert!(Size::parse("18446744073709551615GiB")
            .unwrap_err()
            .contains("larger than any size"));
        assert_eq!(Size(8 << 20).to_string(), "8MiB");
    }

    #[test]
    fn counts_name_their_bounds_whatever_the_number() {
        type C = Count<1, 8>;
        let read = |yaml: &str| serde_saphyr::from_str::<C>(yaml).map_err(|e| e.to_string());
        assert_eq!(read("3").unwrap().get(), 3);
        for bad in ["0", "9", "-1", "18446744073709551616", "1e30"] {
            let e = read(bad).unwrap_err();
            assert!(e.contains("from 1 to 8"), "{bad}: {e}");
        }
        assert!(read("2.5").unwrap_err().contains("not a whole number"));
        let any: Count<0, { u64::MAX }> = serde_json::from_str("7").unwrap();
        assert_eq!(any.get(), 7);
        assert!(serde_json::from_str::<Count<0, { u64::MAX }>>("-7")
            .unwrap_err()
            .to_string()
            .contains("0 or more"));
    }

    #[test]
    fn percents() {
        assert!((Percent::parse("99.9%").unwrap().0 - 0.999).abs() < 1e-12);
        assert!(Percent::parse("0.999")
            .unwrap_err()
            .contains("percent sign"));
        assert!(Percent::parse("101%").unwrap_err().contains("between"));
        assert_eq!(Percent(0.9995).to_string(), "99.95%");
        assert_eq!(Percent(1.0).to_string(), "100%");
    }
}
