//! The database settings and table prefix of a WordPress `wp-config.php`, read by walking its
//! PHP statements the way PHP would run them. Comments, strings and code that only PHP could
//! evaluate are never mistaken for the real values: what cannot be known without running PHP is
//! refused, naming the line, rather than guessed.
//!
//! The rules, after PHP's own:
//! - `define('NAME', value);` and `const NAME = value;` at top level define a constant; the
//!   FIRST definition wins (a second one is only a warning in PHP). `$table_prefix = value;` and
//!   `.=` follow the LAST assignment.
//! - Values are string literals (and decimal integers) joined with `.`, earlier constants, and
//!   `getenv('X')`, `$_ENV['X']` or `$_SERVER['X']` read from the sidecar's own environment.
//! - `if (!defined('X'))` and `if (defined('X'))` are decided from the constants defined so far;
//!   any other condition, loop, function or class body is not run, and a definition of one of
//!   our names inside it makes that name unknowable, as does an `include`/`require` (other than
//!   wp-settings.php) or a `define()` with a computed name before the name is settled.
//! - `require… 'wp-settings.php'`, `return`, `exit` and `die` end the configuration: WordPress
//!   has connected to its database by then.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use super::php_tokens::{tokenize, Tok, Token};
use super::{ConfigError, DbConfig, Secret};

/// What to set instead when the database cannot be read from wp-config.php.
pub const DB_HINT: &str = "CACHICAMO_DB_URL (or --db-url)";
/// What to set instead when the table prefix cannot be read from wp-config.php.
pub const PREFIX_HINT: &str = "CACHICAMO_TABLE_PREFIX (or --table-prefix)";

/// Looks up an environment variable; injectable so tests do not depend on the real one.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Where a value of wp-config.php came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A statement at this line: `statement` is `define`, `const` or `$table_prefix =`; `env`
    /// names what it read from the sidecar's environment, e.g. `getenv('DB_HOST')`.
    Line {
        line: usize,
        statement: &'static str,
        env: Vec<String>,
    },
    /// Not set in wp-config.php: WordPress's default.
    Default,
}

impl Origin {
    /// `define`, `getenv('X')` or `default`: how the value was obtained.
    pub fn via(&self) -> String {
        match self {
            Origin::Line { statement, env, .. } if env.is_empty() => (*statement).to_owned(),
            Origin::Line { env, .. } => env.join(" . "),
            Origin::Default => "default".to_owned(),
        }
    }

    pub fn line(&self) -> Option<usize> {
        match self {
            Origin::Line { line, .. } => Some(*line),
            Origin::Default => None,
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        match self.line() {
            Some(line) => serde_json::json!({"line": line, "via": self.via()}),
            None => serde_json::json!({"via": self.via()}),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Line { line, env, .. } if env.is_empty() => write!(f, "line {line}"),
            Origin::Line { line, env, .. } => {
                write!(
                    f,
                    "line {line} via {} from the sidecar's environment",
                    env.join(" and ")
                )
            }
            Origin::Default => f.write_str("not set, so the default"),
        }
    }
}

/// A value and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Sourced<T> {
    pub value: T,
    pub origin: Origin,
}

/// The database WordPress connects to.
#[derive(Clone, Debug, PartialEq)]
pub struct WpDatabase {
    pub name: Sourced<String>,
    pub user: Sourced<String>,
    pub password: Sourced<Secret>,
    pub host: Sourced<String>,
}

/// What the sidecar needs from `wp-config.php`. The database and the prefix are refused
/// separately, because a flag can replace either one.
#[derive(Debug)]
pub struct WpConfig {
    pub path: String,
    pub db: Result<WpDatabase, ConfigError>,
    pub table_prefix: Result<Sourced<String>, ConfigError>,
}

impl WpConfig {
    pub fn read(root: &Path) -> Result<Self, ConfigError> {
        let path = root.join("wp-config.php");
        let shown = path.display().to_string();
        let text = std::fs::read(&path).map_err(|source| ConfigError::WpConfigUnreadable {
            path: shown.clone(),
            source,
        })?;
        Self::parse_bytes(&text, &shown, &|name| std::env::var(name).ok())
    }

    /// Reads `text` with `getenv` and friends answered from the sidecar's environment.
    pub fn parse(text: &str, path: &str) -> Result<Self, ConfigError> {
        Self::parse_with_env(text, path, &|name| std::env::var(name).ok())
    }

    /// Fails only when the file cannot be read as PHP at all; each part may still be refused.
    pub fn parse_with_env(text: &str, path: &str, env: Env<'_>) -> Result<Self, ConfigError> {
        Self::parse_bytes(text.as_bytes(), path, env)
    }

    /// PHP reads bytes: a password that is not UTF-8 is refused, not silently altered.
    fn parse_bytes(text: &[u8], path: &str, env: Env<'_>) -> Result<Self, ConfigError> {
        let syntax = |line, message| ConfigError::WpConfigSyntax {
            path: path.to_owned(),
            line,
            message,
        };
        let toks = tokenize(text).map_err(|e| syntax(e.line, e.message))?;
        let mut walker = Walker {
            toks: &toks,
            env,
            consts: HashMap::new(),
            anything: None,
            prefix: Prefix::Unset,
        };
        walker
            .run(0, toks.len())
            .map_err(|e| syntax(e.line, e.message))?;
        Ok(walker.finish(path))
    }
}

impl WpDatabase {
    /// WordPress's DB_HOST may be `host`, `host:port` or `host:/path/to/socket`.
    pub fn db_config(&self) -> DbConfig {
        let mut builder = mysql_async::OptsBuilder::default()
            .user(Some(self.user.value.clone()))
            .pass(Some(self.password.value.expose().to_owned()))
            .db_name(Some(self.name.value.clone()));
        let (host, rest) = match self.host.value.split_once(':') {
            Some((h, r)) => (h, Some(r)),
            None => (self.host.value.as_str(), None),
        };
        let host = if host.is_empty() { "localhost" } else { host };
        builder = builder.ip_or_hostname(host.to_owned());
        match rest {
            Some(r) if r.starts_with('/') => builder = builder.socket(Some(r.to_owned())),
            Some(r) => {
                if let Ok(port) = r.parse::<u16>() {
                    builder = builder.tcp_port(port);
                }
            }
            None if host == "localhost" => {
                // PHP's mysqli reaches "localhost" through the default socket, not TCP.
                for sock in [
                    "/run/mysqld/mysqld.sock",
                    "/var/run/mysqld/mysqld.sock",
                    "/tmp/mysql.sock",
                ] {
                    if Path::new(sock).exists() {
                        builder = builder.socket(Some(sock.to_owned()));
                        break;
                    }
                }
            }
            None => {}
        }
        DbConfig {
            opts: builder.into(),
        }
    }
}

