//! A small SVG writer: numbers with one decimal (so a page is byte-identical per run on every machine) and every
//! text escaped.

use std::fmt::Write;

/// Escapes text for HTML and SVG, in content and in quoted attributes alike.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A coordinate as text: one decimal, no trailing `.0`, no `-0`.
pub fn num(v: f64) -> String {
    let tenths = (v * 10.0).round() as i64;
    if tenths % 10 == 0 {
        format!("{}", tenths / 10)
    } else {
        format!(
            "{}{}.{}",
            if tenths < 0 { "-" } else { "" },
            (tenths / 10).abs(),
            (tenths % 10).abs()
        )
    }
}

/// An SVG document under construction.
pub struct Svg {
    out: String,
}

impl Svg {
    pub fn new(width: f64, height: f64, class: &str) -> Self {
        let mut out = String::new();
        let _ = write!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" class="{}" width="{}" height="{}" viewBox="0 0 {} {}">"#,
            escape(class),
            num(width),
            num(height),
            num(width),
            num(height)
        );
        out.push('\n');
        Svg { out }
    }

    pub fn finish(mut self) -> String {
        self.out.push_str("</svg>\n");
        self.out
    }

    /// Raw markup the caller built (already escaped).
    pub fn raw(&mut self, markup: &str) {
        self.out.push_str(markup);
    }

    /// Opens a group; `data` attributes let the page's script find the elements of one violation.
    pub fn open_group(&mut self, class: &str, title: Option<&str>) {
        let _ = write!(self.out, r#"<g class="{}">"#, escape(class));
        if let Some(t) = title {
            let _ = write!(self.out, "<title>{}</title>", escape(t));
        }
        self.out.push('\n');
    }

    pub fn close_group(&mut self) {
        self.out.push_str("</g>\n");
    }

    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, class: &str, title: Option<&str>) {
        let _ = write!(
            self.out,
            r#"<rect class="{}" x="{}" y="{}" width="{}" height="{}""#,
            escape(class),
            num(x),
            num(y),
            num(w.max(0.0)),
            num(h.max(0.0))
        );
        self.close_element("rect", title);
    }

    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, class: &str, title: Option<&str>) {
        let _ = write!(
            self.out,
            r#"<line class="{}" x1="{}" y1="{}" x2="{}" y2="{}""#,
            escape(class),
            num(x1),
            num(y1),
            num(x2),
            num(y2)
        );
        self.close_element("line", title);
    }

    pub fn circle(&mut self, x: f64, y: f64, r: f64, class: &str, title: Option<&str>) {
        let _ = write!(
            self.out,
            r#"<circle class="{}" cx="{}" cy="{}" r="{}""#,
            escape(class),
            num(x),
            num(y),
            num(r)
        );
        self.close_element("circle", title);
    }

    /// A path through `points` (already in SVG coordinates).
    /// A diamond of half-width `r` centred on (x, y): an election mark.
    pub fn diamond(&mut self, x: f64, y: f64, r: f64, class: &str, title: Option<&str>) {
        let points = [(x, y - r), (x + r, y), (x, y + r), (x - r, y), (x, y - r)];
        self.polyline(&points, class, title);
    }

    pub fn polyline(&mut self, points: &[(f64, f64)], class: &str, title: Option<&str>) {
        if points.is_empty() {
            return;
        }
        let _ = write!(self.out, r#"<path class="{}" d=""#, escape(class));
        for (i, (x, y)) in points.iter().enumerate() {
            let _ = write!(
                self.out,
                "{}{} {}",
                if i == 0 { "M" } else { "L" },
                num(*x),
                num(*y)
            );
        }
        self.out.push('"');
        self.close_element("path", title);
    }

    /// A closed area through `points`.
    pub fn area(&mut self, points: &[(f64, f64)], class: &str) {
        if points.len() < 3 {
            return;
        }
        self.polyline(points, class, None);
        // Close the path just written: `Z` before its closing quote.
        if let Some(at) = self.out.rfind("\"/>") {
            self.out.insert(at, 'Z');
        }
    }

    pub fn text(&mut self, x: f64, y: f64, class: &str, text: &str) {
        let _ = writeln!(
            self.out,
            r#"<text class="{}" x="{}" y="{}">{}</text>"#,
            escape(class),
            num(x),
            num(y),
            escape(text)
        );
    }

    fn close_element(&mut self, name: &str, title: Option<&str>) {
        match title {
            Some(t) => {
                let _ = writeln!(self.out, "><title>{}</title></{name}>", escape(t));
            }
            None => self.out.push_str("/>\n"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn numbers_have_one_decimal_and_no_negative_zero() {
        assert_eq!(num(1.0), "1");
        assert_eq!(num(1.25), "1.3");
        assert_eq!(num(-0.04), "0");
        assert_eq!(num(-2.5), "-2.5");
        assert_eq!(num(-0.5), "-0.5");
    }
}
