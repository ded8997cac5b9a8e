//! Just enough of PHP's lexer to read `wp-config.php` as PHP does: the open and close tags,
//! comments, string literals with their escape rules, and the punctuation that delimits
//! statements. Everything else is a name, a variable, a number or an operator.

/// Why a string literal has no value this reader can know without running PHP.
pub const INTERPOLATED: &str = "a double-quoted string with a $variable in it";
pub const NOT_UTF8: &str = "a string that is not valid UTF-8";
pub const SHELL: &str = "a shell command in backticks";
pub const BAD_UNICODE: &str = "a string with an invalid \\u{…} escape";

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// A string literal: its value, or why it has none (see the constants above). The text
    /// itself is never kept for the error, since it may be a password.
    Str(Result<String, &'static str>),
    /// `$name`, without the `$`.
    Var(String),
    /// A name or keyword as written, possibly namespaced (`\define`).
    Ident(String),
    Num(String),
    Punct(&'static str),
    /// `?>`, which ends a statement like `;`.
    Close,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub line: usize,
}

impl Token {
    pub fn is_punct(&self, p: &str) -> bool {
        matches!(&self.tok, Tok::Punct(q) if *q == p)
    }

    /// Keywords and function names are case-insensitive in PHP, and `\define` is `define`.
    pub fn is_word(&self, word: &str) -> bool {
        matches!(&self.tok, Tok::Ident(w) if w.trim_start_matches('\\').eq_ignore_ascii_case(word))
    }

    /// `;` or `?>`.
    pub fn ends_statement(&self) -> bool {
        self.is_punct(";") || self.tok == Tok::Close
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct LexError {
    pub line: usize,
    pub message: String,
}

/// Longest first, so `===` is not read as `==` `=`.
const PUNCTS: &[&str] = &[
    "<<=", ">>=", "**=", "...", "<=>", "===", "!==", "??=", "?->", "<<", ">>", "**", "==", "!=",
    "<>", "<=", ">=", "&&", "||", "??", "->", "=>", "::", "++", "--", "+=", "-=", "*=", "/=", ".=",
    "%=", "&=", "|=", "^=", "(", ")", "[", "]", "{", "}", ";", ",", ".", "=", "!", "?", ":", "+",
    "-", "*", "/", "%", "&", "|", "^", "~", "<", ">", "@", "$",
];

/// Works on bytes, as PHP does: only a string literal's value needs to be UTF-8.
pub fn tokenize(src: &[u8]) -> Result<Vec<Token>, LexError> {
    let mut lx = Lexer {
        src,
        pos: 0,
        line: 1,
    };
    let mut out = Vec::new();
    while lx.open_tag(&mut out)? {
        while let Some(tok) = lx.php_token()? {
            let close = tok.tok == Tok::Close;
            out.push(tok);
            if close {
                break;
            }
        }
    }
    Ok(out)
}

fn is_label_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_label(b: u8) -> bool {
    is_label_start(b) || b.is_ascii_digit()
}

struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    line: usize,
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> Option<u8> {
        self.src.get(self.pos + ahead).copied()
    }

    fn starts_with(&self, s: &str) -> bool {
        self.src[self.pos..].starts_with(s.as_bytes())
    }

    /// Moves on `n` bytes, counting the lines passed so every token knows its line.
    fn bump(&mut self, n: usize) {
        let end = (self.pos + n).min(self.src.len());
        self.line += self.src[self.pos..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.pos = end;
    }

    fn error(&self, line: usize, message: impl Into<String>) -> LexError {
        LexError {
            line,
            message: message.into(),
        }
    }

    /// Skips inline HTML up to the next open tag; false at the end of the file.
    fn open_tag(&mut self, out: &mut Vec<Token>) -> Result<bool, LexError> {
        loop {
            let Some(at) = self.src[self.pos..].windows(2).position(|w| w == b"<?") else {
                self.bump(self.src.len() - self.pos);
                return Ok(false);
            };
            self.bump(at);
            let rest = &self.src[self.pos + 2..];
            if rest.len() >= 3
                && rest[..3].eq_ignore_ascii_case(b"php")
                && rest.get(3).is_none_or(|b| b.is_ascii_whitespace())
            {
                // PHP swallows one whitespace character (or \r\n) after `<?php`.
                let ws = if rest[3..].starts_with(b"\r\n") {
                    2
                } else {
                    usize::from(rest.len() > 3)
                };
                self.bump(5 + ws);
                return Ok(true);
            }
            if rest.first() == Some(&b'=') {
                out.push(Token {
                    tok: Tok::Ident("echo".into()),
                    line: self.line,
                });
                self.bump(3);
                return Ok(true);
            }
            if rest.first().is_some_and(|b| b.is_ascii_whitespace()) {
                // Whether `<?` opens PHP depends on php.ini's short_open_tag, which we cannot see.
                return Err(self.error(self.line, "a short open tag `<?`: write `<?php`"));
            }
            self.bump(2);
        }
    }

    /// The next token in PHP mode, skipping whitespace and comments; None at the end of input.
    fn php_token(&mut self) -> Result<Option<Token>, LexError> {
        loop {
            while self
                .peek(0)
                .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            {
                self.bump(1);
            }
            let Some(c) = self.peek(0) else {
                return Ok(None);
            };
            let line = self.line;
            let tok = match c {
                b'#' if self.peek(1) == Some(b'[') => {
                    self.bump(2);
                    Tok::Punct("#[")
                }
                b'#' => {
                    self.line_comment();
                    continue;
                }
                b'/' if self.peek(1) == Some(b'/') => {
                    self.line_comment();
                    continue;
                }
                b'/' if self.peek(1) == Some(b'*') => {
                    let Some(end) = self.src[self.pos + 2..].windows(2).position(|w| w == b"*/")
                    else {
                        return Err(self.error(line, "a /* comment that is never closed"));
                    };
                    self.bump(end + 4);
                    continue;
                }
                b'?' if self.peek(1) == Some(b'>') => {
                    self.bump(2);
                    // Like PHP, a newline right after `?>` belongs to the tag.
                    if self.starts_with("\r\n") {
                        self.bump(2);
                    } else if self.peek(0) == Some(b'\n') {
                        self.bump(1);
                    }
                    Tok::Close
                }
                b'\'' => Tok::Str(self.single_quoted(line)?),
                b'"' => Tok::Str(self.interpolated(b'"', line)?),
                b'`' => {
                    // Only its extent matters: what a shell prints is not static.
                    let _ = self.interpolated(b'`', line)?;
                    Tok::Str(Err(SHELL))
                }
                b'<' if self.starts_with("<<<") => match self.heredoc(line)? {
                    Some(value) => Tok::Str(value),
                    None => {
                        self.bump(2);
                        Tok::Punct("<<")
                    }
                },
                b'$' if self.peek(1).is_some_and(is_label_start) => {
                    self.bump(1);
                    Tok::Var(self.label())
                }
                b'\\' if self.peek(1).is_some_and(is_label_start) => Tok::Ident(self.name()),
                c if is_label_start(c) => Tok::Ident(self.name()),
                c if c.is_ascii_digit()
                    || (c == b'.' && self.peek(1).is_some_and(|d| d.is_ascii_digit())) =>
                {
                    Tok::Num(self.number())
                }
                _ => match PUNCTS.iter().find(|p| self.starts_with(p)) {
                    Some(p) => {
                        self.bump(p.len());
                        Tok::Punct(p)
                    }
                    None => {
                        let shown = String::from_utf8_lossy(&self.src[self.pos..(self.pos + 1)])
                            .into_owned();
                        return Err(self.error(line, format!("unexpected character {shown:?}")));
                    }
                },
            };
            return Ok(Some(Token { tok, line }));
        }
    }

    /// `//` and `#` comments end at the end of the line or at `?>`, which still closes PHP.
    fn line_comment(&mut self) {
        while let Some(b) = self.peek(0) {
            if b == b'\n' || b == b'\r' || self.starts_with("?>") {
                break;
            }
            self.bump(1);
        }
    }

    fn label(&mut self) -> String {
        let start = self.pos;
        while self.peek(0).is_some_and(is_label) {
            self.bump(1);
        }
        String::from_utf8_lossy(&self.src[start..self.pos]).into_owned()
    }

    /// A possibly namespaced name: `define`, `\define`, `Foo\bar`.
    fn name(&mut self) -> String {
        let start = self.pos;
        while self.peek(0).is_some_and(|b| is_label(b) || b == b'\\') {
            self.bump(1);
        }
        String::from_utf8_lossy(&self.src[start..self.pos]).into_owned()
    }

    fn number(&mut self) -> String {
        let start = self.pos;
        while let Some(b) = self.peek(0) {
            let fraction = b == b'.' && self.peek(1).is_some_and(|d| d.is_ascii_digit());
            if !(b.is_ascii_alphanumeric() || b == b'_' || fraction) {
                break;
            }
            self.bump(1);
        }
        String::from_utf8_lossy(&self.src[start..self.pos]).into_owned()
    }

    /// Single quotes: only `\'` and `\\` are escapes; any other backslash is kept.
    fn single_quoted(&mut self, line: usize) -> Result<Result<String, &'static str>, LexError> {
        self.bump(1);
        let mut out = Vec::new();
        loop {
            match self.peek(0) {
                None => return Err(self.error(line, "a quoted string that is never closed")),
                Some(b'\'') => {
                    self.bump(1);
                    return Ok(String::from_utf8(out).map_err(|_| NOT_UTF8));
                }
                Some(b'\\') if matches!(self.peek(1), Some(b'\'' | b'\\')) => {
                    out.push(self.src[self.pos + 1]);
                    self.bump(2);
                }
                Some(b) => {
                    out.push(b);
                    self.bump(1);
                }
            }
        }
    }

    /// Finds the end of a double-quoted (or backtick) string, stepping over `{$…}` and `${…}`
    /// whose PHP expressions may hold quotes of their own, then decodes it.
    fn interpolated(
        &mut self,
        quote: u8,
        line: usize,
    ) -> Result<Result<String, &'static str>, LexError> {
        self.bump(1);
        let start = self.pos;
        loop {
            match self.peek(0) {
                None => return Err(self.error(line, "a quoted string that is never closed")),
                Some(b'\\') => self.bump(2),
                Some(q) if q == quote => break,
                Some(b'$') if self.peek(1) == Some(b'{') => {
                    self.bump(2);
                    self.skip_braced(line)?;
                }
                Some(b'{') if self.peek(1) == Some(b'$') => {
                    self.bump(1);
                    self.skip_braced(line)?;
                }
                Some(_) => self.bump(1),
            }
        }
        let body = &self.src[start..self.pos];
        self.bump(1);
        Ok(decode_double(body, Some(quote)))
    }

    /// Skips PHP tokens up to the `}` that closes an interpolation.
    fn skip_braced(&mut self, line: usize) -> Result<(), LexError> {
        let mut depth = 1;
        loop {
            match self.php_token()? {
                None => return Err(self.error(line, "a quoted string that is never closed")),
                Some(t) if t.is_punct("{") => depth += 1,
                Some(t) if t.is_punct("}") => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                Some(t) if t.tok == Tok::Close => {
                    return Err(self.error(line, "`?>` inside a string's {$…} expression"))
                }
                Some(_) => {}
            }
        }
    }

    /// `<<<ID` (heredoc, decoded like double quotes) or `<<<'ID'` (nowdoc, verbatim), with
    /// PHP 7.3's flexible closing marker: its indentation is removed from every line. None when
    /// `<<<` does not start one.
    fn heredoc(&mut self, line: usize) -> Result<Option<Result<String, &'static str>>, LexError> {
        let src = self.src;
        let mut i = self.pos + 3;
        while matches!(src.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        let quote = match src.get(i) {
            Some(&q @ (b'"' | b'\'')) => {
                i += 1;
                Some(q)
            }
            _ => None,
        };
        let label_start = i;
        if !src.get(i).copied().is_some_and(is_label_start) {
            return Ok(None);
        }
        while src.get(i).copied().is_some_and(is_label) {
            i += 1;
        }
        let label = &src[label_start..i];
        if let Some(q) = quote {
            if src.get(i) != Some(&q) {
                return Ok(None);
            }
            i += 1;
        }
        if src[i..].starts_with(b"\r\n") {
            i += 2;
        } else if src.get(i) == Some(&b'\n') {
            i += 1;
        } else {
            return Ok(None);
        }
        let body_start = i;
        let mut line_start = i;
        let (close_at, indent) = loop {
            if line_start >= src.len() {
                return Err(self.error(line, "a heredoc that is never closed"));
            }
            let mut j = line_start;
            while matches!(src.get(j), Some(b' ' | b'\t')) {
                j += 1;
            }
            if src[j..].starts_with(label)
                && !src.get(j + label.len()).copied().is_some_and(is_label)
            {
                break (line_start, j - line_start);
            }
            match src[line_start..].iter().position(|&b| b == b'\n') {
                Some(n) => line_start += n + 1,
                None => line_start = src.len(),
            }
        };
        // The newline before the closing marker is not part of the string.
        let mut body = &src[body_start..close_at];
        body = body.strip_suffix(b"\n").unwrap_or(body);
        body = body.strip_suffix(b"\r").unwrap_or(body);
        let mut text = Vec::with_capacity(body.len());
        for (n, part) in body.split(|&b| b == b'\n').enumerate() {
            if n > 0 {
                text.push(b'\n');
            }
            let strip = part
                .iter()
                .take(indent)
                .take_while(|&&b| b == b' ' || b == b'\t')
                .count();
            text.extend_from_slice(&part[strip..]);
        }
        let value = if quote == Some(b'\'') {
            String::from_utf8(text).map_err(|_| NOT_UTF8)
        } else {
            decode_double(&text, None)
        };
        self.bump(close_at + indent + label.len() - self.pos);
        Ok(Some(value))
    }
}

/// Decodes a double-quoted string or heredoc body: `\n \t \r \v \e \f \\ \$`, the closing quote,
/// octal `\0`–`\777`, `\xHH` and `\u{…}`; any other backslash stays. An unescaped `$name`, `${`
/// or `{$` interpolates a variable, which only PHP can know.
fn decode_double(body: &[u8], quote: Option<u8>) -> Result<String, &'static str> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let c = body[i];
        let next = body.get(i + 1).copied();
        match c {
            b'\\' => {
                let Some(n) = next else {
                    out.push(c);
                    break;
                };
                let simple = match n {
                    b'n' => Some(b'\n'),
                    b't' => Some(b'\t'),
                    b'r' => Some(b'\r'),
                    b'v' => Some(0x0b),
                    b'e' => Some(0x1b),
                    b'f' => Some(0x0c),
                    b'\\' | b'$' => Some(n),
                    q if Some(q) == quote => Some(q),
                    _ => None,
                };
                if let Some(b) = simple {
                    out.push(b);
                    i += 2;
                } else if (b'0'..=b'7').contains(&n) {
                    let digits = body[i + 1..]
                        .iter()
                        .take(3)
                        .take_while(|d| (b'0'..=b'7').contains(d))
                        .count();
                    let value = body[i + 1..i + 1 + digits]
                        .iter()
                        .fold(0u32, |v, d| v * 8 + u32::from(d - b'0'));
                    // PHP wraps "\400" and above to one byte.
                    out.push((value & 0xff) as u8);
                    i += 1 + digits;
                } else if n == b'x' && body.get(i + 2).is_some_and(u8::is_ascii_hexdigit) {
                    let digits = body[i + 2..]
                        .iter()
                        .take(2)
                        .take_while(|d| d.is_ascii_hexdigit())
                        .count();
                    let hex =
                        std::str::from_utf8(&body[i + 2..i + 2 + digits]).map_err(|_| NOT_UTF8)?;
                    out.push(u8::from_str_radix(hex, 16).map_err(|_| NOT_UTF8)?);
                    i += 2 + digits;
                } else if n == b'u' && body.get(i + 2) == Some(&b'{') {
                    let close = body[i + 3..]
                        .iter()
                        .position(|&b| b == b'}')
                        .ok_or(BAD_UNICODE)?;
                    let hex = std::str::from_utf8(&body[i + 3..i + 3 + close])
                        .map_err(|_| BAD_UNICODE)?;
                    let ch = u32::from_str_radix(hex, 16)
                        .ok()
                        .and_then(char::from_u32)
                        .ok_or(BAD_UNICODE)?;
                    out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
                    i += 4 + close;
                } else {
                    out.push(c);
                    i += 1;
                }
            }
            b'$' if next.is_some_and(|n| is_label_start(n) || n == b'{') => {
                return Err(INTERPOLATED)
            }
            b'{' if next == Some(b'$') => return Err(INTERPOLATED),
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| NOT_UTF8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        tokenize(src.as_bytes())
            .expect("tokenize")
            .into_iter()
            .map(|t| t.tok)
            .collect()
    }

    fn strings(src: &str) -> Vec<Result<String, &'static str>> {
        toks(src)
            .into_iter()
            .filter_map(|t| match t {
                Tok::Str(s) => Some(s),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn comments_and_inline_html_are_skipped() {
        let src = "html 'x' <?php // 'a'\n# 'b'\n/* 'c'\n */ 'd' #['e'] ?> 'f' <?php 'g'";
        assert_eq!(
            strings(src),
            vec![Ok("d".into()), Ok("e".into()), Ok("g".into())]
        );
    }

    #[test]
    fn a_line_comment_ends_at_the_close_tag() {
        assert_eq!(
            toks("<?php // note ?>\n<?php 'x';"),
            vec![Tok::Close, Tok::Str(Ok("x".into())), Tok::Punct(";")]
        );
    }

    #[test]
    fn lines_are_counted() {
        let t = tokenize(b"<?php\n/* a\nb */\n'x'\n\"y\n\" 'z'").expect("tokenize");
        let lines: Vec<usize> = t.iter().map(|t| t.line).collect();
        assert_eq!(lines, vec![4, 5, 6]);
    }

    #[test]
    fn single_quotes_escape_only_quote_and_backslash() {
        assert_eq!(
            strings(r"<?php 'it\'s \\ \n \$x $y'"),
            vec![Ok(r"it's \ \n \$x $y".into())]
        );
    }

    #[test]
    fn double_quotes_decode_escapes_and_refuse_interpolation() {
        assert_eq!(
            strings(r#"<?php "a\"b\\c\$d\n\t\x41\101\u{e9}\q" "$v" "{$v['k']}" "${v}" "$ 1""#),
            vec![
                Ok("a\"b\\c$d\n\tAAé\\q".into()),
                Err(INTERPOLATED),
                Err(INTERPOLATED),
                Err(INTERPOLATED),
                Ok("$ 1".into())
            ]
        );
    }

    #[test]
    fn an_interpolation_with_quotes_inside_does_not_end_the_string() {
        assert_eq!(
            strings(r#"<?php "{$a["k"]}" 'next'"#),
            vec![Err(INTERPOLATED), Ok("next".into())]
        );
    }

    #[test]
    fn heredoc_and_nowdoc() {
        let src = "<?php $a = <<<EOT\n    one \\x41 \"q\"\n      two\n    EOT;\n$b = <<<'N'\n$raw\\n\nN;\n$c = <<<E\n$v\nE;";
        assert_eq!(
            strings(src),
            vec![
                Ok("one A \"q\"\n  two".into()),
                Ok("$raw\\n".into()),
                Err(INTERPOLATED)
            ]
        );
        let t = tokenize(src.as_bytes()).expect("tokenize");
        assert_eq!(t.last().map(|t| t.line), Some(10));
    }

    #[test]
    fn unterminated_input_is_an_error_with_its_line() {
        for (src, line) in [
            ("<?php\n/* open", 2),
            ("<?php\n\n'open", 3),
            ("<?php \"a", 1),
            ("<?php <<<X\nbody\n", 1),
        ] {
            let err = tokenize(src.as_bytes()).expect_err(src);
            assert_eq!(err.line, line, "{src:?}: {err}");
        }
    }

    #[test]
    fn operators_are_read_longest_first() {
        assert_eq!(
            toks("<?php $p .= ! \\define ?? 1.5;"),
            vec![
                Tok::Var("p".into()),
                Tok::Punct(".="),
                Tok::Punct("!"),
                Tok::Ident("\\define".into()),
                Tok::Punct("??"),
                Tok::Num("1.5".into()),
                Tok::Punct(";"),
            ]
        );
    }
}
