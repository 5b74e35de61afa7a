//! The final report as an ordered tree of values, rendered either as a readable table
//! or as JSON (written by hand: the shape is small and fixed).

use std::fmt::Write as _;

use crate::stats::LatSummary;

/// A report value.
#[derive(Debug, Clone)]
pub enum Val {
    /// A count.
    Int(u64),
    /// A measurement.
    Num(f64),
    /// Text.
    Text(String),
    /// Yes/no.
    Bool(bool),
    /// A duration in nanoseconds (shown with a unit; JSON in microseconds).
    Ns(u64),
    /// Latency percentiles.
    Lat(LatSummary),
    /// A nested section.
    Obj(Obj),
}

/// An ordered list of named values.
#[derive(Debug, Clone, Default)]
pub struct Obj(pub Vec<(String, Val)>);

impl Obj {
    /// An empty section.
    pub fn new() -> Obj {
        Obj(Vec::new())
    }

    /// Adds a value.
    pub fn put(&mut self, key: &str, v: Val) -> &mut Obj {
        self.0.push((key.to_string(), v));
        self
    }

    /// Adds a count.
    pub fn int(&mut self, key: &str, v: u64) -> &mut Obj {
        self.put(key, Val::Int(v))
    }

    /// Adds a measurement.
    pub fn num(&mut self, key: &str, v: f64) -> &mut Obj {
        self.put(key, Val::Num(v))
    }

    /// Adds text.
    pub fn text(&mut self, key: &str, v: impl Into<String>) -> &mut Obj {
        self.put(key, Val::Text(v.into()))
    }

    /// Adds a duration in nanoseconds.
    pub fn ns(&mut self, key: &str, v: u64) -> &mut Obj {
        self.put(key, Val::Ns(v))
    }

    /// Adds latency percentiles.
    pub fn lat(&mut self, key: &str, v: LatSummary) -> &mut Obj {
        self.put(key, Val::Lat(v))
    }

    /// Adds a nested section.
    pub fn obj(&mut self, key: &str, v: Obj) -> &mut Obj {
        self.put(key, Val::Obj(v))
    }
}

/// Formats nanoseconds with a readable unit.
pub fn human_ns(ns: u64) -> String {
    let v = ns as f64;
    if ns < 1_000 {
        format!("{ns}ns")
    } else if ns < 1_000_000 {
        format!("{:.1}µs", v / 1e3)
    } else if ns < 1_000_000_000 {
        format!("{:.2}ms", v / 1e6)
    } else {
        format!("{:.2}s", v / 1e9)
    }
}

/// Formats a large number with SI suffixes (1.23M).
pub fn human_num(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.2}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn lat_line(l: &LatSummary) -> String {
    if l.count == 0 {
        return "no samples".into();
    }
    format!(
        "p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  (n={}, mean {})",
        human_ns(l.p50),
        human_ns(l.p90),
        human_ns(l.p99),
        human_ns(l.p999),
        human_ns(l.max),
        l.count,
        human_ns(l.mean as u64),
    )
}

/// Renders the report as an indented two-column table.
pub fn to_table(title: &str, o: &Obj) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{title}");
    table_into(&mut s, o, 1);
    s
}

fn table_into(s: &mut String, o: &Obj, depth: usize) {
    let indent = "  ".repeat(depth);
    let width = 30usize.saturating_sub(indent.len());
    for (k, v) in &o.0 {
        let cell = match v {
            Val::Obj(inner) => {
                let _ = writeln!(s, "{indent}{k}:");
                if inner.0.is_empty() {
                    let _ = writeln!(s, "{indent}  (none)");
                }
                table_into(s, inner, depth + 1);
                continue;
            }
            Val::Int(i) => i.to_string(),
            Val::Num(f) => human_num(*f),
            Val::Text(t) => t.clone(),
            Val::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
            Val::Ns(ns) => human_ns(*ns),
            Val::Lat(l) => lat_line(l),
        };
        let _ = writeln!(s, "{indent}{k:<width$} {cell}");
    }
}

/// Renders the report as one JSON object. Durations are microseconds (`_us` keys).
pub fn to_json(o: &Obj) -> String {
    let mut s = String::new();
    json_obj(&mut s, o);
    s.push('\n');
    s
}

fn json_obj(s: &mut String, o: &Obj) {
    s.push('{');
    for (i, (k, v)) in o.0.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        match v {
            Val::Ns(_) => json_str(s, &format!("{k}_us")),
            _ => json_str(s, k),
        }
        s.push(':');
        json_val(s, v);
    }
    s.push('}');
}

fn json_val(s: &mut String, v: &Val) {
    match v {
        Val::Int(i) => {
            let _ = write!(s, "{i}");
        }
        Val::Num(f) => json_num(s, *f),
        Val::Text(t) => json_str(s, t),
        Val::Bool(b) => s.push_str(if *b { "true" } else { "false" }),
        Val::Ns(ns) => json_num(s, *ns as f64 / 1e3),
        Val::Lat(l) => {
            let us = |ns: u64| ns as f64 / 1e3;
            let mut o = Obj::new();
            o.int("count", l.count)
                .num("min_us", us(l.min))
                .num("mean_us", l.mean / 1e3)
                .num("p50_us", us(l.p50))
                .num("p90_us", us(l.p90))
                .num("p99_us", us(l.p99))
                .num("p999_us", us(l.p999))
                .num("max_us", us(l.max));
            json_obj(s, &o);
        }
        Val::Obj(o) => json_obj(s, o),
    }
}

fn json_num(s: &mut String, f: f64) {
    if f.is_finite() {
        // Enough digits for rates and microseconds without float noise.
        let r = (f * 1000.0).round() / 1000.0;
        let _ = write!(s, "{r}");
    } else {
        s.push_str("null");
    }
}

/// Writes `t` as a JSON string literal.
pub fn json_str(s: &mut String, t: &str) {
    s.push('"');
    for c in t.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(s, "\\u{:04x}", c as u32);
            }
            c => s.push(c),
        }
    }
    s.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_and_nests() {
        let mut inner = Obj::new();
        inner.int("lost", 0).put("ok", Val::Bool(true));
        let mut o = Obj::new();
        o.text("name", "a\"b\\c\n\u{1}")
            .num("rate", 1.5)
            .num("nan", f64::NAN)
            .ns("wait", 2_500)
            .obj("checks", inner);
        assert_eq!(
            to_json(&o),
            "{\"name\":\"a\\\"b\\\\c\\n\\u0001\",\"rate\":1.5,\"nan\":null,\"wait_us\":2.5,\"checks\":{\"lost\":0,\"ok\":true}}\n"
        );
    }

    #[test]
    fn table_is_readable() {
        let mut o = Obj::new();
        o.int("clients", 10).ns("p99", 1_500_000);
        let t = to_table("fanout", &o);
        assert!(t.contains("clients"));
        assert!(t.contains("1.50ms"));
    }

    #[test]
    fn human_units() {
        assert_eq!(human_ns(999), "999ns");
        assert_eq!(human_ns(1_500), "1.5µs");
        assert_eq!(human_num(2_500_000.0), "2.50M");
        assert_eq!(human_num(12.0), "12");
    }
}
