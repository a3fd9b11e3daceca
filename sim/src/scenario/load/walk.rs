//! A walk over a parsed TOML document that remembers each key's path and span, so every error can name its key
//! and point at its line and column.

use std::fmt::Display;
use std::ops::Range;
use toml::de::{DeString, DeTable, DeValue};
use toml::Spanned;

/// Upper bound of Kafka's `int` config type.
pub(super) const INT: i128 = i32::MAX as i128;
/// Upper bound of Kafka's `long` config type, and of any TOML integer.
pub(super) const LONG: i128 = i64::MAX as i128;

/// An error before it knows its file: the byte span it points at, the key's path and the whole sentence.
#[derive(Debug)]
pub(super) struct Bad {
    pub span: Range<usize>,
    pub key: String,
    pub message: String,
}

pub(super) type Res<T> = Result<T, Bad>;

/// A TOML table with its key path (`topic[0]`, empty for the document) and the span of its header.
#[derive(Clone)]
pub(super) struct Table<'a, 'i> {
    path: String,
    span: Range<usize>,
    entries: &'a DeTable<'i>,
}

/// A TOML value with its key path (`broker."min.insync.replicas"`) and its span.
#[derive(Clone)]
pub(super) struct Value<'a, 'i> {
    key: String,
    span: Range<usize>,
    value: &'a DeValue<'i>,
}

impl<'a, 'i> Table<'a, 'i> {
    pub fn root(doc: &'a Spanned<DeTable<'i>>) -> Self {
        Table {
            path: String::new(),
            span: doc.span(),
            entries: doc.get_ref(),
        }
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn get(&self, key: &str) -> Option<Value<'a, 'i>> {
        let (_, value) = self.entries.iter().find(|(k, _)| k.get_ref() == key)?;
        Some(Value {
            key: join(&self.path, key),
            span: value.span(),
            value: value.get_ref(),
        })
    }

    pub fn opt<T>(&self, key: &str, read: impl FnOnce(&Value<'a, 'i>) -> Res<T>) -> Res<Option<T>> {
        self.get(key).map(|v| read(&v)).transpose()
    }

    pub fn or<T>(
        &self,
        key: &str,
        default: T,
        read: impl FnOnce(&Value<'a, 'i>) -> Res<T>,
    ) -> Res<T> {
        Ok(self.opt(key, read)?.unwrap_or(default))
    }

    pub fn req<T>(&self, key: &str, read: impl FnOnce(&Value<'a, 'i>) -> Res<T>) -> Res<T> {
        self.opt(key, read)?.ok_or_else(|| self.missing(key, ""))
    }

    /// A missing required key, pointed at the table's header (line 1 for the document itself).
    pub fn missing(&self, key: &str, why: &str) -> Bad {
        let path = join(&self.path, key);
        let message = format!("missing required key {path}{why}");
        Bad {
            span: self.span.clone(),
            key: path,
            message,
        }
    }

    /// An error about how several keys fit together, pointed at the first of `keys` the file sets (else the header).
    pub fn blame(&self, keys: &[&str], message: String) -> Bad {
        match keys.iter().find_map(|k| self.get(k)) {
            Some(v) => v.fail(message),
            None => Bad {
                span: self.span.clone(),
                key: self.path.clone(),
                message,
            },
        }
    }

    /// Rejects the first key (in file order) that is not in `valid`, listing the valid ones.
    pub fn only(&self, valid: &[&str]) -> Res<()> {
        let mut entries: Vec<_> = self.entries.iter().collect();
        entries.sort_by_key(|(k, _)| k.span().start);
        match entries
            .into_iter()
            .find(|(k, _)| !valid.contains(&k.get_ref().as_ref()))
        {
            Some((key, value)) => Err(self.unknown(key, value, valid)),
            None => Ok(()),
        }
    }

    fn unknown(
        &self,
        key: &Spanned<DeString<'i>>,
        value: &Spanned<DeValue<'i>>,
        valid: &[&str],
    ) -> Bad {
        let path = join(&self.path, key.get_ref());
        let hint = match dotted_name(key, value) {
            Some(name) => format!(
                ": Kafka's dotted names must be quoted, or TOML reads the dots as nested tables: \
                 write \"{name}\" = ..., not {name} = ..."
            ),
            None => String::new(),
        };
        let place = if self.path.is_empty() {
            "at the top level".to_owned()
        } else {
            format!("in {}", self.path)
        };
        let valid: Vec<String> = valid.iter().map(|k| show_key(k)).collect();
        let message = format!(
            "unknown key {path}{hint}; valid keys {place}: {}",
            valid.join(", ")
        );
        Bad {
            span: key.span(),
            key: path,
            message,
        }
    }
}

/// The name an unquoted dotted key was meant to be (`min.insync.replicas` for the key `min`), if `key` is one.
/// TOML gives the tables a dotted key creates the span of the key itself, unlike `[header]` or `{ inline }` tables.
fn dotted_name<'a, 'i>(
    key: &'a Spanned<DeString<'i>>,
    value: &'a Spanned<DeValue<'i>>,
) -> Option<String> {
    let mut name = key.get_ref().to_string();
    let (mut key, mut value) = (key, value);
    while let DeValue::Table(table) = value.get_ref() {
        if value.span() != key.span() {
            break;
        }
        (key, value) = table.iter().min_by_key(|(k, _)| k.span().start)?;
        name.push('.');
        name.push_str(key.get_ref());
    }
    name.contains('.').then_some(name)
}

impl<'a, 'i> Value<'a, 'i> {
    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn raw(&self) -> &'a DeValue<'i> {
        self.value
    }