const DB_NAMES: [&str; 4] = ["DB_NAME", "DB_USER", "DB_PASSWORD", "DB_HOST"];

/// Why a value cannot be known without running PHP, and the line to look at. The reason names
/// constructs and variables, never a string's text, which may be a password.
#[derive(Clone, Debug, PartialEq)]
struct Refusal {
    line: usize,
    reason: String,
}

#[derive(Clone, Debug, PartialEq)]
struct Value {
    text: String,
    env: Vec<String>,
}

enum Const {
    Known {
        value: Value,
        line: usize,
        statement: &'static str,
    },
    /// Defined, with a value only PHP knows.
    Opaque(Refusal),
    /// Maybe defined, depending on code only PHP can run.
    Maybe(Refusal),
}

/// A constant as [`Walker::lookup`] sees it: known, or unknown and (true) surely defined.
enum Found<'a> {
    Known(&'a Value, usize, &'static str),
    Unknown(&'a Refusal, bool),
}

enum Prefix {
    Unset,
    Known { value: Value, line: usize },
    Opaque(Refusal),
}

/// A malformed file: brackets that do not match, a stray `else`.
struct Syntax {
    line: usize,
    message: String,
}

enum Flow {
    Continue,
    /// The configuration is over (wp-settings.php is loaded, or the script returns).
    Stop,
}

struct Branch {
    cond: Option<(usize, usize)>,
    body: (usize, usize),
}

struct Walker<'a> {
    toks: &'a [Token],
    env: Env<'a>,
    consts: HashMap<String, Const>,
    /// Set once code ran that may have defined constants we cannot name (an include, say).
    anything: Option<Refusal>,
    prefix: Prefix,
}

fn is_assign_op(p: &str) -> bool {
    p.ends_with('=') && !matches!(p, "==" | "===" | "!=" | "!==" | "<=" | ">=" | "<=>")
}

const INCLUDES: [&str; 5] = ["include", "include_once", "require", "require_once", "eval"];
const DECLARATIONS: [&str; 8] = [
    "function",
    "class",
    "interface",
    "trait",
    "enum",
    "abstract",
    "final",
    "readonly",
];
const COMPOUND: [&str; 7] = ["while", "for", "foreach", "switch", "do", "try", "declare"];

