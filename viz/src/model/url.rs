//! The page's URL is its state: `?scenario=leader-failover&seed=1&at=2816&acks=1`.
//!
//! `scenario` and `seed` pick the run, `at` is the cursor (a trace line index, so a reload
//! reopens exactly that frame), and every other parameter is a Kafka property set on top of
//! the scenario (`kafkasim run --set name=value`).

/// What a URL asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// The built-in scenario.
    pub scenario: Option<String>,
    /// The seed (default 1, as the CLI's).
    pub seed: Option<u64>,
    /// The cursor, as a line index.
    pub at: Option<usize>,
    /// Property overrides, `name=value`, in URL order.
    pub sets: Vec<String>,
    /// Parameters that could not be read, with why (shown, not silently dropped).
    pub problems: Vec<String>,
}

impl Query {
    /// Read a query string (`?a=b&c=d`, the `?` optional).
    pub fn parse(search: &str) -> Query {
        let mut q = Query::default();
        for pair in search
            .trim_start_matches('?')
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let (key, value) = (decode(key), decode(value));
            match key.as_str() {
                "scenario" => q.scenario = Some(value),
                "seed" => match value.parse() {
                    Ok(seed) => q.seed = Some(seed),
                    Err(_) => q.problems.push(format!(
                        "seed `{value}` is not a whole number from 0 to 18446744073709551615"
                    )),
                },
                "at" => match value.parse() {
                    Ok(at) => q.at = Some(at),
                    Err(_) => q
                        .problems
                        .push(format!("at `{value}` is not a line number")),
                },
                _ => q.sets.push(format!("{key}={value}")),
            }
        }
        q
    }

    /// The query string for this state (`?scenario=…&seed=…[&name=value…][&at=…]`).
    pub fn to_search(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.scenario {
            parts.push(format!("scenario={}", encode(s)));
        }
        if let Some(seed) = self.seed {
            parts.push(format!("seed={seed}"));
        }
        for set in &self.sets {
            let (k, v) = set.split_once('=').unwrap_or((set, ""));
            parts.push(format!("{}={}", encode(k), encode(v)));
        }
        if let Some(at) = self.at {
            parts.push(format!("at={at}"));
        }
        format!("?{}", parts.join("&"))
    }
}

/// Percent-decoding (`+` is a space, as forms write it); bad escapes stay as written.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(digit: u8) -> Option<u8> {
    (digit as char).to_digit(16).map(|d| d as u8)
}

/// Percent-encoding of everything but unreserved characters.
fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_reads_back_as_it_was_written() {
        let q = Query {
            scenario: Some("leader-failover".into()),
            seed: Some(7),
            at: Some(2816),
            sets: vec![
                "acks=1".into(),
                "unclean.leader.election.enable=true".into(),
            ],
            problems: Vec::new(),
        };
        assert_eq!(
            q.to_search(),
            "?scenario=leader-failover&seed=7&acks=1&unclean.leader.election.enable=true&at=2816"
        );
        assert_eq!(Query::parse(&q.to_search()), q);
    }

    #[test]
    fn escapes_and_bad_values_are_handled() {
        let q = Query::parse("?scenario=my%20run&seed=x&at=-1&acks=%2");
        assert_eq!(q.scenario.as_deref(), Some("my run"));
        assert_eq!(q.seed, None);
        assert_eq!(q.at, None);
        assert_eq!(q.sets, vec!["acks=%2"]);
        assert_eq!(q.problems.len(), 2);
        assert_eq!(Query::parse(""), Query::default());
    }
}