    /// An error about this value whose message starts with its key.
    pub fn bad(&self, what: impl Display) -> Bad {
        self.fail(format!("{} {what}", self.key))
    }

    /// An error about this value with a message of the caller's own (which must name the key).
    pub fn fail(&self, message: String) -> Bad {
        Bad {
            span: self.span.clone(),
            key: self.key.clone(),
            message,
        }
    }

    pub fn wrong_type(&self, expected: &str) -> Bad {
        self.bad(format_args!(
            "must be {expected}, not {}",
            describe(self.value)
        ))
    }

    pub fn bool(&self) -> Res<bool> {
        self.value
            .as_bool()
            .ok_or_else(|| self.wrong_type("a boolean (true or false)"))
    }

    pub fn str(&self) -> Res<&'a str> {
        match self.value {
            DeValue::String(s) => Ok(s.as_ref()),
            _ => Err(self.wrong_type("a string")),
        }
    }

    /// The integer, or None for any other type. Wider than TOML's i64, so no conversion can fail here.
    pub fn as_integer(&self) -> Option<i128> {
        let int = self.value.as_integer()?;
        i128::from_str_radix(int.as_str(), int.radix()).ok()
    }

    pub fn integer(&self) -> Res<i128> {
        self.as_integer()
            .ok_or_else(|| self.wrong_type("an integer"))
    }

    /// An integer in `lo..=hi`, as `T` (every caller's range fits `T`).
    pub fn int_in<T: TryFrom<i128>>(&self, lo: i128, hi: i128) -> Res<T> {
        let n = self.integer()?;
        // Kafka's own bounds (INT, LONG) are noise beside a value that is too small, and vice versa.
        let kafka_bound = hi >= INT;
        if n < lo && kafka_bound {
            return Err(self.bad(format_args!("must be at least {lo}, got {n}")));
        }
        if n > hi && kafka_bound {
            return Err(self.bad(format_args!("must be at most {hi}, got {n}")));
        }
        if n < lo || n > hi {
            return Err(self.bad(format_args!("must be between {lo} and {hi}, got {n}")));
        }
        T::try_from(n).map_err(|_| self.bad(format_args!("is out of range, got {n}")))
    }

    /// A float; integers are accepted too, since `loss_rate = 0` is an integer in TOML.
    pub fn float(&self) -> Res<f64> {
        match self.value {
            DeValue::Float(f) => f.as_str().parse().map_err(|_| self.wrong_type("a number")),
            DeValue::Integer(_) => Ok(self.integer()? as f64),
            _ => Err(self.wrong_type("a number")),
        }
    }

    pub fn array(&self) -> Res<Vec<Value<'a, 'i>>> {
        let DeValue::Array(items) = self.value else {
            return Err(self.wrong_type("an array"));
        };
        let item = |(i, v): (usize, &'a Spanned<DeValue<'i>>)| Value {
            key: format!("{}[{i}]", self.key),
            span: v.span(),
            value: v.get_ref(),
        };
        Ok(items.iter().enumerate().map(item).collect())
    }

    pub fn table(&self) -> Res<Table<'a, 'i>> {
        match self.value {
            DeValue::Table(entries) => Ok(Table {
                path: self.key.clone(),
                span: self.span.clone(),
                entries,
            }),
            _ => Err(self.wrong_type("a table")),
        }
    }

    /// A range `[min, max]` of integers, each at least `lo`, with min <= max.
    pub fn range(&self, lo: i128) -> Res<(u64, u64)> {
        let items = self.array()?;
        let [a, b] = items.as_slice() else {
            let n = items.len();
            return Err(self.bad(format_args!(
                "must be a range [min, max] of two integers, got {n} items"
            )));
        };
        let (a, b): (u64, u64) = (a.int_in(lo, LONG)?, b.int_in(lo, LONG)?);
        if a > b {
            return Err(self.bad(format_args!(
                "must be a range [min, max] with min <= max, got [{a}, {b}]"
            )));
        }
        Ok((a, b))
    }
}

/// A key path: `a.b`, with keys that are not bare (Kafka's dotted names) quoted as TOML would.
pub(super) fn join(path: &str, key: &str) -> String {
    let key = show_key(key);
    if path.is_empty() {
        key
    } else {
        format!("{path}.{key}")
    }
}

pub(super) fn show_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_owned()
    } else {
        format!("{key:?}")
    }
}

fn describe(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(s) => format!("a string ({:?})", s.as_ref()),
        DeValue::Integer(i) => format!("an integer ({i})"),
        DeValue::Float(f) => format!("a float ({f})"),
        DeValue::Boolean(b) => format!("a boolean ({b})"),
        DeValue::Datetime(d) => format!("a datetime ({d})"),
        DeValue::Array(_) => "an array".to_owned(),
        DeValue::Table(_) => "a table".to_owned(),
    }
}