impl<'a> Walker<'a> {
    fn tok(&self, i: usize) -> Option<&'a Token> {
        self.toks.get(i)
    }

    fn line(&self, i: usize) -> usize {
        self.toks.get(i).or(self.toks.last()).map_or(1, |t| t.line)
    }

    fn syntax(&self, i: usize, message: impl Into<String>) -> Syntax {
        Syntax {
            line: self.line(i),
            message: message.into(),
        }
    }

    fn is_word(&self, i: usize, word: &str) -> bool {
        self.tok(i).is_some_and(|t| t.is_word(word))
    }

    fn is_punct(&self, i: usize, p: &str) -> bool {
        self.tok(i).is_some_and(|t| t.is_punct(p))
    }

    fn expect_punct(&self, i: usize, p: &str) -> Result<(), Syntax> {
        if self.is_punct(i, p) {
            Ok(())
        } else {
            Err(self.syntax(i, format!("expected `{p}`")))
        }
    }

    /// The index of the bracket closing the one at `i`.
    fn matching(&self, i: usize) -> Result<usize, Syntax> {
        let mut stack: Vec<&str> = Vec::new();
        for (k, t) in self.toks.iter().enumerate().skip(i) {
            match &t.tok {
                Tok::Punct(p @ ("(" | "[" | "{" | "#[")) => stack.push(p),
                Tok::Punct(p @ (")" | "]" | "}")) => {
                    let open = stack
                        .pop()
                        .ok_or_else(|| self.syntax(k, format!("unexpected `{p}`")))?;
                    let want = match open {
                        "(" => ")",
                        "{" => "}",
                        _ => "]",
                    };
                    if *p != want {
                        return Err(self.syntax(k, format!("`{p}` closes a `{open}`")));
                    }
                    if stack.is_empty() {
                        return Ok(k);
                    }
                }
                _ => {}
            }
            if stack.is_empty() {
                break;
            }
        }
        Err(self.syntax(i, "a bracket that is never closed"))
    }

    /// Index after an optional `;`/`?>` at `i`.
    fn after_terminator(&self, i: usize) -> usize {
        if self.tok(i).is_some_and(Token::ends_statement) {
            i + 1
        } else {
            i
        }
    }

    /// Index just after the statement starting at `i`.
    fn stmt_end(&self, i: usize) -> Result<usize, Syntax> {
        let Some(t) = self.tok(i) else { return Ok(i) };
        if t.ends_statement() {
            return Ok(i + 1);
        }
        if t.is_punct("{") {
            return Ok(self.matching(i)? + 1);
        }
        if t.is_punct("#[") {
            return self.stmt_end(self.matching(i)? + 1);
        }
        if t.is_word("if") {
            return Ok(self.if_branches(i)?.1);
        }
        if ["while", "for", "foreach", "switch", "declare"]
            .iter()
            .any(|w| t.is_word(w))
            && self.is_punct(i + 1, "(")
        {
            let j = self.matching(i + 1)? + 1;
            if !self.is_punct(j, ":") {
                return self.stmt_end(j);
            }
            let end_word = match &t.tok {
                Tok::Ident(w) => format!("end{}", w.trim_start_matches('\\').to_ascii_lowercase()),
                _ => String::new(),
            };
            let mut k = j + 1;
            while !self.is_word(k, &end_word) {
                if k >= self.toks.len() {
                    return Err(self.syntax(i, format!("no `{end_word}` for this block")));
                }
                k = self.stmt_end(k)?;
            }
            return Ok(self.after_terminator(k + 1));
        }
        if t.is_word("do") {
            let k = self.stmt_end(i + 1)?;
            if !self.is_word(k, "while") {
                return Err(self.syntax(k, "expected `while` after `do`"));
            }
            self.expect_punct(k + 1, "(")?;
            return Ok(self.after_terminator(self.matching(k + 1)? + 1));
        }
        if t.is_word("try") {
            self.expect_punct(i + 1, "{")?;
            let mut k = self.matching(i + 1)? + 1;
            while self.is_word(k, "catch") {
                self.expect_punct(k + 1, "(")?;
                let block = self.matching(k + 1)? + 1;
                self.expect_punct(block, "{")?;
                k = self.matching(block)? + 1;
            }
            if self.is_word(k, "finally") {
                self.expect_punct(k + 1, "{")?;
                k = self.matching(k + 1)? + 1;
            }
            return Ok(k);
        }
        let declaration = DECLARATIONS.iter().any(|w| t.is_word(w)) && !self.is_punct(i + 1, "(");
        let mut k = i;
        while let Some(t) = self.tok(k) {
            match &t.tok {
                Tok::Punct("{") if declaration => return Ok(self.matching(k)? + 1),
                Tok::Punct("(" | "[" | "{" | "#[") => k = self.matching(k)? + 1,
                // The end of the enclosing block, which this statement lacks a `;` before.
                Tok::Punct(")" | "]" | "}") => return Ok(k),
                _ if t.ends_statement() => return Ok(k + 1),
                _ => k += 1,
            }
        }
        Ok(k)
    }

    /// The branches of `if … elseif … else …`, in brace, single-statement or `:`…`endif` form,
    /// and the index after the whole statement.
    fn if_branches(&self, i: usize) -> Result<(Vec<Branch>, usize), Syntax> {
        let mut branches = Vec::new();
        self.expect_punct(i + 1, "(")?;
        let close = self.matching(i + 1)?;
        let mut cond = Some((i + 2, close));
        let mut k = close + 1;
        if self.is_punct(k, ":") {
            loop {
                let start = k + 1;
                let mut end = start;
                while !(self.is_word(end, "elseif")
                    || self.is_word(end, "else")
                    || self.is_word(end, "endif"))
                {
                    if end >= self.toks.len() {
                        return Err(self.syntax(i, "no `endif` for this `if`"));
                    }
                    end = self.stmt_end(end)?;
                }
                branches.push(Branch {
                    cond: cond.take(),
                    body: (start, end),
                });
                if self.is_word(end, "endif") {
                    return Ok((branches, self.after_terminator(end + 1)));
                }
                if self.is_word(end, "elseif") {
                    self.expect_punct(end + 1, "(")?;
                    let close = self.matching(end + 1)?;
                    cond = Some((end + 2, close));
                    k = close + 1;
                } else {
                    k = end + 1;
                }
                self.expect_punct(k, ":")?;
            }
        }
        loop {
            let end = self.stmt_end(k)?;
            branches.push(Branch {
                cond: cond.take(),
                body: (k, end),
            });
            if self.is_word(end, "elseif") {
                self.expect_punct(end + 1, "(")?;
                let close = self.matching(end + 1)?;
                cond = Some((end + 2, close));
                k = close + 1;
            } else if self.is_word(end, "else") {
                // `else if (…)` is an `if` statement as the else branch, which stmt_end covers.
                let body_end = self.stmt_end(end + 1)?;
                branches.push(Branch {
                    cond: None,
                    body: (end + 1, body_end),
                });
                return Ok((branches, body_end));
            } else {
                return Ok((branches, end));
            }
        }
    }

    /// Runs the statements in `[i, end)`.
    fn run(&mut self, mut i: usize, end: usize) -> Result<Flow, Syntax> {
        while i < end {
            let (next, flow) = self.statement(i)?;
            if let Flow::Stop = flow {
                return Ok(Flow::Stop);
            }
            if next <= i {
                return Err(self.syntax(i, "unexpected token"));
            }
            i = next;
        }
        Ok(Flow::Continue)
    }

    fn statement(&mut self, i: usize) -> Result<(usize, Flow), Syntax> {
        let Some(t) = self.tok(i) else {
            return Ok((i + 1, Flow::Continue));
        };
        let line = t.line;
        if t.ends_statement() {
            return Ok((i + 1, Flow::Continue));
        }
        if t.is_punct("{") {
            let close = self.matching(i)?;
            let flow = self.run(i + 1, close)?;
            return Ok((close + 1, flow));
        }
        if t.is_word("if") {
            return self.run_if(i);
        }
        if t.is_word("define") && self.is_punct(i + 1, "(") {
            let close = self.matching(i + 1)?;
            if self.tok(close + 1).is_some_and(Token::ends_statement) {
                let args = self.split_commas(i + 2, close)?;
                self.define(&args, line, "define");
                return Ok((close + 2, Flow::Continue));
            }
        }
        if t.is_word("const") {
            let end = self.stmt_end(i)?;
            let stop = if self.tok(end - 1).is_some_and(Token::ends_statement) {
                end - 1
            } else {
                end
            };
            for (a, b) in self.split_commas(i + 1, stop)? {
                let name = match self.tok(a) {
                    Some(Token {
                        tok: Tok::Ident(n), ..
                    }) if self.is_punct(a + 1, "=") => n.clone(),
                    _ => return Err(self.syntax(a, "expected `NAME = value` after `const`")),
                };
                let value = self.eval(a + 2, b);
                self.set_const(name, value, self.line(a), "const");
            }
            return Ok((end, Flow::Continue));
        }
        if let (Tok::Var(v), Some(Tok::Punct(op))) = (&t.tok, self.tok(i + 1).map(|t| &t.tok)) {
            if v == "table_prefix" && is_assign_op(op) {
                let op = *op;
                let end = self.stmt_end(i)?;
                let stop = if self.tok(end - 1).is_some_and(Token::ends_statement) {
                    end - 1
                } else {
                    end
                };
                self.assign_prefix(op, i + 2, stop, line);
                return Ok((end, Flow::Continue));
            }
        }
        if let Some(word) = INCLUDES.iter().find(|w| t.is_word(w)) {
            let end = self.stmt_end(i)?;
            let loads_wordpress = self.toks[i..end].iter().rev().find_map(|t| match &t.tok {
                Tok::Str(Ok(s)) => Some(s.ends_with("wp-settings.php")),
                _ => None,
            });
            if *word != "eval" && loads_wordpress == Some(true) {
                return Ok((end, Flow::Stop));
            }
            self.include(line, word);
            return Ok((end, Flow::Continue));
        }
        if ["return", "exit", "die"].iter().any(|w| t.is_word(w)) {
            return Ok((self.stmt_end(i)?, Flow::Stop));
        }
        if [
            "else",
            "elseif",
            "endif",
            "endwhile",
            "endfor",
            "endforeach",
            "endswitch",
            "enddeclare",
        ]
        .iter()
        .any(|w| t.is_word(w))
            || t.is_punct("}")
        {
            return Err(self.syntax(i, "unexpected token"));
        }
        let end = self.stmt_end(i)?;
        let context = if DECLARATIONS.iter().any(|w| t.is_word(w)) || t.is_punct("#[") {
            "inside a function or class, which runs only if it is called"
        } else if COMPOUND.iter().any(|w| t.is_word(w)) {
            "inside a loop, switch or try block"
        } else {
            "inside an expression PHP decides at run time"
        };
        self.taint(i, end, context);
        Ok((end, Flow::Continue))
    }

    /// Runs the branch PHP would take when the conditions are `defined()` checks; from the first
    /// other condition on, every remaining branch may or may not run.
    fn run_if(&mut self, i: usize) -> Result<(usize, Flow), Syntax> {
        let (branches, end) = self.if_branches(i)?;
        let line = self.line(i);
        let mut dynamic = false;
        for b in branches {
            let take = match b.cond {
                _ if dynamic => None,
                None => Some(true),
                Some((a, z)) => self.static_condition(a, z),
            };
            match take {
                Some(true) => return Ok((end, self.run(b.body.0, b.body.1)?)),
                Some(false) => {}
                None => {
                    dynamic = true;
                    let from = b.cond.map_or(b.body.0, |c| c.0);
                    self.taint(from, b.body.1, &format!("inside the `if` at line {line}, whose condition PHP decides at run time"));
                }
            }
        }
        Ok((end, Flow::Continue))
    }

    /// `defined('X')` or `!defined('X')`, with any parentheses, decided from the constants so far.
    fn static_condition(&self, mut a: usize, mut z: usize) -> Option<bool> {
        let mut negate = false;
        loop {
            if self.is_punct(a, "(") && self.matching(a).ok() == Some(z.checked_sub(1)?) {
                a += 1;
                z -= 1;
            } else if self.is_punct(a, "!") {
                negate = !negate;
                a += 1;
            } else {
                break;
            }
        }
        if z != a + 4
            || !self.is_word(a, "defined")
            || !self.is_punct(a + 1, "(")
            || !self.is_punct(a + 3, ")")
        {
            return None;
        }
        let Some(Tok::Str(Ok(name))) = self.tok(a + 2).map(|t| &t.tok) else {
            return None;
        };
        let defined = match self.lookup(name) {
            None => false,
            Some(Found::Known(..) | Found::Unknown(_, true)) => true,
            Some(Found::Unknown(_, false)) => return None,
        };
        Some(defined != negate)
    }

    /// Splits `[a, z)` at top-level commas.
    fn split_commas(&self, a: usize, z: usize) -> Result<Vec<(usize, usize)>, Syntax> {
        let mut parts = Vec::new();
        let (mut start, mut k) = (a, a);
        while k < z {
            match self.tok(k).map(|t| &t.tok) {
                Some(Tok::Punct("(" | "[" | "{" | "#[")) => k = self.matching(k)? + 1,
                Some(Tok::Punct(",")) => {
                    parts.push((start, k));
                    k += 1;
                    start = k;
                }
                _ => k += 1,
            }
        }
        if start < z || !parts.is_empty() {
            parts.push((start, z));
        }
        Ok(parts)
    }

    fn lookup(&self, name: &str) -> Option<Found<'_>> {
        match self.consts.get(name) {
            Some(Const::Known {
                value,
                line,
                statement,
            }) => Some(Found::Known(value, *line, statement)),
            Some(Const::Opaque(r)) => Some(Found::Unknown(r, true)),
            Some(Const::Maybe(r)) => Some(Found::Unknown(r, false)),
            // After an include, any constant not named yet may have been defined there.
            None => self.anything.as_ref().map(|r| Found::Unknown(r, false)),
        }
    }

    fn define(&mut self, args: &[(usize, usize)], line: usize, statement: &'static str) {
        let name = match args.first().map(|&(a, z)| self.eval(a, z)) {
            Some(Ok(name)) => name.text,
            _ => {
                self.anything.get_or_insert(Refusal {
                    line,
                    reason: "a define() whose name cannot be read without running PHP could define it first".into(),
                });
                return;
            }
        };
        let value = match args.get(1) {
            Some(&(a, z)) => self.eval(a, z),
            None => Err(Refusal {
                line,
                reason: "its define() has no value".into(),
            }),
        };
        self.set_const(name, value, line, statement);
    }

    /// The first definition wins, as in PHP.
    fn set_const(
        &mut self,
        name: String,
        value: Result<Value, Refusal>,
        line: usize,
        statement: &'static str,
    ) {
        if self.consts.contains_key(&name) {
            return;
        }
        let state = match (self.anything.clone(), value) {
            // An earlier include may have defined it already, making this one a no-op.
            (Some(r), _) => Const::Maybe(r),
            (None, Ok(value)) => Const::Known {
                value,
                line,
                statement,
            },
            (None, Err(r)) => Const::Opaque(r),
        };
        self.consts.insert(name, state);
    }

    fn assign_prefix(&mut self, op: &str, a: usize, z: usize, line: usize) {
        let rhs = self.eval(a, z);
        self.prefix = match (op, rhs, &self.prefix) {
            ("=", Ok(value), _) => Prefix::Known { value, line },
            // `.=` on an unset variable starts from "" (with a PHP warning).
            (".=", Ok(rhs), Prefix::Unset) => Prefix::Known { value: rhs, line },
            (".=", Ok(rhs), Prefix::Known { value, .. }) => {
                let mut env = value.env.clone();
                env.extend(rhs.env);
                Prefix::Known {
                    value: Value {
                        text: format!("{}{}", value.text, rhs.text),
                        env,
                    },
                    line,
                }
            }
            (".=", Ok(_), Prefix::Opaque(r)) => Prefix::Opaque(r.clone()),
            ("=" | ".=", Err(r), _) => Prefix::Opaque(r),
            (op, _, _) => Prefix::Opaque(Refusal {
                line,
                reason: format!("it is assigned with `{op}`"),
            }),
        };
    }

    fn include(&mut self, line: usize, word: &str) {
        let refusal = Refusal {
            line,
            reason: format!("the `{word}` here runs other PHP code first, which could set it"),
        };
        self.anything.get_or_insert_with(|| refusal.clone());
        self.prefix = Prefix::Opaque(refusal);
    }

    /// Code in `[a, z)` may or may not run: whatever of ours it could set becomes unknowable.
    fn taint(&mut self, a: usize, z: usize, context: &str) {
        let toks = self.toks;
        let z = z.min(toks.len());
        for (k, t) in toks.iter().enumerate().take(z).skip(a) {
            let line = t.line;
            if t.is_word("define") && self.is_punct(k + 1, "(") {
                let name = match (self.tok(k + 2).map(|t| &t.tok), self.tok(k + 3)) {
                    (Some(Tok::Str(Ok(name))), Some(next))
                        if next.is_punct(",") || next.is_punct(")") =>
                    {
                        Some(name.clone())
                    }
                    _ => None,
                };
                match name {
                    Some(name) if !self.consts.contains_key(&name) && self.anything.is_none() => {
                        let reason = format!("it is defined {context}");
                        self.consts
                            .insert(name, Const::Maybe(Refusal { line, reason }));
                    }
                    Some(_) => {}
                    None => {
                        self.anything.get_or_insert(Refusal {
                            line,
                            reason: format!(
                                "a define() with a computed name {context} could define it first"
                            ),
                        });
                    }
                }
            } else if let Some(word) = INCLUDES.iter().find(|w| t.is_word(w)) {
                self.include(line, word);
            } else if let Tok::Var(v) = &t.tok {
                let writes_prefix = match (v.as_str(), self.tok(k + 1).map(|t| &t.tok)) {
                    ("table_prefix", Some(Tok::Punct(op))) => is_assign_op(op),
                    ("GLOBALS", Some(Tok::Punct("["))) => {
                        matches!(self.tok(k + 2).map(|t| &t.tok), Some(Tok::Str(Ok(s))) if s == "table_prefix")
                    }
                    _ => false,
                };
                if writes_prefix {
                    self.prefix = Prefix::Opaque(Refusal {
                        line,
                        reason: format!("it is assigned {context}"),
                    });
                }
            }
        }
    }

    /// A value made of string literals, integers, earlier constants and environment variables
    /// joined with `.`.
    fn eval(&self, a: usize, z: usize) -> Result<Value, Refusal> {
        // An operator other than `.` (a ternary, say) is the real obstacle: name it rather than
        // an unset variable in front of it.
        let mut k = a;
        while k < z {
            match self.tok(k).map(|t| &t.tok) {
                Some(Tok::Punct("(" | "[")) => {
                    k = self.matching(k).map_err(|_| self.unexpected(k))? + 1
                }
                Some(Tok::Punct(".")) => k += 1,
                Some(Tok::Punct(_)) => return Err(self.unexpected(k)),
                _ => k += 1,
            }
        }
        let mut k = a;
        let value = self.concat(&mut k, z)?;
        if k < z {
            return Err(self.unexpected(k));
        }
        Ok(value)
    }

    fn concat(&self, k: &mut usize, z: usize) -> Result<Value, Refusal> {
        let mut value = self.term(k, z)?;
        while *k < z && self.is_punct(*k, ".") {
            *k += 1;
            let next = self.term(k, z)?;
            value.text.push_str(&next.text);
            value.env.extend(next.env);
        }
        Ok(value)
    }

    fn refuse(&self, k: usize, reason: String) -> Refusal {
        Refusal {
            line: self.line(k),
            reason,
        }
    }

    fn unexpected(&self, k: usize) -> Refusal {
        let what = match self.tok(k).map(|t| &t.tok) {
            None => "nothing where a value belongs".to_owned(),
            Some(Tok::Punct("?")) => "a ternary `? :`".to_owned(),
            Some(Tok::Punct("??")) => "a `??` fallback".to_owned(),
            Some(Tok::Punct(p)) => format!("the operator `{p}`"),
            Some(Tok::Close) => "`?>`".to_owned(),
            Some(Tok::Var(v)) => format!("the variable ${v}"),
            Some(Tok::Ident(w)) => format!("`{w}`"),
            Some(Tok::Num(_)) => "a number".to_owned(),
            Some(Tok::Str(_)) => "a string after a value".to_owned(),
        };
        self.refuse(k, format!("its value uses {what}"))
    }

    fn term(&self, k: &mut usize, z: usize) -> Result<Value, Refusal> {
        let i = *k;
        if i >= z {
            return Err(self.unexpected(i));
        }
        let plain = |text: String| Value {
            text,
            env: Vec::new(),
        };
        let tok = &self.toks[i].tok;
        *k += 1;
        match tok {
            Tok::Str(Ok(s)) => Ok(plain(s.clone())),
            Tok::Str(Err(why)) => Err(self.refuse(i, format!("its value is {why}"))),
            Tok::Num(n) if n.bytes().all(|b| b.is_ascii_digit() || b == b'_') => {
                Ok(plain(n.replace('_', "")))
            }
            Tok::Punct("(") => {
                let close = self.matching(i).map_err(|_| self.unexpected(i))?;
                if close >= z {
                    return Err(self.unexpected(i));
                }
                *k = close + 1;
                self.eval(i + 1, close)
            }
            Tok::Ident(w) if self.is_punct(i + 1, "(") => {
                let close = self.matching(i + 1).map_err(|_| self.unexpected(i))?;
                let name = w.trim_start_matches('\\');
                if !name.eq_ignore_ascii_case("getenv") || close >= z {
                    return Err(self.refuse(
                        i,
                        format!("its value calls {name}(), which only PHP can run"),
                    ));
                }
                *k = close + 1;
                let args = self
                    .split_commas(i + 2, close)
                    .map_err(|_| self.unexpected(i))?;
                let [(a, b)] = args[..] else {
                    return Err(self.refuse(
                        i,
                        "its value calls getenv() with other than one name".into(),
                    ));
                };
                let var = self.eval(a, b)?.text;
                self.read_env(i, &var, format!("getenv('{var}')"))
            }
            Tok::Ident(w) if self.is_punct(i + 1, "::") => {
                Err(self.refuse(i, format!("its value uses the class constant {w}::…")))
            }
            Tok::Ident(w) => {
                let lower = w.to_ascii_lowercase();
                if matches!(lower.as_str(), "true" | "false" | "null") {
                    return Err(self.refuse(i, format!("its value is `{w}`, not a string")));
                }
                if w.starts_with("__") && w.ends_with("__") {
                    return Err(self.refuse(i, format!("its value uses {w}")));
                }
                match self.lookup(w.trim_start_matches('\\')) {
                    Some(Found::Known(value, ..)) => Ok(value.clone()),
                    Some(_) => Err(self.refuse(i, format!("its value uses the constant {w}, which cannot be read without running PHP either"))),
                    None => Err(self.refuse(i, format!("its value uses {w}, which is not defined before it"))),
                }
            }
            Tok::Var(v) if (v == "_ENV" || v == "_SERVER") && self.is_punct(i + 1, "[") => {
                let close = self.matching(i + 1).map_err(|_| self.unexpected(i))?;
                if close >= z {
                    return Err(self.unexpected(i));
                }
                *k = close + 1;
                let var = self.eval(i + 2, close)?.text;
                self.read_env(i, &var, format!("${v}['{var}']"))
            }
            Tok::Var(v) => Err(self.refuse(i, format!("its value uses the variable ${v}"))),
            _ => Err(self.unexpected(i)),
        }
    }

    fn read_env(&self, i: usize, var: &str, shown: String) -> Result<Value, Refusal> {
        match (self.env)(var) {
            Some(text) => Ok(Value { text, env: vec![shown] }),
            None => Err(self.refuse(
                i,
                format!("its value reads {shown}, which is not set in the sidecar's environment (set {var} for the sidecar too)"),
            )),
        }
    }

    fn finish(self, path: &str) -> WpConfig {
        let unresolvable = |name: &'static str, r: &Refusal, hint: &'static str| {
            ConfigError::WpConfigUnresolvable {
                path: path.to_owned(),
                line: r.line,
                name,
                reason: r.reason.clone(),
                hint,
            }
        };
        let get = |name: &'static str| -> Result<Sourced<String>, ConfigError> {
            match self.lookup(name) {
                Some(Found::Known(value, line, statement)) => Ok(Sourced {
                    value: value.text.clone(),
                    origin: Origin::Line {
                        line,
                        statement,
                        env: value.env.clone(),
                    },
                }),
                Some(Found::Unknown(r, _)) => Err(unresolvable(name, r, DB_HINT)),
                None if name == "DB_HOST" => Ok(Sourced {
                    value: "localhost".into(),
                    origin: Origin::Default,
                }),
                None => Err(ConfigError::WpConfigMissing {
                    path: path.to_owned(),
                    name,
                    hint: DB_HINT,
                }),
            }
        };
        let [name, user, password, host] = DB_NAMES;
        let db = (|| {
            Ok(WpDatabase {
                name: get(name)?,
                user: get(user)?,
                password: get(password).map(|s| Sourced {
                    value: Secret::new(s.value),
                    origin: s.origin,
                })?,
                host: get(host)?,
            })
        })();
        let table_prefix = match &self.prefix {
            Prefix::Unset => Ok(Sourced {
                value: "wp_".into(),
                origin: Origin::Default,
            }),
            Prefix::Known { value, line } => Ok(Sourced {
                value: value.text.clone(),
                origin: Origin::Line {
                    line: *line,
                    statement: "$table_prefix =",
                    env: value.env.clone(),
                },
            }),
            Prefix::Opaque(r) => Err(unresolvable("$table_prefix", r, PREFIX_HINT)),
        };
        WpConfig {
            path: path.to_owned(),
            db,
            table_prefix,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/srv/shop/wp-config.php";

    fn parse_env(text: &str, env: &[(&str, &str)]) -> WpConfig {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        WpConfig::parse_with_env(text, PATH, &|name| env.get(name).cloned()).expect("readable PHP")
    }

    fn parse(text: &str) -> WpConfig {
        parse_env(text, &[])
    }

    fn db(text: &str) -> WpDatabase {
        parse(text).db.expect("the database is readable")
    }

    fn db_err(text: &str) -> String {
        parse(text)
            .db
            .expect_err("the database must be refused")
            .to_string()
    }

    fn prefix(text: &str) -> Sourced<String> {
        parse(text).table_prefix.expect("the prefix is readable")
    }

    /// The other three settings, so each test writes only what it is about.
    const REST: &str = "define( 'DB_USER', 'shopuser' );\ndefine( 'DB_PASSWORD', 'hunter2' );\ndefine( 'DB_HOST', '127.0.0.1:3307' );\n";

    fn with_rest(head: &str) -> String {
        format!("<?php\n{head}\n{REST}")
    }

    fn line(n: usize, statement: &'static str) -> Origin {
        Origin::Line {
            line: n,
            statement,
            env: Vec::new(),
        }
    }

    #[test]
    fn a_stock_wp_config() {
        let text = r#"<?php
/**
 * The base configuration for WordPress
 *
 * define( 'DB_NAME', 'in_a_docblock' );
 */
define( 'DB_NAME', 'shop' );
define('DB_USER', "shopuser");
define( 'DB_PASSWORD', 'p\'ss"w0rd' );
define( 'DB_HOST', '127.0.0.1:3307' );
define( 'DB_CHARSET', 'utf8mb4' );
define( 'AUTH_KEY', 'put your unique phrase here' );
$table_prefix = 'wpx_';
define( 'WP_DEBUG', false );
if ( ! defined( 'ABSPATH' ) ) {
	define( 'ABSPATH', __DIR__ . '/' );
}
require_once ABSPATH . 'wp-settings.php';
"#;
        let wp = parse(text);
        let db = wp.db.expect("db");
        assert_eq!(
            db.name,
            Sourced {
                value: "shop".into(),
                origin: line(7, "define")
            }
        );
        assert_eq!(db.user.value, "shopuser");
        assert_eq!(db.password.value.expose(), "p'ss\"w0rd");
        assert_eq!(db.host.value, "127.0.0.1:3307");
        assert_eq!(
            wp.table_prefix.expect("prefix"),
            Sourced {
                value: "wpx_".into(),
                origin: line(13, "$table_prefix =")
            }
        );
        let opts = db.db_config().opts;
        assert_eq!(opts.tcp_port(), 3307);
        assert_eq!(opts.db_name(), Some("shop"));
        assert_eq!(
            format!("{db:?}").matches("w0rd").count(),
            0,
            "the password is masked"
        );
    }

    #[test]
    fn a_line_comment_is_not_a_define() {
        let db = db(&with_rest(
            "// define( 'DB_NAME', 'shop_staging' );\ndefine( 'DB_NAME', 'shop' );",
        ));
        assert_eq!(
            db.name,
            Sourced {
                value: "shop".into(),
                origin: line(3, "define")
            }
        );
    }

    #[test]
    fn a_block_comment_is_not_a_define() {
        let db = db(&with_rest("/* staging:\ndefine( 'DB_NAME', 'shop_staging' );\n*/ define( 'DB_NAME', 'shop' ); /* define('DB_USER', 'x'); */"));
        assert_eq!(db.name.value, "shop");
        assert_eq!(db.name.origin.line(), Some(4));
        assert_eq!(db.user.value, "shopuser");
    }

    #[test]
    fn a_hash_comment_is_not_a_define_but_an_attribute_is_code() {
        let db = db(&with_rest("# define( 'DB_NAME', 'shop_staging' );\n#define('DB_NAME', 'x');\ndefine( 'DB_NAME', 'shop' );"));
        assert_eq!(db.name.value, "shop");
        // `#[` opens an attribute, not a comment, so the define after it on the line is real.
        let db2 = db_err(&with_rest(
            "#[Attr] function f() { define('DB_NAME', 'x'); }\ndefine( 'DB_NAME', 'shop' );",
        ));
        assert!(db2.contains("inside a function"), "{db2}");
    }

    #[test]
    fn a_commented_prefix_is_not_the_prefix() {
        let text = "<?php\n// $table_prefix = 'staging_';\n# $table_prefix = 'old_';\n/* $table_prefix = 'x_'; */\n$table_prefix = 'wp2_'; // $table_prefix = 'y_';\n";
        assert_eq!(
            prefix(text),
            Sourced {
                value: "wp2_".into(),
                origin: line(5, "$table_prefix =")
            }
        );
        assert_eq!(
            prefix("<?php // $table_prefix = 'staging_';\n"),
            Sourced {
                value: "wp_".into(),
                origin: Origin::Default
            }
        );
    }

    #[test]
    fn the_close_tag_ends_a_line_comment() {
        let after_tag = db(&with_rest("// note ?>\n<?php define( 'DB_NAME', 'shop' );"));
        assert_eq!(after_tag.name.value, "shop");
        let html = db(&with_rest(
            "?>\ndefine( 'DB_NAME', 'in_html' );\n<?php define( 'DB_NAME', 'shop' );",
        ));
        assert_eq!(html.name.value, "shop");
    }

    #[test]
    fn concatenation_and_earlier_constants() {
        let text =
            with_rest("define( 'BASE', 'sh' );\ndefine( 'DB_NAME', BASE . \"o\" . ('p' . 2) );");
        assert_eq!(
            db(&text).name,
            Sourced {
                value: "shop2".into(),
                origin: line(3, "define")
            }
        );
        assert_eq!(
            prefix("<?php $table_prefix = 'wp' . '_';\n$table_prefix .= 'x_';").value,
            "wp_x_"
        );
        let c = db(&with_rest("const DB_NAME = 'a' . 'b', OTHER = 'c';"));
        assert_eq!(
            c.name,
            Sourced {
                value: "ab".into(),
                origin: line(2, "const")
            }
        );
    }

    #[test]
    fn getenv_is_read_from_the_sidecars_environment() {
        let text = "<?php\ndefine( 'DB_NAME', getenv( 'SHOP_DB' ) );\ndefine( 'DB_USER', $_ENV['SHOP_USER'] );\ndefine( 'DB_PASSWORD', $_SERVER[\"SHOP_PASS\"] );\ndefine( 'DB_HOST', 'db:' . getenv('SHOP_PORT') );\n$table_prefix = getenv('SHOP_PREFIX');";
        let wp = parse_env(
            text,
            &[
                ("SHOP_DB", "shop"),
                ("SHOP_USER", "u"),
                ("SHOP_PASS", "secret"),
                ("SHOP_PORT", "3310"),
                ("SHOP_PREFIX", "p_"),
            ],
        );
        let db = wp.db.expect("db");
        assert_eq!(db.name.value, "shop");
        assert_eq!(
            db.name.origin,
            Origin::Line {
                line: 2,
                statement: "define",
                env: vec!["getenv('SHOP_DB')".into()]
            }
        );
        assert_eq!(db.name.origin.via(), "getenv('SHOP_DB')");
        assert_eq!(db.user.origin.via(), "$_ENV['SHOP_USER']");
        assert_eq!(db.password.value.expose(), "secret");
        assert_eq!(db.host.value, "db:3310");
        assert_eq!(
            db.host.origin.to_string(),
            "line 5 via getenv('SHOP_PORT') from the sidecar's environment"
        );
        assert_eq!(wp.table_prefix.expect("prefix").value, "p_");

        let unset = parse_env(
            text,
            &[
                ("SHOP_USER", "u"),
                ("SHOP_PASS", "secret"),
                ("SHOP_PORT", "3310"),
            ],
        );
        let err = unset.db.expect_err("SHOP_DB is unset").to_string();
        assert!(
            err.starts_with(&format!("{PATH} line 2: DB_NAME cannot be read")),
            "{err}"
        );
        assert!(
            err.contains("getenv('SHOP_DB'), which is not set in the sidecar's environment"),
            "{err}"
        );
        assert!(err.contains("CACHICAMO_DB_URL"), "{err}");
        let err = unset
            .table_prefix
            .expect_err("SHOP_PREFIX is unset")
            .to_string();
        assert!(
            err.contains("line 6: $table_prefix") && err.contains("CACHICAMO_TABLE_PREFIX"),
            "{err}"
        );
    }

    #[test]
    fn escaped_quotes() {
        let text = r#"<?php
define( 'DB_NAME', 'it\'s \\ \n' );
define( 'DB_USER', "say \"hi\" \$5 \\ \t" );
define( 'DB_PASSWORD', "a\x41\101" );
"#;
        let db = db(text);
        assert_eq!(db.name.value, r"it's \ \n");
        assert_eq!(db.user.value, "say \"hi\" $5 \\ \t");
        assert_eq!(db.password.value.expose(), "aAA");
    }

    #[test]
    fn heredoc_and_nowdoc_values() {
        let text = "<?php\ndefine( 'DB_NAME', <<<EOT\n  shop\n  EOT );\ndefine( 'DB_USER', <<<'EOT'\nu$er\nEOT\n);\ndefine( 'DB_PASSWORD', 'x' );";
        let db = db(text);
        assert_eq!(db.name.value, "shop");
        assert_eq!(db.user.value, "u$er");
        assert_eq!(
            db.host,
            Sourced {
                value: "localhost".into(),
                origin: Origin::Default
            }
        );
    }

    #[test]
    fn the_first_define_wins_and_the_last_prefix() {
        let text = with_rest("define( 'DB_NAME', 'shop' );\ndefine( 'DB_NAME', 'shop_staging' );\n$table_prefix = 'a_';\n$table_prefix = 'b_';");
        let wp = parse(&text);
        assert_eq!(
            wp.db.expect("db").name,
            Sourced {
                value: "shop".into(),
                origin: line(2, "define")
            }
        );
        assert_eq!(
            wp.table_prefix.expect("prefix"),
            Sourced {
                value: "b_".into(),
                origin: line(5, "$table_prefix =")
            }
        );
        // The first define counts even when a later one is simpler to read.
        assert_eq!(
            db(&with_rest(
                "define( 'DB_NAME', 'sh' . 'op' );\ndefine( 'DB_NAME', 'shop_staging' );"
            ))
            .name
            .value,
            "shop"
        );
        // A later define is ignored even when PHP could not evaluate it.
        assert_eq!(
            db(&with_rest(
                "define( 'DB_NAME', 'shop' );\ndefine( 'DB_NAME', $other );"
            ))
            .name
            .value,
            "shop"
        );
    }

    #[test]
    fn defined_guards_are_decided() {
        let guarded = db(&with_rest("if ( ! defined( 'DB_NAME' ) ) {\n    define( 'DB_NAME', 'shop' );\n}\nif (!defined('DB_NAME')) define('DB_NAME', 'again');"));
        assert_eq!(
            guarded.name,
            Sourced {
                value: "shop".into(),
                origin: line(3, "define")
            }
        );
        let alt = db(&with_rest("define('X', 1);\nif ( ! defined( 'X' ) ):\n define('DB_NAME', 'no');\nelse:\n define('DB_NAME', 'yes');\nendif;"));
        assert_eq!(alt.name.value, "yes");
        let elseif = db(&with_rest("if (defined('NOPE')) { define('DB_NAME', 'no'); } elseif (!defined('NOPE')) { define('DB_NAME', 'yes'); } else { define('DB_NAME', 'never'); }"));
        assert_eq!(elseif.name.value, "yes");
    }

    #[test]
    fn an_unresolvable_value_is_refused_with_its_line() {
        // (statement from line 3 on, the line blamed, the reason given)
        let cases = [
            ("define( 'DB_NAME', $name );", 3, "the variable $name"),
            ("define( 'DB_NAME', getenv_docker( 'WORDPRESS_DB_NAME', 'wp' ) );", 3, "calls getenv_docker()"),
            ("define( 'DB_NAME', getenv('A') ?: 'shop' );", 3, "a ternary"),
            ("define( 'DB_NAME', \"shop_$env\" );", 3, "a double-quoted string with a $variable in it"),
            ("define( 'DB_NAME', UNDEFINED_THING );", 3, "UNDEFINED_THING, which is not defined before it"),
            ("if ( $_SERVER['HTTP_HOST'] === 'staging' ) {\n define( 'DB_NAME', 'shop_staging' );\n}\ndefine( 'DB_NAME', 'shop' );", 4, "inside the `if` at line 3"),
            ("require __DIR__ . '/db.php';\ndefine( 'DB_NAME', 'shop' );", 3, "the `require` here runs other PHP code first"),
            ("defined('DB_NAME') or define('DB_NAME', 'shop');", 3, "inside an expression"),
            ("foreach ($a as $b) { define('DB_NAME', $b); }\ndefine('DB_NAME', 'shop');", 3, "inside a loop"),
        ];
        for (head, blamed, reason) in cases {
            let text = format!("<?php\n\n{head}\n{REST}");
            let err = db_err(&text);
            assert!(
                err.starts_with(&format!(
                    "{PATH} line {blamed}: DB_NAME cannot be read without running PHP"
                )),
                "{head}: {err}"
            );
            assert!(err.contains(reason), "{head}: expected {reason:?} in {err}");
            assert!(
                err.ends_with("set CACHICAMO_DB_URL (or --db-url) instead"),
                "{err}"
            );
        }
    }

    #[test]
    fn code_that_cannot_touch_our_values_is_fine() {
        let text = "<?php\n".to_owned() + REST + "define( 'DB_NAME', 'shop' );\nif ( isset( $_SERVER['HTTP_X_FORWARDED_PROTO'] ) ) { $_SERVER['HTTPS'] = 'on'; }\ndefine( 'WP_HOME', 'https://' . $_SERVER['HTTP_HOST'] );\nfunction helper() { return 1; }\nrequire_once __DIR__ . '/wp-settings.php';\ndefine( 'DB_NAME', $ignored );\n$table_prefix = $ignored;\n";
        let wp = parse(&text);
        assert_eq!(wp.db.expect("db").name.value, "shop");
        assert_eq!(wp.table_prefix.expect("prefix").origin, Origin::Default);
        // An include before the prefix is set is overridden by the assignment after it.
        assert_eq!(
            prefix("<?php require 'x.php';\n$table_prefix = 'a_';").value,
            "a_"
        );
        let err = parse("<?php $table_prefix = 'a_';\nif ($x) { $table_prefix = 'b_'; }")
            .table_prefix
            .expect_err("maybe b_")
            .to_string();
        assert!(
            err.contains("line 2: $table_prefix")
                && err.contains("CACHICAMO_TABLE_PREFIX (or --table-prefix)"),
            "{err}"
        );
    }

    #[test]
    fn missing_and_malformed() {
        let err = db_err("<?php define('DB_USER','u');");
        assert!(err.contains("does not define DB_NAME"), "{err}");
        let err = WpConfig::parse_with_env(
            "<?php\ndefine('DB_NAME', 'shop');\n/* never closed\n",
            PATH,
            &|_| None,
        )
        .expect_err("unterminated");
        assert!(
            err.to_string()
                .starts_with(&format!("{PATH} line 3: a /* comment that is never closed")),
            "{err}"
        );
        let err =
            WpConfig::parse_with_env("<?php\nif (x) {\n", PATH, &|_| None).expect_err("unbalanced");
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn the_password_never_appears_in_an_error() {
        let cases = [
            "<?php define('DB_PASSWORD', \"hunter2$x\");\ndefine('DB_NAME', 'n'); define('DB_USER', 'u');",
            "<?php define('DB_PASSWORD', 'hunter2' . $x);\ndefine('DB_NAME', 'n'); define('DB_USER', 'u');",
            "<?php define('DB_PASSWORD', 'hunter2'); define('DB_USER', 'u');",
            "<?php define('DB_PASSWORD', 'hunter2'); 'hunter2 never closed",
        ];
        for text in cases {
            let err = match WpConfig::parse_with_env(text, PATH, &|_| None) {
                Ok(wp) => wp.db.expect_err(text).to_string(),
                Err(e) => e.to_string(),
            };
            assert!(!err.contains("hunter2"), "{err}");
        }
    }
}
